"""Fault-injecting fake model servers for unit tests (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from apprentice.backends.booking import CallBook
from apprentice.backends.pool import BackendPool
from apprentice.config import BackendConfig, PoolConfig
from apprentice.shapes.schema import Shape


def chat_reply(content: str, *, prompt_tokens: int = 10, completion_tokens: int = 5) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "model": "fake",
            "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
        },
    )


class Script:
    """Answers a backend's requests from a list of responses (or exceptions), recording each request."""

    def __init__(self, *steps: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]) -> None:
        self.steps = list(steps)
        self.requests: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content or b"{}"))
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        return step(request) if callable(step) else step


def pool_config(*backends: dict, attempts: int = 3, failure_threshold: int = 5) -> PoolConfig:
    defaults = {"provider": "openai", "model": "m", "base_url": "http://fake.test/v1"}
    return PoolConfig(
        backends=[BackendConfig(**{**defaults, **b}) for b in backends],
        retry={"attempts": attempts, "initial_wait_s": 0.01, "max_wait_s": 5},
        breaker={"failure_threshold": failure_threshold, "window_s": 60, "reset_timeout_s": 30},
    )


def transports(scripts: dict[str, Script]):
    return lambda cfg: httpx.MockTransport(scripts[cfg.name])


class Backend:
    """A fake model server whose answer is computed from the prompt (and how many calls it has had);
    counts its calls and how many overlap (`peak`), each held `delay` seconds."""

    def __init__(self, answer, delay: float = 0.0) -> None:
        self.answer, self.delay = answer, delay
        self.calls, self.in_flight, self.peak = 0, 0, 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            reply = self.reply(request)
            return reply if isinstance(reply, httpx.Response) else chat_reply(json.dumps(reply))
        finally:
            self.in_flight -= 1

    def reply(self, request: httpx.Request) -> Any:
        """The answer to one request: a response as it is, or a record to send as the model's JSON reply."""
        prompt = json.loads(request.content)["messages"][-1]["content"]
        return self.answer(prompt, self.calls)


def make_pool(*, book: CallBook | None = None, **backends: tuple[str, Callable[[httpx.Request], Any]]) -> BackendPool:
    """A pool over fake backends (name=(tier, server)); with `book`, its calls are booked there."""
    config = pool_config(*({"name": name, "tier": tier} for name, (tier, _) in backends.items()))
    return BackendPool(config, transport_factory=lambda cfg: httpx.MockTransport(backends[cfg.name][1]), book=book)


class CountingTransports:
    """A pool's `transport_factory` over fake servers (by backend name; sync or async handlers)
    that counts every HTTP request each backend's transport sees, whatever the server answers."""

    def __init__(self, servers: dict[str, Callable[[httpx.Request], Any]]) -> None:
        self.servers = servers
        self.seen: Counter[str] = Counter()

    @property
    def requests(self) -> int:
        return sum(self.seen.values())

    def __call__(self, config: BackendConfig) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> Any:
            self.seen[config.name] += 1
            return self.servers[config.name](request)

        return httpx.MockTransport(handle)


def object_schema(shape: Shape) -> dict[str, Any]:
    """A compiled shape's JSON Schema as a dict: what every shape the tests compile gives (only a
    user's bare `true`/`false` schema is a bool)."""
    assert isinstance(shape.json_schema, dict), shape.json_schema
    return shape.json_schema


class ClassServer:
    """A fake model server that answers `good` (a record as JSON) with probability `passes`, else
    `bad`, from its own seeded random stream; counts its calls."""

    def __init__(self, good: dict[str, Any], bad: dict[str, Any], passes: float, seed: int = 0) -> None:
        import random

        self.good, self.bad, self.passes = good, bad, passes
        self.rng = random.Random(seed)
        self.calls = 0

    def __call__(self, _request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return chat_reply(json.dumps(self.good if self.rng.random() < self.passes else self.bad))
