"""The evolution flow: propose candidate versions, shadow-run them beside the live version,
promote the best through a canary ramp or keep the live one; an artifact shows the comparison.
Triggered by hand (`prefect deployment run 'evolve-workflow/evolve'`), by an Automation on the
`apprentice.workflow.evolving` or `apprentice.trend.*` events, or from code."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.context import FlowRunContext
from prefect.events import emit_event

from apprentice.backends.booking import Purpose, booked_as
from apprentice.evolution.candidates import candidates as gather_candidates
from apprentice.evolution.registry import live
from apprentice.evolution.shadow import EvolutionReport, evolve, report_markdown
from apprentice.learning.simplify import propose_specialists, recurring_classes, take_retirements
from apprentice.orchestration.artifacts import artifact_key
from apprentice.orchestration.dataset import resolve_shape, resolve_spec, workflow_name
from apprentice.orchestration.runtime import close_pools, pool_for
from apprentice.workflows import WorkflowSpec


@flow(name="evolve-workflow")
async def evolve_workflow(
    shape: str | dict[str, Any],
    spec: str | dict[str, Any] | None = None,
    shadow_records: int = 6,
    max_candidates: int = 3,
    backends_file: str | None = None,
    model_proposals: bool = True,
) -> EvolutionReport:
    """Evolve the live version of `spec`'s workflow (the registry's live version if there is one).

    Versions that no longer earn their cost are retired first (traffic back to their parent), and
    each request class the workflow serves often gets a specialist candidate (`NAME--class`).
    Candidates: the removals the live version's runs support (`learning/simplify.py`), up to
    `max_candidates` from the rule-based operators, plus (with `model_proposals`) up to three
    stage edits a model proposes as structured JSON."""
    compiled = resolve_shape(shape)
    current = resolve_spec(spec, fallback_name=workflow_name(shape))
    for retired in take_retirements(current.name):
        get_run_logger().info("retired %s: %s", retired.target, retired.reason)
    registered = live(current.name)
    if registered is not None:
        current = WorkflowSpec.model_validate_json(registered.spec_json)
    for specialist in propose_specialists(current, recurring_classes(current.name)):
        get_run_logger().info("specialist candidate %s for a recurring request class (%s)", specialist.key, specialist.mutation)
    context = FlowRunContext.get()
    run_id = str(context.flow_run.id) if context and context.flow_run else None
    try:
        pool = pool_for(backends_file)
        with booked_as(Purpose.proposal, workflow=current.name, version=current.version, run_id=run_id):  # the flow run's calls
            candidates = await gather_candidates(pool, current, limit=max_candidates, ask_model=model_proposals)
            get_run_logger().info("evolving %s: %d candidate(s) after avoidance rules", current.key, len(candidates))
            report = await evolve(pool, current, candidates, compiled, seeds=list(range(shadow_records)))
    finally:
        await close_pools()
    event = "promoted" if report.promoted else "rolled_back" if report.rolled_back else "kept"
    emit_event(
        event=f"apprentice.evolution.{event}",
        resource={"prefect.resource.id": f"apprentice.workflow.{current.key}", "prefect.resource.name": current.key},
        payload={"promoted": report.promoted, "candidates": [c.key for c in report.candidates]},
    )
    await acreate_markdown_artifact(
        markdown=report_markdown(report), key=artifact_key("evolution", current.name), description=f"Evolution of {current.key}"
    )
    return report
