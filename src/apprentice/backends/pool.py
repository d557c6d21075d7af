"""The backend pool: pick a backend by name or tier, then breaker → retry → failover.

Retries happen on one backend: exponential backoff with jitter (tenacity's), honouring Retry-After,
never on 400/401/403/404/422; a 429 with Retry-After is waited for without using an attempt or
counting against the breaker, up to `retry.rate_limit_wait_s` per call. When a backend gives up or its circuit is open, the request fails
over to the next healthy backend of the same tier, then higher tiers, then lower ones.

The pool books every call it makes into its `CallBook` (the ledger, `backends/ledger.LedgerBook`):
a row per backend tried, served or failed (with its error kind), carrying that backend's HTTP
attempts; the request's stage and purpose and the booked run (`backends/booking.py`) name it.
A call cancelled mid-flight (a record's time budget) is booked as `cancelled`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Protocol

import httpx
from tenacity import wait_exponential_jitter

from apprentice.backends.booking import UNATTRIBUTED, CallBook, booked_run, call_row
from apprentice.backends.breaker import BreakerState, CircuitBreaker
from apprentice.backends.ollama import OllamaClient
from apprentice.backends.openai import OpenAICompatibleClient
from apprentice.backends.types import CallResult, ModelClient, ModelRequest, ModelResponse
from apprentice.config import BackendConfig, PoolConfig, Tier
from apprentice.errors import (
    BackendError,
    BackendErrorKind,
    BackendUnavailableError,
    MissingApiKeyError,
    UnknownBackendError,
)

TransportFactory = Callable[[BackendConfig], httpx.AsyncBaseTransport | None]


class Recovered(Protocol):
    restarted: bool
    cause: str | None


class Supervisor(Protocol):
    """Looks after backends apprentice runs itself (the embedded server): asked when one stops
    accepting connections, it says why and whether it brought the backend back."""

    async def recover(self, backend: BackendConfig) -> Recovered: ...


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, BackendError) and exc.retryable


def _told_when(exc: BackendError) -> bool:
    """A 429 with Retry-After: the server is up and says when to come back."""
    return exc.kind is BackendErrorKind.rate_limited and exc.retry_after is not None


def _error_kind(exc: BaseException) -> str:
    """What the ledger says of a failed call: the backend's error kind, `cancelled`, or the exception's class."""
    if isinstance(exc, BackendError):
        return exc.kind.value
    return "cancelled" if isinstance(exc, asyncio.CancelledError) else type(exc).__name__


class _Sent:
    """HTTP requests made to one backend for one call, counted as they go out."""

    def __init__(self) -> None:
        self.requests = 0


class BackendPool:
    """Serves `ModelRequest`s over every enabled backend in a `PoolConfig`.

    One pooled HTTP client, one breaker and one concurrency limit per backend. A pool belongs to
    one event loop; `apprentice.orchestration` keeps one per loop. With a `book`, every call is
    booked there (`run.open_pool` gives it the store's ledger); without one, nothing is.
    """

    def __init__(
        self,
        config: PoolConfig,
        *,
        transport_factory: TransportFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        supervisor: Supervisor | None = None,
        book: CallBook | None = None,
    ) -> None:
        self.config = config
        self.book = book
        self._supervisor = supervisor
        self._transport_factory = transport_factory or (lambda _cfg: None)
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clients: dict[str, ModelClient] = {}
        self.breakers = {b.name: CircuitBreaker(config.breaker, clock) for b in config.backends}
        self._limits = {b.name: asyncio.Semaphore(b.max_concurrency) for b in config.backends}

    def backend(self, name: str) -> BackendConfig:
        try:
            return self.config.by_name[name]
        except KeyError:
            known = ", ".join(self.config.by_name)
            raise UnknownBackendError(f"unknown backend '{name}' (the pool has: {known})") from None

    def candidates(self, *, backend: str | None = None, tier: Tier | None = None) -> list[BackendConfig]:
        """Backends to try, in order: the named one (or a weighted pick of the tier), the rest of
        that tier, then higher tiers, then lower ones."""
        first: BackendConfig | None = None
        if backend is not None:
            first = self.backend(backend)
            tier = first.tier
        tier = tier or Tier.fast
        enabled = [b for b in self.config.backends if b.enabled and b is not first]

        def by_rank(order: tuple[Tier, ...]) -> list[BackendConfig]:
            out: list[BackendConfig] = []
            for t in order:
                out.extend(self._weighted_order([b for b in enabled if b.tier == t]))
            return out

        return ([first] if first else []) + by_rank(tier.failover)

    def _weighted_order(self, backends: list[BackendConfig]) -> list[BackendConfig]:
        """A weighted random permutation (Efraimidis–Spirakis keys): heavier backends come first more often."""
        keyed = [(self._rng.random() ** (1 / b.weight) if b.weight > 0 else 0.0, b) for b in backends]
        return [b for _, b in sorted(keyed, key=lambda kb: kb[0], reverse=True)]

    def client(self, config: BackendConfig) -> ModelClient:
        if config.name not in self._clients:
            adapter = OpenAICompatibleClient if config.provider == "openai" else OllamaClient
            self._clients[config.name] = adapter(config, self._transport_factory(config))
        return self._clients[config.name]

    async def complete(self, request: ModelRequest, *, backend: str | None = None, tier: Tier | None = None) -> CallResult:
        """Serve one request, or raise `BackendUnavailableError` naming why each backend failed.

        A named backend whose API key is missing raises `MissingApiKeyError` at once; an unknown
        name raises `UnknownBackendError`.
        """
        failures: list[str] = []
        errors: list[BackendError] = []
        failed_names: list[str] = []
        events: list[str] = []
        for config in self.candidates(backend=backend, tier=tier):
            breaker = self.breakers[config.name]
            mark = len(breaker.events)
            if not breaker.allow():
                failures.append(f"{config.name}: circuit open" + (f" after: {breaker.last_error}" if breaker.last_error else ""))
                failed_names.append(config.name)
                continue
            try:
                client = self.client(config)
            except MissingApiKeyError as exc:
                if config.name == backend:
                    raise
                failures.append(str(exc))
                failed_names.append(config.name)
                continue
            try:
                result = await self._booked_call(config, client, request, breaker, failed_names)
            except BackendError as exc:
                events.extend(f"{config.name}:{e}" for e in breaker.events[mark:])
                failures.append(str(exc))
                errors.append(exc)
                failed_names.append(config.name)
                continue
            events.extend(f"{config.name}:{e}" for e in breaker.events[mark:])
            result.failed_over_from = failed_names
            result.breaker_events = events
            return result
        target = f"backend '{backend}'" if backend else f"tier '{tier or Tier.fast}'"
        detail = "; ".join(failures) or "no backend is enabled"
        raise BackendUnavailableError(f"no backend could serve {target}: {detail}", errors)

    async def _booked_call(
        self, config: BackendConfig, client: ModelClient, request: ModelRequest, breaker: CircuitBreaker, failed_over_from: list[str]
    ) -> CallResult:
        """One backend's try at the request, retries included, booked however it ends: served,
        failed (its error kind), or cancelled. A try that sent nothing (circuit open) is not booked."""
        sent, started = _Sent(), self._clock()
        try:
            result = await self._call_with_retries(config, client, request, breaker, sent)
        except BaseException as exc:
            if sent.requests:
                self._book(request, config, config.model, sent.requests, self._clock() - started, error=_error_kind(exc))
            raise
        self._book(request, config, result.model, result.attempts, result.latency_s, result=result, failed_over_from=failed_over_from)
        return result

    def _book(
        self,
        request: ModelRequest,
        config: BackendConfig,
        model: str,
        attempts: int,
        latency_s: float,
        *,
        result: CallResult | None = None,
        failed_over_from: list[str] | None = None,
        error: str = "",
    ) -> None:
        if self.book is None:
            return
        row = call_row(
            booked_run() or UNATTRIBUTED,
            purpose=request.purpose,
            stage=request.stage,
            backend=config.name,
            model=model,
            tier=config.tier.value,
            latency_s=latency_s,
            attempts=attempts,
            input_tokens=result.input_tokens if result else 0,
            output_tokens=result.output_tokens if result else 0,
            cost_usd=result.cost_usd if result else 0.0,
            failed_over_from=failed_over_from or (),
            error=error,
        )
        self.book.book([row])

    async def _call_with_retries(
        self, config: BackendConfig, client: ModelClient, request: ModelRequest, breaker: CircuitBreaker, sent: _Sent
    ) -> CallResult:
        """One call with retries: `retry.attempts` in all, with backoff (or the server's Retry-After)
        between them. A 429 that says when to come back is waited for without using an attempt,
        while such waits add up to at most `retry.rate_limit_wait_s`: a rate-limit storm of a few
        seconds is ridden out instead of failing every record in flight."""
        failures, told_to_wait = 0, 0.0

        async def attempt() -> CallResult:
            if sent.requests and not breaker.allow():
                raise BackendError(f"backend '{config.name}': circuit opened", backend=config.name, retryable=False)
            started = self._clock()
            async with self._limits[config.name]:
                sent.requests += 1
                try:
                    response = await client.complete(request)
                except BackendError as exc:
                    raise await self._failed(config, breaker, exc) from None
            breaker.record_success()
            return self._result(config, response, self._clock() - started, sent.requests)

        while True:
            try:
                return await attempt()
            except BackendError as exc:
                if not _is_retryable(exc):
                    raise
                delay = self._wait(exc, sent.requests)
                told = _told_when(exc) and told_to_wait + delay <= self.config.retry.rate_limit_wait_s
                failures += not told
                if failures >= self.config.retry.attempts:
                    raise
                told_to_wait += delay if told else 0.0
            await self._sleep(delay)

    def _wait(self, exc: BackendError, attempts: int) -> float:
        """Seconds before the next attempt: the server's Retry-After (capped), else backoff with jitter."""
        retry = self.config.retry
        if exc.retry_after is not None:
            return min(exc.retry_after, retry.max_wait_s)
        backoff = wait_exponential_jitter(initial=retry.initial_wait_s, max=retry.max_wait_s)
        # tenacity's wait strategies take a RetryCallState; this one reads only attempt_number
        return backoff(SimpleNamespace(attempt_number=attempts))  # type: ignore[arg-type]

    @staticmethod
    def _result(config: BackendConfig, response: ModelResponse, latency_s: float, attempts: int) -> CallResult:
        return CallResult(
            backend=config.name,
            model=response.model,
            tier=config.tier,
            text=response.text,
            latency_s=latency_s,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cost_usd=config.cost(response.input_tokens, response.output_tokens),
            attempts=attempts,
            finish_reason=response.finish_reason,
        )

    async def _failed(self, config: BackendConfig, breaker: CircuitBreaker, exc: BackendError) -> BackendError:
        """Book a failure on the breaker, unless the supervisor restarted a dead embedded server:
        then the call is retried at once. A server that stays dead is named as the cause."""
        if _told_when(exc):  # a server that says when to come back is alive: no failure to count
            return exc
        if not (config.embedded and self._supervisor and exc.kind is BackendErrorKind.unreachable):
            breaker.record_failure(str(exc))
            return exc
        recovery = await self._supervisor.recover(config)
        if recovery.restarted:
            breaker.reset()
            return BackendError(recovery.cause or str(exc), backend=config.name, kind=exc.kind, retry_after=0.0)
        if recovery.cause is None:  # it is up: an ordinary failure, retried with backoff
            breaker.record_failure(str(exc))
            return exc
        died = BackendError(recovery.cause or str(exc), backend=config.name, kind=BackendErrorKind.server_died, retryable=False)
        breaker.record_failure(str(died))
        return died

    def health(self) -> dict[str, BreakerState]:
        return {name: b.state for name, b in self.breakers.items()}

    async def flush_calls(self) -> None:
        """Return once every call made so far is in the pool's book (the end of a batch or a step)."""
        if self.book is not None:
            await asyncio.to_thread(self.book.flush)

    async def aclose(self) -> None:
        """Close the HTTP clients and the book (everything booked is written first)."""
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        if self.book is not None:
            await asyncio.to_thread(self.book.close)
