"""The apprenticeship's status, for people: rows for `apprentice status` and the markdown of the
status artifact a run publishes (state, graduation progress, monitoring cost, judge calibration,
and what the model calls cost by purpose, from the call ledger)."""

from __future__ import annotations

from typing import Any

from apprentice.backends.ledger import spend_by_purpose
from apprentice.config import load_settings
from apprentice.monitor.apprenticeship import State, Step, all_states, graduation_basis, load_reliability
from apprentice.store import WorkflowState

__all__ = ["judge_rows", "judges_markdown", "spend_markdown", "spend_rows", "status_markdown", "status_rows"]


def status_rows() -> list[dict[str, Any]]:
    """Every workflow version's apprenticeship, one row each, for `apprentice status`."""
    default = load_settings().graduate_after
    return [
        {
            "workflow": r.key,
            "state": r.state,
            "executions": r.executions,
            "graduation": _progress(r, r.graduate_after or default),
            "judge_calls": r.judge_calls,
            "cost_per_exec_apprentice": _per(r.monitoring_cost_apprentice, r.executions_apprentice),
            "cost_per_exec_graduated": _per(r.monitoring_cost_graduated, r.executions_graduated),
            "last_drift": f"{r.last_drift_at:%Y-%m-%d %H:%M} {r.last_drift_reason}" if r.last_drift_at else "",
            "good_refused": f"{r.good_executions} / {r.refused_executions}",
            "basis": graduation_basis(r) if r.good_executions else "–",
        }
        for r in all_states()
    ]


def judge_rows() -> list[dict[str, str]]:
    """Each judge backend's measured reliability, for `apprentice status`."""
    target = load_settings().calibration_target
    return [
        {
            "judge": r.judge,
            "tier": r.tier,
            "status": r.status(target),
            "detection": f"{r.detected}/{r.planted} ({r.detection_interval[0]:.0%}–{r.detection_interval[1]:.0%})",
            "false_alarms": f"{r.false_alarms}/{r.clean} ({r.false_alarm_interval[0]:.0%}–{r.false_alarm_interval[1]:.0%})",
        }
        for r in load_reliability().values()
    ]


def spend_rows(workflow: str | None = None) -> list[dict[str, str]]:
    """Model calls by purpose, dearest first, from the call ledger: every version of `workflow`
    (or every workflow), every run so far. A failed call is one a backend gave up on."""
    return [
        {
            "purpose": s.purpose,
            "calls": str(s.calls),
            "failed": str(s.failed),
            "attempts": str(s.attempts),
            "tokens": f"{s.input_tokens} in / {s.output_tokens} out",
            "cost": f"{s.cost_usd:.4f}",
        }
        for s in spend_by_purpose(workflow)
    ]


def spend_markdown(workflow: str | None = None) -> list[str]:
    """`spend_rows` as a markdown table under a heading that says what it covers."""
    rows = spend_rows(workflow)
    if not rows:
        return ["Model calls: none booked yet."]
    lines = [
        f"## Model calls{f' of `{workflow}`' if workflow else ''} by purpose (all versions and runs so far)",
        "",
        "| purpose | calls | failed | HTTP attempts | tokens | cost ($) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    return lines + [f"| {r['purpose']} | {r['calls']} | {r['failed']} | {r['attempts']} | {r['tokens']} | {r['cost']} |" for r in rows]


def status_markdown(row: WorkflowState, step: Step | None = None) -> str:
    """One version's apprenticeship, what this run did to it, the judges' calibration, and the
    workflow's model calls by purpose."""
    need = row.graduate_after or load_settings().graduate_after
    lines = [
        f"# Apprenticeship of `{row.key}`: **{row.state}**",
        "",
        "| executions | good | refused | graduation progress | judge calls | monitoring $/execution as apprentice | after graduation | "
        "last drift |",
        "|---:|---:|---:|---|---:|---:|---:|---|",
        f"| {row.executions} | {row.good_executions} | {row.refused_executions} | {_progress(row, need)} | {row.judge_calls} | "
        f"{_per(row.monitoring_cost_apprentice, row.executions_apprentice)} | "
        f"{_per(row.monitoring_cost_graduated, row.executions_graduated)} | "
        f"{row.last_drift_reason or '–'} |",
        "",
        f"Good executions rest on: {graduation_basis(row) if row.good_executions else '–'}.",
    ]
    if step is not None:
        lines += ["", *_step_lines(step)]
    return "\n".join(lines + ["", *judges_markdown(), "", *spend_markdown(row.workflow)])


def _step_lines(step: Step) -> list[str]:
    lines = [f"This run: {step.previous.value} → {step.state.value}; {step.judge_calls} judge call(s)."]
    if step.basis:
        lines.append(f"{'Learned as good' if step.learned else 'Not learned'}: {step.basis}")
    if step.verdict:
        trust = "reliable judge" if step.verdict.trusted else "judge not measured as reliable; its verdict does not count"
        lines.append(f"Verdict: {step.verdict.status} ({step.verdict.confidence:.2f}, {trust}) — {'; '.join(step.verdict.reasons[:3])}")
    if step.drift and step.drift.z:
        lines.append("Standardised metrics: " + ", ".join(f"{k} {v:+.2f}" for k, v in step.drift.z.items()))
    lines += [f"- **{before.value} → {after.value}**: {reason}" for before, after, reason in step.moves]
    return lines


def judges_markdown() -> list[str]:
    """Each judge backend's calibration on planted defects, plainly."""
    rows = judge_rows()
    if not rows:
        return ["Judges: not calibrated yet."]
    lines = ["| judge | tier | status | detects planted defects | false alarms on clean samples |", "|---|---|---|---|---|"]
    return lines + [f"| {j['judge']} | {j['tier']} | **{j['status']}** | {j['detection']} | {j['false_alarms']} |" for j in rows]


def _progress(row: WorkflowState, need: int) -> str:
    return "graduated" if row.state != State.apprentice else f"{min(row.good_executions, need)}/{need}"


def _per(cost: float, executions: int) -> str:
    return f"{cost / executions:.6f}" if executions else "–"
