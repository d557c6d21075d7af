"""The one place Prefect state hooks hand their metrics to: which workflow version a run
belongs to, its execution rows (one per stage a stage task ran, one per dataset run), and recording.

Hooks may run in another process (a worker reporting a crash), so everything goes to the store,
keyed by run id: a hook that fires twice writes one row. Recording never raises into the user's
run: a failing store is retried, then spooled to a file that the next successful write drains.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from apprentice.config import load_settings
from apprentice.dataset import BatchIncomplete, BatchResult, DatasetSummary
from apprentice.errors import RunIncomplete
from apprentice.generation import StageMetrics
from apprentice.monitor.apprenticeship import mark_failed
from apprentice.records import first_pass_quality
from apprentice.stages import BatchStates, StageIncomplete
from apprentice.store import ExecutionRecord, write

log = logging.getLogger("apprentice.monitor")


class WorkflowIdentity(NamedTuple):
    """Which workflow version a run belongs to."""

    workflow: str
    version: str

    @classmethod
    def carried_by(cls, value: Any) -> WorkflowIdentity | None:
        """The identity a run's outcome carries: a batch's or dataset run's result, or the
        `BatchIncomplete`/`RunIncomplete` a failed one raised with what it made."""
        carrier = value.result if isinstance(value, BatchIncomplete) else value.summary if isinstance(value, RunIncomplete) else value
        carrier = carrier.states if isinstance(carrier, StageIncomplete) else carrier
        if isinstance(carrier, BatchResult | DatasetSummary | BatchStates):
            return cls(carrier.workflow, carrier.version)
        return None

    @classmethod
    def from_run_name(cls, name: str | None) -> WorkflowIdentity | None:
        """From a batch run's name, `workflow@version/batch-N`: the last resort, for a batch
        whose outcome and parameters are both out of reach."""
        match = _RUN_NAME.match(name or "")
        return cls(match["workflow"], match["version"]) if match else None


_RUN_NAME = re.compile(r"^(?P<workflow>[^@/]+)@(?P<version>[^/]+)/")


def batch_rows(
    run_id: str, state_name: str, identity: tuple[str, str], result: BatchResult | None, error_class: str | None
) -> list[ExecutionRecord]:
    """One execution row per stage of a whole batch (or one row for a batch without outcomes)."""
    if result is None or not result.outcomes:
        return metric_rows(run_id, state_name, identity, [], error_class, "batch")
    metrics = [m for outcome in result.outcomes for m in outcome.stages]
    return metric_rows(run_id, state_name, identity, metrics, error_class, "batch") if metrics else []


def stage_rows(
    run_id: str, state_name: str, identity: tuple[str, str], states: BatchStates | None, error_class: str | None, step: str
) -> list[ExecutionRecord]:
    """One execution row per stage a stage task ran over its batch's records (or one row, named
    after its step, for a task that made no stage metrics: a merge, a failure)."""
    rows = metric_rows(run_id, state_name, identity, states.new_metrics() if states is not None else [], error_class, step)
    for row in rows:
        row.request_class = states.request_class if states is not None else ""
    return rows


def metric_rows(
    run_id: str, state_name: str, identity: tuple[str, str], metrics: list[StageMetrics], error_class: str | None, empty: str
) -> list[ExecutionRecord]:
    """A row per stage named in `metrics` (its run id `run_id:stage`), or one row named `empty`."""
    workflow, version = identity
    if not metrics:
        return [
            ExecutionRecord(
                run_id=run_id, kind="task", workflow=workflow, version=version, stage=empty, state=state_name, error_class=error_class
            )
        ]
    by_stage: dict[tuple[str, int | None], list[StageMetrics]] = {}
    for m in metrics:
        by_stage.setdefault((m.stage, m.round), []).append(m)
    return [
        _stage_row(
            f"{run_id}:{stage}" + ("" if round_ is None else f"#{round_}"), state_name, WorkflowIdentity(workflow, version), stage, group
        )
        for (stage, round_), group in by_stage.items()
    ]


def _stage_row(run_id: str, state_name: str, identity: WorkflowIdentity, stage: str, metrics: list[StageMetrics]) -> ExecutionRecord:
    errors = [m.error_class for m in metrics if m.error_class]
    return ExecutionRecord(
        run_id=run_id,
        kind="task",
        workflow=identity.workflow,
        version=identity.version,
        stage=stage,
        round=metrics[0].round,
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
        **_paired_counts(metrics),
    )


class PairedCounts(TypedDict):
    """The paired columns of a stage row (see `ExecutionRecord`)."""

    compared_records: int
    changed_records: int
    measured_records: int
    entered_valid_records: int
    fixed_records: int
    broken_records: int
    corrected_records: int
    corrected_valid_records: int


def _paired_counts(metrics: list[StageMetrics]) -> PairedCounts:
    """What the stage did to the records it was given, counted for self-simplification
    (`learning/simplify.py`): unchanged records, failing records fixed, passing records broken,
    corrections that ended valid."""
    measured = [m for m in metrics if m.entered_valid is not None]
    corrected = [m for m in metrics if m.corrections]
    return PairedCounts(
        compared_records=sum(m.changed is not None for m in metrics),
        changed_records=sum(bool(m.changed) for m in metrics),
        measured_records=len(measured),
        entered_valid_records=sum(bool(m.entered_valid) for m in measured),
        fixed_records=sum(not m.entered_valid and m.valid for m in measured),
        broken_records=sum(bool(m.entered_valid) and not m.valid for m in measured),
        corrected_records=len(corrected),
        corrected_valid_records=sum(m.valid for m in corrected),
    )


def flow_row(
    run_id: str, state_name: str, identity: tuple[str, str], summary: DatasetSummary | None, error_class: str | None
) -> ExecutionRecord:
    """The workflow-level execution row of a dataset run. A run that made nothing new (every
    batch reused, or served from `$cache`) is `Cached`, as Prefect names a result it did not compute."""
    requested = summary.requested if summary else 0
    records = summary.records if summary else 0
    nothing_new = summary is not None and requested and not summary.generated
    realism = summary.realism if summary is not None and summary.realism is not None and summary.realism.records else None
    workflow, version = identity
    return ExecutionRecord(
        run_id=run_id,
        kind="flow",
        workflow=workflow,
        version=version,
        state="Cached" if nothing_new else state_name,
        records=requested,
        valid_records=records,
        input_tokens=summary.input_tokens if summary else 0,
        output_tokens=summary.output_tokens if summary else 0,
        cost_usd=summary.cost_usd if summary else 0.0,
        validity=records / requested if requested else 0.0,
        quality=summary.quality if summary else None,
        latency_s=(summary.seconds_per_record or 0.0) if summary else 0.0,
        realism=realism.clean_share if realism is not None else None,
        error_class=error_class,
        request_class=summary.request_class if summary else "",
    )


def record_run(
    run_id: str,
    state_name: str,
    identity: WorkflowIdentity,
    summary: DatasetSummary | None,
    error_class: str | None,
    *,
    failed: bool,
    known: bool = True,
) -> None:
    """Record a dataset run's workflow-level execution; a failed run of a `known` workflow sends
    its version to investigation. A run that failed for want of backends (records not made), or
    was interrupted (Crashed, not Failed), is recorded but does not: neither says anything about
    the workflow."""
    row = flow_row(run_id, state_name, identity, summary, error_class)
    record_executions([row])
    outage = bool(summary is not None and summary.not_made)
    if failed and known and not outage:
        mark_failed(identity.workflow, identity.version, run_id, row.error_class or state_name)


class ExecutionEvent(BaseModel):
    """What a hook saw: which run, in which state, with which records (None when it failed)."""

    run_id: str
    kind: str
    workflow: str
    version: str
    stage: str = ""
    state: str
    error_class: str | None = None


def record_executions(rows: list[ExecutionRecord], *, engine: Engine | None = None, spool: Path | None = None) -> bool:
    """Upsert execution rows. Returns False (and spools them) if the store cannot take them now."""
    spool = spool or load_settings().home / "spool" / "executions.jsonl"
    try:
        pending = _read_spool(spool) + rows

        def upsert(s) -> None:
            for row in pending:
                s.merge(ExecutionRecord.model_validate(row.model_dump()))

        write(upsert, engine)
        spool.unlink(missing_ok=True)
        return True
    except Exception as exc:  # never fail the user's run because monitoring could not write
        log.warning("apprentice could not record %d execution(s) (%s); spooled to %s", len(rows), type(exc).__name__, spool)
        try:
            spool.parent.mkdir(parents=True, exist_ok=True)
            with spool.open("a") as handle:
                for row in rows:
                    handle.write(row.model_dump_json() + "\n")
        except OSError:
            log.warning("apprentice could not spool execution records either")
        return False


def _read_spool(spool: Path) -> list[ExecutionRecord]:
    if not spool.is_file():
        return []
    rows = []
    for line in spool.read_text().splitlines():
        try:
            rows.append(ExecutionRecord.model_validate(json.loads(line)))
        except ValueError:
            continue
    return rows
