"""A dataset run's progress as people watch it: records done and failed, rate, time left and
cost so far, counted from finished batches and shown live with rich on a terminal.

The library announces each finished batch (`batch_finished`, called by `run.RunProgress`);
whoever wants to watch registers a listener for the length of a run (`listening`). The CLI's
display is one such listener; with no listener, an announcement costs a loop over nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

if TYPE_CHECKING:  # the CLI imports this module at start; the dataset machinery can wait
    from apprentice.dataset import BatchResult

Listener = Callable[["BatchResult"], None]
_listeners: list[Listener] = []


def batch_finished(batch: BatchResult) -> None:
    """Tell every listener that `batch` finished (made now, or reused from an earlier run)."""
    for listener in list(_listeners):
        listener(batch)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """`listener` hears every batch that finishes in this process until the block ends."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


class RunTally(BaseModel):
    """Running counts of a run of `total` records, from its finished batches."""

    total: int = Field(ge=0)
    done: int = Field(0, description="valid records")
    failed: int = Field(0, description="records rejected for their content or not made")
    cost_usd: float = 0.0
    started: float = Field(default_factory=time.monotonic)

    def add(self, batch: BatchResult) -> None:
        for outcome in batch.outcomes:
            self.done += outcome.valid
            self.failed += not outcome.valid
            self.cost_usd += outcome.cost_usd

    @property
    def finished(self) -> int:
        return self.done + self.failed

    def rate(self, now: float) -> float:
        """Records finished per second since the run started."""
        elapsed = now - self.started
        return self.finished / elapsed if elapsed > 0 else 0.0

    def eta(self, now: float) -> timedelta | None:
        """Time left at the rate so far; None before the first record finishes."""
        rate = self.rate(now)
        if rate <= 0:
            return None
        return timedelta(seconds=round(max(0, self.total - self.finished) / rate))

    def line(self, now: float) -> str:
        """`37/100 done · 2 failed · 4.1 records/s · 0:00:15 left · $0.0021`"""
        eta = self.eta(now)
        left = f"{eta} left" if eta is not None else "– left"
        return f"{self.done}/{self.total} done · {self.failed} failed · {self.rate(now):.1f} records/s · {left} · ${self.cost_usd:.4f}"


@contextmanager
def live_progress(total: int, console: Console, *, enabled: bool = True) -> Iterator[RunTally]:
    """A live bar on `console` for a run of `total` records while the block runs; nothing at all
    when not `enabled` or when `console` is not a terminal (a pipe, a log file, a test)."""
    tally = RunTally(total=total)
    if not enabled or not console.is_terminal:
        yield tally
        return
    columns = (SpinnerColumn(), BarColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(tally.line(time.monotonic()), total=total)

        def show(batch: BatchResult) -> None:
            tally.add(batch)
            bar.update(task, completed=tally.finished, description=tally.line(time.monotonic()))

        with listening(show):
            yield tally
