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
from apprentice.monitor.apprenticeship import ApprenticeshipPolicy, Observation, Step, graduation_basis, load_reliability, load_state, observe
from apprentice.orchestration.artifacts import artifact_key
from apprentice.orchestration.runtime import pool_for
from apprentice.store import WorkflowState
from apprentice.workflows import WorkflowSpec


def observation(spec: WorkflowSpec, summary: DatasetSummary, batches: list[BatchResult], run_id: str) -> Observation:
    """One execution's metrics (`monitor/metrics.py`), per record: latency, validity, first-pass
    quality, cost, tokens, output size and, where the records were checked, realism; with what the
    deterministic checks found in the written records."""
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
    realism = summary.realism if summary.realism is not None and summary.realism.records else None
    if realism is not None:
        values.update(realism.metrics())
    findings = realism.findings() if realism is not None else []
    return Observation(workflow=spec.name, version=spec.version, run_id=run_id, values=values, findings=findings, sample=[o.record for o in valid[:3]])


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
        calibration_per_run=int(spec.options.get("calibration_per_run", settings.calibration_per_run)),
        calibration_target=settings.calibration_target,
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
        parent = rollback_live(spec.name, spec.key, f"{spec.key} drifted: {step.reason}")
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
        "| executions | good | refused | graduation progress | judge calls | monitoring $/execution as apprentice | after graduation | last drift |",
        "|---:|---:|---:|---|---:|---:|---:|---|",
        f"| {row.executions} | {row.good_executions} | {row.refused_executions} | {_progress(row, need)} | {row.judge_calls} | "
        f"{_per(row.monitoring_cost_apprentice, row.executions_apprentice)} | {_per(row.monitoring_cost_graduated, row.executions_graduated)} | "
        f"{row.last_drift_reason or '–'} |",
        "",
        f"Good executions rest on: {graduation_basis(row) if row.good_executions else '–'}.",
    ]
    if step is not None:
        lines += ["", f"This run: {step.previous.value} → {step.state.value}; {step.judge_calls} judge call(s)."]
        if step.basis:
            lines.append(f"{'Learned as good' if step.learned else 'Not learned'}: {step.basis}")
        if step.verdict:
            trust = "reliable judge" if step.verdict.trusted else "judge not measured as reliable; its verdict does not count"
            lines.append(f"Verdict: {step.verdict.status} ({step.verdict.confidence:.2f}, {trust}) — {'; '.join(step.verdict.reasons[:3])}")
        if step.drift and step.drift.z:
            lines.append("Standardised metrics: " + ", ".join(f"{k} {v:+.2f}" for k, v in step.drift.z.items()))
        for before, after, reason in step.moves:
            lines.append(f"- **{before.value} → {after.value}**: {reason}")
    return "\n".join(lines + ["", *judges_markdown()])


def judges_markdown() -> list[str]:
    """Each judge backend's calibration on planted defects, plainly."""
    if not load_reliability():
        return ["Judges: not calibrated yet."]
    lines = ["| judge | tier | status | detects planted defects | false alarms on clean samples |", "|---|---|---|---|---|"]
    lines += [f"| {j['judge']} | {j['tier']} | **{j['status']}** | {j['detection']} | {j['false_alarms']} |" for j in judge_rows()]
    return lines


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
            "good_refused": f"{r.good_executions} / {r.refused_executions}", "basis": graduation_basis(r) if r.good_executions else "–",
        }  # fmt: skip
        for r in all_states()
    ]


def judge_rows() -> list[dict[str, str]]:
    """Each judge backend's measured reliability, for `apprentice status`."""
    target = load_settings().calibration_target
    return [
        {
            "judge": r.judge, "tier": r.tier, "status": r.status(target),
            "detection": f"{r.detected}/{r.planted} ({r.detection_interval[0]:.0%}–{r.detection_interval[1]:.0%})",
            "false_alarms": f"{r.false_alarms}/{r.clean} ({r.false_alarm_interval[0]:.0%}–{r.false_alarm_interval[1]:.0%})",
        }  # fmt: skip
        for r in load_reliability().values()
    ]
