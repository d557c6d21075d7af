"""What every model call is booked as: its purpose, its stage, and the run it belongs to.

The pool books each call it makes (`BackendPool(book=...)`), so no caller can forget to. What a
call is for rides on two things a caller cannot leave out by accident:

- the request (`ModelRequest.stage`, and `ModelRequest.purpose` when one call differs from its
  run, as a judge's call does), and
- the booked run (`booked_as`): run id, workflow, version and the run's purpose, set once by the
  code that starts a run — a dataset batch, an apprenticeship step, a shadow or canary run, a
  mock API request — in a context variable, so every call beneath it (its records' own asyncio
  tasks too) is booked under it without threading four arguments through every pattern.

A call made under no booked run is still booked, as `Purpose.unattributed` under run id
`unattributed`, and logged: a missing `booked_as` shows in the ledger instead of losing the call.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

log = logging.getLogger("apprentice.backends")


class Purpose(StrEnum):
    """Why a model call was made: what `apprentice status` sums cost by."""

    generation = "generation"
    """Records of a dataset run."""
    monitoring = "monitoring"
    """The apprenticeship's judges and diagnoses of a run."""
    calibration = "calibration"
    """Judges asked about planted defects, to measure them."""
    shadow = "shadow"
    """Evolution: the live version and its candidates on the same inputs, outputs discarded."""
    canary = "canary"
    """Evolution: the gate runs of a canary ramp step."""
    proposal = "proposal"
    """A model proposing a change: workflow mutations, a statistics spec."""
    mock = "mock"
    """Records the mock API server (`apprentice serve`) answers with."""
    preview = "preview"
    """The few records of `apprentice preview`."""
    unattributed = "unattributed"
    """A call made outside any `booked_as`: a caller to fix."""


class BookedRun(NamedTuple):
    """The run calls are booked under."""

    run_id: str
    workflow: str
    version: str
    purpose: Purpose


UNATTRIBUTED = BookedRun("unattributed", "", "", Purpose.unattributed)

_BOOKED: ContextVar[BookedRun | None] = ContextVar("apprentice_booked_run", default=None)


@contextmanager
def booked_as(purpose: Purpose, *, workflow: str, version: str, run_id: str | None = None) -> Iterator[BookedRun]:
    """Book every model call made inside the block (and in tasks it starts) under this run.

    `run_id` defaults to the enclosing booked run's id (an evolution flow's shadow and canary runs
    share the flow's), else a new `local-…` id. Tasks copy the context when they are created, so
    enter this before `asyncio.gather`/`create_task`, not inside a task meant to inherit it."""
    enclosing = _BOOKED.get()
    booked = BookedRun(run_id or (enclosing.run_id if enclosing else f"local-{uuid.uuid4().hex[:12]}"), workflow, version, purpose)
    token = _BOOKED.set(booked)
    try:
        yield booked
    finally:
        _BOOKED.reset(token)


def booked_run() -> BookedRun | None:
    """The run calls made here are booked under, if any."""
    return _BOOKED.get()


class CallBook(Protocol):
    """Where a pool books its calls: ledger rows (`call_row`) in, written in batches.

    `book` must not wait for a store (it is on every call's path); `flush` returns once everything
    booked so far is written; `close` flushes and lets go of any thread. Both block: call them
    off the event loop (`BackendPool.flush_calls` and `aclose` do)."""

    def book(self, rows: Sequence[dict[str, Any]]) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def call_row(
    run: BookedRun,
    *,
    purpose: Purpose | None,
    stage: str,
    backend: str,
    model: str,
    tier: str,
    latency_s: float,
    attempts: int,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost_usd: float = 0.0,
    failed_over_from: Sequence[str] = (),
    error: str = "",
) -> dict[str, Any]:
    """One ledger row (the columns of `store.CallRecord`): `purpose` is the call's own, else its run's."""
    if run is UNATTRIBUTED:
        log.warning("a model call (stage '%s') was made outside any booked run; it is booked as unattributed", stage)
    return dict(
        at=datetime.now(UTC),
        run_id=run.run_id,
        workflow=run.workflow,
        version=run.version,
        stage=stage,
        purpose=(purpose or run.purpose).value,
        backend=backend,
        model=model,
        tier=tier,
        latency_s=latency_s,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost_usd,
        attempts=attempts,
        failed_over_from=",".join(failed_over_from),
        error=error,
    )
