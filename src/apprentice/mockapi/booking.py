"""A mock request is an execution of its workflow version: its execution rows go to the store
(the rows the Prefect hooks write for a batch task run and for a dataset run, built by the same
functions), so trends and the apprenticeship see the server's traffic. Its model calls are booked
by the server's pool (`backends/booking.py`), under the same run id.

Booking is off the request path: answered requests wait in the store's batched writer
(`store/writer.BatchedWriter`, which the call ledger uses too), a gathered batch of requests in
one transaction. Writing each request as it was answered cost more than the answer (two SQLite
transactions, serialised, competing for the interpreter with the requests still being served).
`Bookkeeper.flush` (tests, shutdown) returns once everything queued is written."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, NamedTuple

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from apprentice.dataset import BatchResult, summarise
from apprentice.monitor.hooks import WorkflowIdentity, batch_rows, flow_row, record_executions
from apprentice.store import ExecutionRecord, default_engine, write
from apprentice.store.writer import BatchedWriter
from apprentice.workflows import WorkflowSpec

log = logging.getLogger("apprentice.mockapi")


class Booking(NamedTuple):
    """One answered request's batch, waiting to be booked under the request's run id (`mock-…`)."""

    spec: WorkflowSpec
    batch: BatchResult
    shape_schema: Any
    run_id: str


def request_rows(booking: Booking) -> list[ExecutionRecord]:
    """One request's execution rows: a row per stage and one for the request."""
    spec, batch, run_id = booking.spec, booking.batch, booking.run_id
    identity = WorkflowIdentity(spec.name, spec.version)
    state, error = ("Completed", None) if all(o.valid for o in batch.outcomes) else ("Failed", "NoValidAnswer")
    summary = summarise(spec, batch.plan.count, [batch], booking.shape_schema)
    summary.generated = batch.plan.count  # every record of a request is made for it
    return batch_rows(run_id, state, identity, batch, error) + [flow_row(run_id, state, identity, summary, error)]


def book_all(bookings: list[Booking], engine: Engine | None = None) -> None:
    """Book requests in one transaction: every execution row as one bulk insert (a request's run
    ids are new, so nothing needs `record_executions`' upsert). If the store cannot take them,
    they go to `record_executions`, which spools what it cannot write either."""
    executions = [row for booking in bookings for row in request_rows(booking)]

    def insert_all(s) -> None:
        s.connection().execute(insert(ExecutionRecord), [row.model_dump() for row in executions])

    try:
        write(insert_all, engine)
    except Exception as exc:
        log.warning("apprentice could not book %d mock request(s) (%s); spooling their execution rows", len(bookings), exc)
        record_executions(executions, engine=engine)


class Bookkeeper:
    """Answered requests, booked by one writer thread (`BatchedWriter`): `submit` waits only when
    `capacity` requests are already queued (the store is falling behind: the server slows rather
    than forgets); the writer takes up to `batch_size` at a time."""

    def __init__(self, store: Engine | None = None, *, capacity: int = 1_024, batch_size: int = 128) -> None:
        self.store = store
        self._writer: BatchedWriter[Booking] = BatchedWriter(
            self._write, name="apprentice-booking", capacity=capacity, batch_size=batch_size
        )

    async def submit(self, booking: Booking) -> None:
        await self._writer.submit(booking)

    async def flush(self) -> None:
        """Return once every request submitted so far is written."""
        await asyncio.to_thread(self._writer.flush)

    async def close(self) -> None:
        """Write everything queued, then stop the writer (a later `submit` starts it again)."""
        await asyncio.to_thread(self._writer.close)

    def _write(self, bookings: list[Booking]) -> None:
        self.store = self.store or default_engine()  # once: finding the default store reads the settings
        book_all(bookings, self.store)
