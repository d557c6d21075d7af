"""A fast OpenAI-compatible stub for benchmarks: answers every chat request with a valid record
after a fixed delay (standing in for a model's latency) — a city, or, when the request carries a
schema (llama.cpp style), a simple instance of it. Run: python bench/stub_server.py PORT DELAY_MS"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DELAY_S = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.02
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


async def chat(request: Request) -> JSONResponse:
    body = json.loads(await request.body())
    await asyncio.sleep(DELAY_S)
    n = next(counter)
    schema = (body.get("response_format") or {}).get("schema")
    content = json.dumps(instance(schema, n) if schema else {"city": f"City {n}", "country": "Norway", "population": 1000 + n})
    return JSONResponse(
        {
            "model": "stub",
            "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 20},
        }
    )


async def models(_: Request) -> JSONResponse:
    return JSONResponse({"data": [{"id": "stub"}]})


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models)])

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
