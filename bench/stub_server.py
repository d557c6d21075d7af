"""A fast OpenAI-compatible stub for benchmarks: answers every chat request with a valid record
after a fixed delay (standing in for a model's latency). Run: python bench/stub_server.py PORT DELAY_MS"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DELAY_S = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.02
counter = itertools.count()


async def chat(request: Request) -> JSONResponse:
    await request.body()
    await asyncio.sleep(DELAY_S)
    n = next(counter)
    content = json.dumps({"city": f"City {n}", "country": "Norway", "population": 1000 + n})
    return JSONResponse({
        "model": "stub",
        "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 20},
    })  # fmt: skip


async def models(_: Request) -> JSONResponse:
    return JSONResponse({"data": [{"id": "stub"}]})


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models)])

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
