"""Per-backend circuit breaker: closed → open after repeated failures in a window → half-open probe."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum

from apprentice.config import BreakerConfig


class BreakerState(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


class CircuitBreaker:
    """Stops sending to a backend that keeps failing, and lets one probe through after a pause.

    `failure_threshold` failures within `window_s` seconds open the circuit; after
    `reset_timeout_s` one request is let through (half-open): success closes it, failure reopens it.
    """

    def __init__(self, config: BreakerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._failures: deque[float] = deque()
        self._opened_at: float | None = None
        self._probe_in_flight = False
        self.events: list[str] = []
        self.last_error: str | None = None
        """Why the last failure happened: shown beside "circuit open" so a user sees the cause."""

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.closed
        if self._clock() - self._opened_at >= self.config.reset_timeout_s:
            return BreakerState.half_open
        return BreakerState.open

    def allow(self) -> bool:
        """May a request be sent now? In half-open, only one probe at a time."""
        state = self.state
        if state is BreakerState.closed:
            return True
        if state is BreakerState.half_open and not self._probe_in_flight:
            self._probe_in_flight = True
            self.events.append("half_open")
            return True
        return False

    def record_success(self) -> None:
        if self._opened_at is not None:
            self.events.append("closed")
        self._opened_at = None
        self._probe_in_flight = False
        self._failures.clear()

    def reset(self) -> None:
        """Close the circuit without a probe: the backend was restarted, so past failures are moot."""
        self.record_success()

    def record_failure(self, reason: str | None = None) -> None:
        self.last_error = reason or self.last_error
        now = self._clock()
        if self._probe_in_flight or self.state is BreakerState.half_open:
            self._open(now)
            return
        self._failures.append(now)
        while self._failures and now - self._failures[0] > self.config.window_s:
            self._failures.popleft()
        if len(self._failures) >= self.config.failure_threshold:
            self._open(now)

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._probe_in_flight = False
        self._failures.clear()
        self.events.append("open")
