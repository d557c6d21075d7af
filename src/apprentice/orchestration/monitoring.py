"""Prefect edge of the apprenticeship: a task that feeds a dataset run to the state machine,
Prefect events for every state change (so Automations can react), a status artifact per workflow.
"""

from __future__ import annotations

import json
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.context import FlowRunContext
from prefect.events import emit_event

from apprentice.config import load_settings
from apprentice.dataset import BatchResult, DatasetSummary
from apprentice.evolution.registry import versions as registered_versions
from apprentice.evolution.shadow import rollback_live
from apprentice.monitor.apprenticeship import ApprenticeshipPolicy, Observation, Step, load_state, observe
from apprentice.orchestration.artifacts import artifact_key
from apprentice.orchestration.runtime import pool_for
from apprentice.store import WorkflowState
from apprentice.workflows import WorkflowSpec


def observation(spec: WorkflowSpec, summary: DatasetSummary, batches: list[BatchResult], run_id: str) -> Observation:
    """One execution's metrics, per record: latency, validity, first-pass quality, cost, tokens, output size."""
    outcomes = [o for b in batches for o in b.outcomes]
    records = max(1, len(outcomes))
    valid = [o for o in outcomes if o.valid]
    values: dict[str, float] = {
        "latency_s": summary.seconds_per_record or 0.0,
        "validity": summary.records / max(1, summary.requested),
        "cost_usd": summary.cost_usd / records,
        "tokens": (summary.input_tokens + summary.output_tokens) / records,
        "quality": summary.quality or 0.0,
    }
    if valid:
        values["output_chars"] = sum(len(json.dumps(o.record)) for o in valid) / len(valid)
    return Observation(workflow=spec.name, version=spec.version, run_id=run_id, values=values, sample=[o.record for o in valid[:3]])


def policy_for(spec: WorkflowSpec) -> ApprenticeshipPolicy:
    """The spec's options over the settings; a version evolved from a graduated parent serves a
    shortened apprenticeship (half the runs, at least 10): it inherits a known-good design."""
    settings = load_settings()
    graduate_after = int(spec.options.get("graduate_after", settings.graduate_after))
    registered = next((v for v in registered_versions(spec.name) if v.key == spec.key), None)
    if registered is not None and registered.parent:
        parent_name, _, parent_version = registered.parent.partition("@")
        if load_state(parent_name, parent_version).state in ("graduated", "investigating", "evolving"):
            graduate_after = max(10, graduate_after // 2)
    return ApprenticeshipPolicy(
        graduate_after=graduate_after,
        spot_check=float(spec.options.get("spot_check", settings.spot_check)),
        stability_tolerance=float(spec.options.get("stability_tolerance", 0.1)),
    )


@task(name="apprenticeship", persist_result=False)
async def monitor_run(
    spec: WorkflowSpec, summary: DatasetSummary, batches: list[BatchResult], backends_file: str | None = None, source: dict[str, str] | None = None
) -> Step:
    """Judge (apprentice) or drift-check (graduated) this run; emit events; publish the status.
    `source` (the run's shape and spec references) rides in the events, so an Automation can
    start the evolution flow for exactly this workflow."""
    context = FlowRunContext.get()
    run_id = str(context.flow_run.id) if context and context.flow_run else "local"
    obs = observation(spec, summary, batches, run_id).model_copy(update={"source": source or {}})
    step = await observe(pool_for(backends_file), obs, policy_for(spec))
    if any(after.value in ("evolving", "critical") for _, after, _ in step.moves):
        parent = rollback_live(spec.name, f"{spec.key} drifted: {step.reason}")  # a promoted version that drifts
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


def status_markdown(row: WorkflowState, step: Step | None = None) -> str:
    need = row.graduate_after or load_settings().graduate_after
    lines = [
        f"# Apprenticeship of `{row.key}`: **{row.state}**",
        "",
        "| executions | good (judged normal) | graduation progress | judge calls | monitoring $/execution as apprentice | after graduation | last drift |",
        "|---:|---:|---|---:|---:|---:|---|",
        f"| {row.executions} | {row.good_executions} | {_progress(row, need)} | {row.judge_calls} | "
        f"{_per(row.monitoring_cost_apprentice, row.executions_apprentice)} | {_per(row.monitoring_cost_graduated, row.executions_graduated)} | "
        f"{row.last_drift_reason or '–'} |",
    ]
    if step is not None:
        lines += ["", f"This run: {step.previous.value} → {step.state.value}; {step.judge_calls} judge call(s)."]
        if step.verdict:
            lines.append(f"Verdict: {step.verdict.status} ({step.verdict.confidence:.2f}) — {'; '.join(step.verdict.reasons[:3])}")
        if step.drift and step.drift.z:
            lines.append("Standardised metrics: " + ", ".join(f"{k} {v:+.2f}" for k, v in step.drift.z.items()))
        for before, after, reason in step.moves:
            lines.append(f"- **{before.value} → {after.value}**: {reason}")
    return "\n".join(lines)


def _progress(row: WorkflowState, need: int) -> str:
    return "graduated" if row.state != "apprentice" else f"{min(row.good_executions, need)}/{need}"


def _per(cost: float, executions: int) -> str:
    return f"{cost / executions:.6f}" if executions else "–"


def status_rows() -> list[dict[str, Any]]:
    from apprentice.monitor.apprenticeship import all_states

    default = load_settings().graduate_after
    return [
        {
            "workflow": r.key, "state": r.state, "executions": r.executions, "graduation": _progress(r, r.graduate_after or default),
            "judge_calls": r.judge_calls, "cost_per_exec_apprentice": _per(r.monitoring_cost_apprentice, r.executions_apprentice),
            "cost_per_exec_graduated": _per(r.monitoring_cost_graduated, r.executions_graduated),
            "last_drift": f"{r.last_drift_at:%Y-%m-%d %H:%M} {r.last_drift_reason}" if r.last_drift_at else "",
        }  # fmt: skip
        for r in all_states()
    ]
