"""The call ledger: tokens, cost and latency of every model call, per backend and workflow version."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import func, insert
from sqlalchemy.engine import Engine
from sqlmodel import select

from apprentice.backends.types import CallResult
from apprentice.store import CallRecord, session, write
from apprentice.store.models import utcnow


def record_calls(
    calls: Iterable[tuple[str, CallResult]],
    *,
    run_id: str,
    workflow: str,
    version: str,
    purpose: str = "generation",
    engine: Engine | None = None,
) -> int:
    """Append (stage, call) pairs to the ledger in one transaction; returns the rows written."""
    return write_call_rows(call_rows(calls, run_id=run_id, workflow=workflow, version=version, purpose=purpose), engine)


def call_rows(
    calls: Iterable[tuple[str, CallResult]], *, run_id: str, workflow: str, version: str, purpose: str = "generation"
) -> list[dict]:
    """Ledger rows for (stage, call) pairs of one run, ready for `write_call_rows`."""
    return [
        dict(
            at=utcnow(),
            run_id=run_id,
            workflow=workflow,
            version=version,
            stage=stage,
            purpose=purpose,
            backend=c.backend,
            model=c.model,
            tier=c.tier.value,
            latency_s=c.latency_s,
            input_tokens=c.input_tokens,
            output_tokens=c.output_tokens,
            cost_usd=c.cost_usd,
            attempts=c.attempts,
            failed_over_from=",".join(c.failed_over_from),
        )
        for stage, c in calls
    ]


def write_call_rows(rows: list[dict], engine: Engine | None = None) -> int:
    """Ledger rows (of any number of runs) in one transaction; returns the rows written."""
    if not rows:
        return 0

    def bulk_insert(s) -> int:
        s.connection().execute(insert(CallRecord), rows)  # one executemany, not one ORM object per call
        return len(rows)

    return write(bulk_insert, engine)


def spend_by_backend(workflow: str | None = None, engine: Engine | None = None) -> list[tuple[str, str, int, int, float]]:
    """(backend, purpose, calls, tokens, cost) totals, optionally for one workflow."""
    # sqlmodel's select() is typed for at most four columns; it takes any number.
    query = select(  # type: ignore[call-overload]
        CallRecord.backend,
        CallRecord.purpose,
        func.count(),
        func.sum(CallRecord.input_tokens + CallRecord.output_tokens),
        func.sum(CallRecord.cost_usd),
    ).group_by(CallRecord.backend, CallRecord.purpose)
    if workflow:
        query = query.where(CallRecord.workflow == workflow)
    with session(engine) as s:
        return [tuple(row) for row in s.exec(query).all()]


def stage_calls(outcome) -> Iterator[tuple[str, CallResult]]:
    """(stage, call) pairs of one record's outcome: stages record their call counts in order."""
    calls = iter(outcome.calls)
    for metrics in outcome.stages:
        for _ in range(metrics.calls):
            call = next(calls, None)
            if call is not None:
                yield metrics.stage, call
