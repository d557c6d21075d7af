"""The call ledger: tokens, cost, latency and HTTP attempts of every model call, per backend,
workflow version and purpose.

The pool books its calls itself (`BackendPool(book=LedgerBook())`, see `backends/booking.py`):
no caller writes ledger rows after the fact, so none can forget to or book a call twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import case, func, insert
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from apprentice.store import CallRecord, default_engine, session, write
from apprentice.store.writer import BatchedWriter


class LedgerBook:
    """The store's ledger as a pool's `CallBook`: rows queue in memory and one writer thread
    writes them many to a transaction (up to `batch_size`, gathered for up to `linger_s`), so a
    call never waits for the store. `flush` (a batch's end) and `close` (the pool's) return once
    everything booked is written; a killed process loses only what was still queued."""

    def __init__(self, store: Engine | None = None, *, capacity: int = 65_536, batch_size: int = 1_000, linger_s: float = 0.5) -> None:
        self.store = store
        self._writer: BatchedWriter[dict[str, Any]] = BatchedWriter(
            self._write, name="apprentice-ledger", capacity=capacity, batch_size=batch_size, linger_s=linger_s
        )

    def book(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self._writer.put(row)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        self.store = self.store or default_engine()  # once: finding the default store reads the settings
        write_call_rows(rows, self.store)


def write_call_rows(rows: list[dict[str, Any]], engine: Engine | None = None) -> int:
    """Ledger rows (`booking.call_row`, of any number of runs) in one transaction; returns the rows written."""
    if not rows:
        return 0

    def bulk_insert(s) -> int:
        s.connection().execute(insert(CallRecord), rows)  # one executemany, not one ORM object per call
        return len(rows)

    return write(bulk_insert, engine)


class PurposeSpend(BaseModel):
    """What the model calls made for one purpose cost."""

    purpose: str
    calls: int
    failed: int
    attempts: int
    input_tokens: int
    output_tokens: int
    cost_usd: float

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def spend_by_purpose(workflow: str | None = None, engine: Engine | None = None) -> list[PurposeSpend]:
    """Calls, failures, HTTP attempts, tokens and cost per purpose (dearest first), optionally for one workflow."""
    # sqlmodel's select() is typed for at most four columns; it takes any number.
    query = select(  # type: ignore[call-overload]
        CallRecord.purpose,
        func.count(),
        func.sum(case((col(CallRecord.error) != "", 1), else_=0)),
        func.sum(CallRecord.attempts),
        func.sum(CallRecord.input_tokens),
        func.sum(CallRecord.output_tokens),
        func.sum(CallRecord.cost_usd),
    ).group_by(CallRecord.purpose)
    if workflow:
        query = query.where(CallRecord.workflow == workflow)
    with session(engine) as s:
        rows = s.exec(query).all()
    columns = ("purpose", "calls", "failed", "attempts", "input_tokens", "output_tokens", "cost_usd")
    spends = [PurposeSpend.model_validate({k: v or 0 for k, v in zip(columns, row, strict=True)}) for row in rows]
    return sorted(spends, key=lambda p: (-p.cost_usd, -p.calls, p.purpose))


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
