"""One background writer for rows the store must get but a request must not wait for.

Items wait in a bounded queue that one thread drains, many items per transaction: the model-call
ledger (`backends/ledger.LedgerBook`) and the mock API's bookings (`mockapi/booking.Bookkeeper`)
both write through it. Writing each item as it came cost more than the work that produced it
(a SQLite transaction each, serialised, competing for the interpreter with the work still in
flight). `flush` returns once everything put before it is written; `close` also stops the thread
(a later `put` starts it again). A thread, not an asyncio task, so flushing works from any event
loop and from code without one.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("apprentice.store")

T = TypeVar("T")


class _Marker:
    """A queue entry that is not an item: write what you hold now (flush), or stop (close)."""


class _Flush(_Marker):
    """Set once every item queued before it is written: a flush waits for those only, not for
    items other callers keep putting after it (a parallel batch still making calls)."""

    def __init__(self) -> None:
        self.written = threading.Event()


_STOP = _Marker()


class BatchedWriter(Generic[T]):
    """The bounded queue of items and its one writer thread.

    `write` gets up to `batch_size` items at a time, in the order they were put. After the first
    item of a batch the writer waits up to `linger_s` for more (unless a flush or close is asked
    for), so a slow trickle of items is still written a batch at a time. `put` blocks only when
    `capacity` items are already waiting (the store is falling behind: the caller slows rather
    than forgets). A `write` that raises is logged and its items are lost; the writer goes on."""

    def __init__(
        self, write: Callable[[list[T]], None], *, name: str, capacity: int = 1_024, batch_size: int = 128, linger_s: float = 0.0
    ) -> None:
        self.write, self.name = write, name
        self.batch_size, self.linger_s = batch_size, linger_s
        self._queue: queue.Queue[T | _Marker] = queue.Queue(capacity)
        self._writer: threading.Thread | None = None
        self._starting = threading.Lock()

    def put(self, item: T) -> None:
        """Queue one item; blocks only while the queue is full."""
        self._start()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._queue.put(item)

    async def submit(self, item: T) -> None:
        """`put` for a coroutine: a full queue makes it wait without blocking its event loop."""
        self._start()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            await asyncio.to_thread(self._queue.put, item)

    def flush(self) -> None:
        """Return once every item put so far is written (blocking: call it off an event loop)."""
        with self._starting:  # the marker goes in before any close's stop does
            if self._writer is None:
                return
            marker = _Flush()
            self._queue.put(marker)
        marker.written.wait()

    def close(self) -> None:
        """Write everything queued, then stop the writer thread (blocking)."""
        with self._starting:
            writer, self._writer = self._writer, None
            if writer is not None:
                self._queue.put(_STOP)
        if writer is not None:
            writer.join()

    def _start(self) -> None:
        with self._starting:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_until_closed, name=self.name, daemon=True)
                self._writer.start()

    def _gather(self) -> list[T | _Marker]:
        """The next batch: one item (waiting for it), then what arrives within `linger_s`, up to
        `batch_size`, ending early at a flush or close."""
        taken = [self._queue.get()]
        deadline = time.monotonic() + self.linger_s
        while len(taken) < self.batch_size and not isinstance(taken[-1], _Marker):
            wait = deadline - time.monotonic()
            try:
                taken.append(self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return taken

    def _write_until_closed(self) -> None:
        while True:
            taken = self._gather()
            items = [t for t in taken if not isinstance(t, _Marker)]
            try:
                if items:
                    self.write(items)
            except Exception:  # never stop writing the items still to come
                log.exception("apprentice could not write %d item(s) (%s)", len(items), self.name)
            finally:
                for entry in taken:
                    if isinstance(entry, _Flush):
                        entry.written.set()
            if taken[-1] is _STOP:
                return
