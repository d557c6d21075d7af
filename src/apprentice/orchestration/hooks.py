"""Prefect state hooks. Named exactly `task, task_run, state` / `flow, flow_run, state`, because
Prefect calls them by keyword; they translate Prefect's objects and hand off to `monitor.hooks`."""

from __future__ import annotations

import logging
import re
from typing import Any

from apprentice.errors import RunIncomplete
from apprentice.monitor.apprenticeship import mark_failed
from apprentice.monitor.hooks import record_executions
from apprentice.records import first_pass_quality
from apprentice.store import ExecutionRecord

log = logging.getLogger("apprentice.hooks")


def tag_value(tags: list[str] | None, name: str, default: str = "") -> str:
    for tag in tags or []:
        if tag.startswith(name + ":"):
            return tag.split(":", 1)[1]
    return default


def state_value(state: Any) -> Any:
    """The state's result if it is at hand, else None. Forces Prefect's sync path in async hooks."""
    try:
        return state.result(raise_on_failure=False, _sync=True)
    except Exception:
        return None


RUN_NAME = re.compile(r"^(?P<workflow>[^@/]+)@(?P<version>[^/]+)/")


def run_identity(run_name: str | None, tags: list[str] | None, result: Any = None) -> tuple[str, str]:
    """(workflow, version) of a run: from its result, else its name `workflow@version/...`, else tags."""
    if getattr(result, "workflow", None):
        return result.workflow, result.version
    if match := RUN_NAME.match(run_name or ""):
        return match["workflow"], match["version"]
    return tag_value(tags, "workflow", "unknown"), tag_value(tags, "version", "unknown")


def batch_rows(run_id: str, state_name: str, identity: tuple[str, str], result: Any, error_class: str | None) -> list[ExecutionRecord]:
    """One execution row per stage of a batch (or one row for a failed batch)."""
    workflow, version = identity
    outcomes = getattr(result, "outcomes", None)
    if not outcomes:
        return [ExecutionRecord(run_id=run_id, kind="task", workflow=workflow, version=version, stage="batch", state=state_name, error_class=error_class)]
    by_stage: dict[str, list] = {}
    for outcome in outcomes:
        for metrics in outcome.stages:
            by_stage.setdefault(metrics.stage, []).append(metrics)
    rows = []
    for stage, metrics in by_stage.items():
        errors = [m.error_class for m in metrics if m.error_class]
        rows.append(
            ExecutionRecord(
                run_id=f"{run_id}:{stage}",
                kind="task",
                workflow=workflow,
                version=version,
                stage=stage,
                state=state_name,
                records=len(metrics),
                valid_records=sum(m.valid for m in metrics),
                latency_s=sum(m.latency_s for m in metrics) / len(metrics),
                input_tokens=sum(m.input_tokens for m in metrics),
                output_tokens=sum(m.output_tokens for m in metrics),
                cost_usd=sum(m.cost_usd for m in metrics),
                attempts=sum(m.attempts for m in metrics),
                corrections=sum(m.corrections for m in metrics),
                validity=sum(m.valid for m in metrics) / len(metrics),
                quality=sum(first_pass_quality(m.valid, m.corrections) for m in metrics) / len(metrics),
                output_chars=sum(m.output_chars for m in metrics) // len(metrics),
                error_class=max(set(errors), key=errors.count) if errors else None,
            )
        )
    return rows


def on_task_state(task: Any, task_run: Any, state: Any) -> None:
    """Record a batch task's execution. A cache hit is not a new execution, so it is skipped."""
    try:
        if state.name == "Cached":
            return
        result = state_value(state) if state.is_completed() else None
        error = None if state.is_completed() else _error_class(state)
        identity = run_identity(getattr(task_run, "name", None), list(task_run.tags or []), result)
        record_executions(batch_rows(str(task_run.id), state.name, identity, result, error))
    except Exception as exc:
        log.warning("apprentice task hook failed (%s); the run is unaffected", type(exc).__name__)


def on_flow_state(flow: Any, flow_run: Any, state: Any) -> None:
    """Record the workflow-level execution of a dataset flow run.

    A run that failed for want of backends, or was interrupted (Crashed), is recorded, but does
    not send its workflow version to investigation: neither says anything about the workflow."""
    try:
        summary = run_summary(state)
        tags = list(flow_run.tags or [])
        workflow, version = flow_identity(flow_run, summary) or (tag_value(tags, "workflow", flow.name), tag_value(tags, "version", "unknown"))
        requested = getattr(summary, "requested", 0) or 0
        records = getattr(summary, "records", 0) or 0
        nothing_new = summary is not None and requested and not getattr(summary, "generated", 0)
        row = ExecutionRecord(
            run_id=str(flow_run.id),
            kind="flow",
            workflow=workflow,
            version=version,
            state="Cached" if nothing_new else state.name,  # as Prefect names a result it did not compute
            records=requested,
            valid_records=records,
            input_tokens=getattr(summary, "input_tokens", 0) or 0,
            output_tokens=getattr(summary, "output_tokens", 0) or 0,
            cost_usd=getattr(summary, "cost_usd", 0.0) or 0.0,
            validity=records / requested if requested else 0.0,
            quality=getattr(summary, "quality", None),
            latency_s=getattr(summary, "seconds_per_record", 0.0) or 0.0,
            realism=realism.clean_share if (realism := getattr(summary, "realism", None)) is not None and realism.records else None,
            error_class=None if state.is_completed() else _error_class(state),
        )
        record_executions([row])
        outage = bool(getattr(summary, "not_made", 0))
        if state.is_failed() and workflow != flow.name and not outage:  # a Crashed run was interrupted
            mark_failed(workflow, version, str(flow_run.id), row.error_class or state.name)
    except Exception as exc:
        log.warning("apprentice flow hook failed (%s); the run is unaffected", type(exc).__name__)


def run_summary(state: Any) -> Any:
    """A dataset run's summary: its result, or what a failed run carried on its `RunIncomplete`."""
    value = state_value(state)
    if isinstance(value, RunIncomplete):
        return value.summary
    return value if state.is_completed() else None


def flow_identity(flow_run: Any, summary: Any) -> tuple[str, str] | None:
    """(workflow, version) of a dataset run: from its summary, else by resolving its `spec`
    parameter the way the flow does (so failed and crashed runs are attributed too)."""
    if getattr(summary, "workflow", None):
        return summary.workflow, summary.version
    params = getattr(flow_run, "parameters", None) or {}
    if "shape" not in params:
        return None
    from apprentice.orchestration.dataset import resolve_spec, workflow_name

    spec = resolve_spec(params.get("spec"), fallback_name=workflow_name(params["shape"]))
    return spec.name, spec.version


def _error_class(state: Any) -> str:
    try:
        exc = state.result(raise_on_failure=False, _sync=True)
        if isinstance(exc, BaseException):
            return type(exc).__name__
    except Exception:
        pass
    return state.name
