"""Fakes for the mock API server's tests: a fake model that answers every chat request with a
plausible instance of the schema the request carries (and records what it was asked), and the
served app around an engine on such models."""

from __future__ import annotations

import itertools
import json
import uuid
from pathlib import Path

import httpx

from apprentice.backends.ledger import LedgerBook
from apprentice.backends.pool import BackendPool
from apprentice.mockapi import MockEngine, create_app
from apprentice.store import engine_for
from tests.unit.fakes import chat_reply, pool_config

TEXTS = [
    "Quiet harbour town with a ferry to the islands and a market on Saturdays.",
    "Keeps bees on the roof and sells the honey at the corner shop.",
    "Restores old bicycles and rides them along the river every weekend.",
    "Teaches evening classes in pottery at the community centre.",
    "Grows tomatoes on a small allotment and swaps seeds with neighbours.",
    "Collects vinyl records of Nordic jazz from the nineteen sixties.",
    "Swims in the lake before work from May until late September.",
    "Bakes sourdough bread twice a week and shares it with the street.",
]


def instance(schema: dict, n: int):
    """A valid, unremarkable value for a plain schema (types, enums, bounds, formats)."""
    if "enum" in schema:
        return schema["enum"][n % len(schema["enum"])]
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        return {k: instance(v, n + i) for i, (k, v) in enumerate(schema.get("properties", {}).items())}
    if kind == "array":
        return [instance(schema.get("items", {}), n + j) for j in range(max(1, schema.get("minItems", 2)))]
    if kind in ("integer", "number"):
        value = 20 + n % 10 + (0 if kind == "integer" else 0.5)
        return min(max(value, schema.get("minimum", value)), schema.get("maximum", value))
    if kind == "boolean":
        return n % 2 == 0
    if kind == "null":
        return None
    return _string(schema.get("format"), n)


def _string(fmt: str | None, n: int) -> str:
    return {
        "date-time": f"2024-03-{n % 27 + 1:02d}T10:00:00Z",
        "date": f"2024-03-{n % 27 + 1:02d}",
        "email": f"kari.berg{n}@mail.test",
        "uuid": str(uuid.UUID(int=n + 1)),
        "uri": f"https://shop.test/items/{n}",
    }.get(fmt or "", TEXTS[n % len(TEXTS)])


class FakeModel:
    """A backend's model: answers from the request's JSON Schema, or with `reply` when given."""

    def __init__(self, reply: str | None = None, status: int = 200) -> None:
        self.reply, self.status = reply, status
        self.requests: list[dict] = []
        self.counter = itertools.count()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append({**body, "authorization": request.headers.get("authorization")})
        if self.status != 200:
            return httpx.Response(self.status, text=f"denied for {request.headers.get('authorization')}")
        if self.reply is not None:
            return chat_reply(self.reply)
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
        return chat_reply(json.dumps(instance(schema, next(self.counter) * 3)))

    @property
    def prompts(self) -> list[str]:
        return [" ".join(m["content"] for m in r["messages"]) for r in self.requests]


class Served:
    """The app around an engine, its fake models by backend name, and its store."""

    def __init__(self, tmp_path: Path, models: dict[str, FakeModel] | None = None, **engine_args) -> None:
        self.models = models or {"generator": FakeModel(), "other": FakeModel()}
        config = pool_config(*({"name": name, "tier": "quality" if name == "other" else "fast"} for name in self.models), attempts=1)
        self.store = engine_for(f"sqlite:///{tmp_path}/store.db")
        pool = BackendPool(config, transport_factory=lambda cfg: httpx.MockTransport(self.models[cfg.name]), book=LedgerBook(self.store))
        self.engine = MockEngine(pool, store=self.store, **engine_args)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(self.engine)), base_url="http://mock.test")

    async def close(self) -> None:
        """Finish what the engine still does in the background, then close the client."""
        await self.engine.drain()
        await self.client.aclose()

    def calls(self, name: str) -> int:
        return len(self.models[name].requests)
