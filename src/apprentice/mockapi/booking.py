"""A mock request is an execution of its workflow version: its model calls go to the ledger and
its execution rows to the store (the rows the Prefect hooks write for a batch task run and for a
dataset run, built by the same functions), so trends and the apprenticeship see the server's
traffic.

Booking is off the request path: answered requests wait in a bounded queue that one writer
thread drains, a gathered batch of requests in one transaction. Writing each request
as it was answered cost more than the answer (two SQLite transactions, serialised, competing for
the interpreter with the requests still being served). `Bookkeeper.flush` (tests, shutdown)
returns once everything queued is written."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import uuid
from typing import Any, NamedTuple

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from apprentice.backends.ledger import call_rows, stage_calls
from apprentice.dataset import BatchResult, summarise
from apprentice.monitor.hooks import WorkflowIdentity, batch_rows, flow_row, record_executions
from apprentice.store import CallRecord, ExecutionRecord, default_engine, write
from apprentice.workflows import WorkflowSpec

log = logging.getLogger("apprentice.mockapi")


class Booking(NamedTuple):
    """One answered request's batch, waiting to be booked."""

    spec: WorkflowSpec
    batch: BatchResult
    shape_schema: Any


def request_rows(booking: Booking) -> tuple[list[dict], list[ExecutionRecord]]:
    """One request's ledger rows and execution rows (a row per stage and one for the request),
    under a run id of its own (`mock-…`)."""
    spec, batch = booking.spec, booking.batch
    run_id = f"mock-{uuid.uuid4().hex}"
    calls = call_rows(
        [pair for outcome in batch.outcomes for pair in stage_calls(outcome)], run_id=run_id, workflow=spec.name, version=spec.version
    )
    identity = WorkflowIdentity(spec.name, spec.version)
    state, error = ("Completed", None) if all(o.valid for o in batch.outcomes) else ("Failed", "NoValidAnswer")
    summary = summarise(spec, batch.plan.count, [batch], booking.shape_schema)
    summary.generated = batch.plan.count  # every record of a request is made for it
    return calls, batch_rows(run_id, state, identity, batch, error) + [flow_row(run_id, state, identity, summary, error)]


def book_all(bookings: list[Booking], engine: Engine | None = None) -> None:
    """Book requests in one transaction: every ledger row and every execution row as one bulk
    insert each (a request's run ids are new, so nothing needs `record_executions`' upsert).
    If the store cannot take them, the execution rows go to `record_executions`, which spools
    what it cannot write either."""
    calls: list[dict] = []
    executions: list[ExecutionRecord] = []
    for booking in bookings:
        request_calls, request_executions = request_rows(booking)
        calls += request_calls
        executions += request_executions

    def insert_all(s) -> None:
        s.connection().execute(insert(ExecutionRecord), [row.model_dump() for row in executions])
        if calls:
            s.connection().execute(insert(CallRecord), calls)

    try:
        write(insert_all, engine)
    except Exception as exc:
        log.warning(
            "apprentice could not book %d mock request(s) (%s); their %d model call(s) are not in the ledger",
            len(bookings),
            exc,
            len(calls),
        )
        record_executions(executions, engine=engine)


class Bookkeeper:
    """The bounded queue of answered requests and its one writer thread. `submit` waits only
    when `capacity` requests are already queued (the store is falling behind: the server slows
    rather than forgets); the writer takes up to `batch_size` at a time. A thread, not an
    asyncio task, so flushing works from any event loop (tests run fixtures on another)."""

    def __init__(self, store: Engine | None = None, *, capacity: int = 1_024, batch_size: int = 128) -> None:
        self.store = store
        self.batch_size = batch_size
        self._queue: queue.Queue[Booking | None] = queue.Queue(capacity)
        self._writer: threading.Thread | None = None
        self._starting = threading.Lock()

    async def submit(self, booking: Booking) -> None:
        self._start()
        try:
            self._queue.put_nowait(booking)
        except queue.Full:
            await asyncio.to_thread(self._queue.put, booking)

    async def flush(self) -> None:
        """Return once every request submitted so far is written."""
        await asyncio.to_thread(self._queue.join)

    async def close(self) -> None:
        """Write everything queued, then stop the writer (a later `submit` starts it again)."""
        with self._starting:
            writer, self._writer = self._writer, None
        if writer is not None:
            await asyncio.to_thread(self._queue.put, None)
            await asyncio.to_thread(writer.join)

    def _start(self) -> None:
        with self._starting:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_until_closed, name="apprentice-booking", daemon=True)
                self._writer.start()

    def _write_until_closed(self) -> None:
        store = self.store or default_engine()  # once: finding the default store reads the settings
        while True:
            taken = [self._queue.get()]
            while len(taken) < self.batch_size and taken[-1] is not None:
                try:
                    taken.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            bookings = [b for b in taken if b is not None]
            try:
                if bookings:
                    book_all(bookings, store)
            except Exception:  # never stop booking the requests still to come
                log.exception("apprentice could not book %d mock request(s)", len(bookings))
            finally:
                for _ in taken:
                    self._queue.task_done()
            if taken[-1] is None:
                return
