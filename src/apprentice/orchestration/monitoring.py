"""Prefect edge of the apprenticeship: a task that feeds a dataset run to the state machine,
Prefect events for every state change (so Automations can react), a status artifact per workflow.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.context import FlowRunContext
from prefect.events import emit_event

from apprentice.dataset import DatasetSummary, RecordTotals
from apprentice.monitor.apprenticeship import Step, load_state
from apprentice.monitor.observe import observe_run
from apprentice.monitor.status import status_markdown
from apprentice.orchestration.artifacts import artifact_key
from apprentice.orchestration.runtime import pool_for
from apprentice.workflows import WorkflowSpec


@task(name="apprenticeship", persist_result=False)
async def monitor_run(
    spec: WorkflowSpec,
    summary: DatasetSummary,
    records: RecordTotals,
    backends_file: str | None = None,
    source: dict[str, str] | None = None,
) -> Step:
    """Judge (apprentice) or drift-check (graduated) this run; emit events; publish the status.
    `source` (the run's shape and spec references) rides in the events, so an Automation can
    start the evolution flow for exactly this workflow."""
    context = FlowRunContext.get()
    run_id = str(context.flow_run.id) if context and context.flow_run else "local"
    step, parent = await observe_run(pool_for(backends_file), spec, summary, records, run_id, source or {})
    if parent:
        get_run_logger().warning("rolled %s back to %s: %s", spec.key, parent, step.reason)
    for before, after, reason in step.moves:
        emit_event(
            event=f"apprentice.workflow.{after.value}",
            resource={"prefect.resource.id": f"apprentice.workflow.{spec.key}", "prefect.resource.name": spec.key},
            payload={"from": before.value, "to": after.value, "reason": reason, "flow_run_id": run_id, **(source or {})},
        )
    await acreate_markdown_artifact(
        markdown=status_markdown(load_state(spec.name, spec.version), step),
        key=artifact_key("apprenticeship", spec.name),
        description=f"Apprenticeship of {spec.key}",
    )
    return step
