"""Prefect state hooks. Named exactly `task, task_run, state` / `flow, flow_run, state`, because
Prefect calls them by keyword; they translate Prefect's objects and hand off to `monitor.hooks`."""

from __future__ import annotations

import logging
from typing import Any

from prefect.context import TaskRunContext

from apprentice.errors import RunIncomplete
from apprentice.monitor.hooks import WorkflowIdentity, record_executions, record_run, stage_rows
from apprentice.workflows import WorkflowSpec

log = logging.getLogger("apprentice.hooks")

UNKNOWN = WorkflowIdentity("unknown", "unknown")


def state_value(state: Any) -> Any:
    """The state's result (a failed state's: its exception) if it is at hand, else None.
    Forces Prefect's sync path in async hooks."""
    try:
        return state.result(raise_on_failure=False, _sync=True)
    except Exception:
        return None


def on_task_state(task: Any, task_run: Any, state: Any) -> None:
    """Record a stage task's execution: a row per stage it ran (a stage of the pattern; the finish
    step's realism corrections and regenerated records). A cache hit is not a new execution, so
    it is skipped."""
    try:
        if state.name == "Cached":
            return
        value = state_value(state)
        identity = (
            WorkflowIdentity.carried_by(value)
            or spec_parameter(task_run)
            or WorkflowIdentity.from_run_name(getattr(task_run, "name", None))
            or UNKNOWN
        )
        completed = state.is_completed()
        states = value if completed else None
        step = getattr(value, "step", None) or getattr(getattr(value, "states", None), "step", None) or _step_parameter(task_run)
        record_executions(
            stage_rows(str(task_run.id), state.name, identity, states, None if completed else _error_class(value, state), step)
        )
    except Exception as exc:
        log.warning("apprentice task hook failed (%s); the run is unaffected", type(exc).__name__)


def spec_parameter(task_run: Any) -> WorkflowIdentity | None:
    """The identity of the `spec` the task was called with. Prefect calls task hooks inside the
    task run's context, so its parameters are at hand there (and nowhere else)."""
    spec = _parameter(task_run, "spec")
    return WorkflowIdentity(spec.name, spec.version) if isinstance(spec, WorkflowSpec) else None


def _step_parameter(task_run: Any) -> str:
    step = _parameter(task_run, "step")
    return step if isinstance(step, str) else "batch"


def _parameter(task_run: Any, name: str) -> Any:
    context = TaskRunContext.get()
    if context is None or task_run is None or context.task_run.id != task_run.id:
        return None
    return context.parameters.get(name)


def on_flow_state(flow: Any, flow_run: Any, state: Any) -> None:
    """Record the workflow-level execution of a dataset flow run (`monitor.hooks.record_run`
    decides what a failed run means for its workflow version)."""
    try:
        value = state_value(state)
        summary = run_summary(state, value)
        identity = WorkflowIdentity.carried_by(summary) or flow_identity(flow_run) or WorkflowIdentity(flow.name, "unknown")
        completed = state.is_completed()
        error = None if completed else _error_class(value, state)
        known = identity.workflow != flow.name  # a run whose workflow could not be told is recorded under the flow's name
        record_run(str(flow_run.id), state.name, identity, summary, error, failed=not completed and state.is_failed(), known=known)
    except Exception as exc:
        log.warning("apprentice flow hook failed (%s); the run is unaffected", type(exc).__name__)


def run_summary(state: Any, value: Any) -> Any:
    """A dataset run's summary: its result, or what a failed run carried on its `RunIncomplete`."""
    if isinstance(value, RunIncomplete):
        return value.summary
    return value if state.is_completed() else None


def flow_identity(flow_run: Any) -> WorkflowIdentity | None:
    """The workflow version of a dataset run without a summary (failed, crashed), by resolving
    its `spec` parameter the way the flow does."""
    params = getattr(flow_run, "parameters", None) or {}
    if "shape" not in params:
        return None
    from apprentice.orchestration.dataset import resolve_spec, workflow_name

    spec = resolve_spec(params.get("spec"), fallback_name=workflow_name(params["shape"]))
    return WorkflowIdentity(spec.name, spec.version)


def _error_class(value: Any, state: Any) -> str:
    return type(value).__name__ if isinstance(value, BaseException) else state.name
