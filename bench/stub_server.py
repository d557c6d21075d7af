"""A fast OpenAI-compatible stub for benchmarks: answers every chat request with a valid record
after a fixed delay (standing in for a model's latency) — a city, or, when the request carries a
schema (llama.cpp style), a simple instance of it.

    python bench/stub_server.py PORT DELAY_MS [--log FILE]

Fault modes (for bench/faults.py), switched while it runs by `POST /control` with a JSON body of
any of these keys, each starting now:

- `{"rate_limit_s": 3, "retry_after_s": 1}`: for 3 s every chat request is answered 429 with
  `Retry-After: 1`, as a hosted API does in a rate-limit storm;
- `{"slow_factor": 10, "slow_s": 5}`: for 5 s answers take 10 × the delay;
- `{"delay_ms": 50}`: the delay from now on.

`GET /stats` counts the chat requests since the stub started: `requests`, `served` (a completion
sent whole, what a ledger books), `rate_limited` (429). With `--log FILE` each answer's status is
also appended to FILE as a line, flushed, so a bench can count the calls of a stub it killed and
started again.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from dataclasses import dataclass
from typing import IO, Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Faults:
    """What the stub does now: its delay, and until when it rate-limits or is slow."""

    delay_s: float = 0.02
    rate_limited_until: float = 0.0
    retry_after_s: float = 1.0
    slow_until: float = 0.0
    slow_factor: float = 1.0

    def answer_delay(self) -> float:
        return self.delay_s * (self.slow_factor if time.monotonic() < self.slow_until else 1.0)

    def rate_limiting(self) -> bool:
        return time.monotonic() < self.rate_limited_until


FAULTS = Faults()
COUNTS = {"requests": 0, "served": 0, "rate_limited": 0}
LOG: IO[str] | None = None
counter = itertools.count()


def instance(schema: dict, n: int):
    """A simple value valid for a plain schema (types, enums, required), for requests that send one."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {k: instance(v, n) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [instance(schema.get("items", {}), n)]
    if kind in ("integer", "number"):
        value = n if kind == "integer" else n + 0.5
        return min(max(value, schema.get("minimum", value)), schema.get("maximum", value))
    fixed: dict[Any, Any] = {"boolean": True, "null": None}
    return fixed.get(kind, f"value {n}")


def booked(status: str) -> None:
    """Count an answer (and log it, flushed, when the stub was started with --log)."""
    COUNTS[status] += 1
    if LOG is not None:
        LOG.write(status + "\n")
        LOG.flush()


async def chat(request: Request) -> JSONResponse:
    body = json.loads(await request.body())
    COUNTS["requests"] += 1
    if FAULTS.rate_limiting():
        booked("rate_limited")
        headers = {"Retry-After": f"{FAULTS.retry_after_s:g}"}
        return JSONResponse({"error": {"message": "rate limited", "type": "rate_limit_exceeded"}}, status_code=429, headers=headers)
    await asyncio.sleep(FAULTS.answer_delay())
    n = next(counter)
    schema = (body.get("response_format") or {}).get("schema")
    content = json.dumps(instance(schema, n) if schema else {"city": f"City {n}", "country": "Norway", "population": 1000 + n})
    return JSONResponse(
        {
            "model": "stub",
            "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 20},
        },
        background=BackgroundTask(booked, "served"),  # counted once sent: a call cut off mid-answer was not served
    )


async def models(_: Request) -> JSONResponse:
    return JSONResponse({"data": [{"id": "stub"}]})


async def control(request: Request) -> JSONResponse:
    """Switch a fault mode on (see the module's docstring); answers with the stub's state."""
    asked = json.loads(await request.body() or b"{}")
    now = time.monotonic()
    if "delay_ms" in asked:
        FAULTS.delay_s = float(asked["delay_ms"]) / 1000
    if "rate_limit_s" in asked:
        FAULTS.rate_limited_until = now + float(asked["rate_limit_s"])
        FAULTS.retry_after_s = float(asked.get("retry_after_s", FAULTS.retry_after_s))
    if "slow_s" in asked:
        FAULTS.slow_until, FAULTS.slow_factor = now + float(asked["slow_s"]), float(asked.get("slow_factor", 10))
    return JSONResponse({"faults": vars(FAULTS), "counts": COUNTS})


async def stats(_: Request) -> JSONResponse:
    return JSONResponse(COUNTS)


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", models),
        Route("/control", control, methods=["POST"]),
        Route("/stats", stats),
    ]
)

if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description="An OpenAI-compatible stub model server with fault modes.")
    parser.add_argument("port", type=int)
    parser.add_argument("delay_ms", type=float, nargs="?", default=20.0)
    parser.add_argument("--log", help="append each answer's status (served, rate_limited) to this file")
    args = parser.parse_args(sys.argv[1:])
    FAULTS.delay_s = args.delay_ms / 1000
    if args.log:
        LOG = open(args.log, "a+", encoding="utf-8")  # noqa: SIM115 - open for the server's life
        LOG.seek(0)
        starts = LOG.read().count("start\n")
        LOG.write("start\n")
        LOG.flush()
        counter = itertools.count(1_000_000 * starts)  # a stub started again never repeats an answer it gave before
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
