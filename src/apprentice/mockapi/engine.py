"""The mock API's engine: a parsed request in, a valid answer (or a clear error) out.

It runs on the library's Prefect-free pieces: the request's workflow version runs its pattern
through `dataset.generate_batch` (field plan, validation, realism checks, regeneration), on the
server's one `BackendPool`; `$cache` variants are the batch path's (`variants.py`). A request is
not a Prefect flow run: a cached answer costs a dictionary lookup and no store I/O. A request's
model calls are booked by the pool (purpose mock, under the request's own run id) and its
execution rows by `booking.Bookkeeper`, both off the request path, in batches."""

from __future__ import annotations

import asyncio
import functools
import json
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from apprentice.backends.booking import Purpose, booked_as
from apprentice.backends.pool import BackendPool
from apprentice.dataset import BatchPlan, BatchResult, generate_batch, plan_presets
from apprentice.errors import ShapeError
from apprentice.mockapi.booking import Booking, Bookkeeper
from apprentice.mockapi.context_memory import ContextMemory
from apprentice.mockapi.errors import BadMockRequest, NoValidAnswer
from apprentice.mockapi.limits import Limits
from apprentice.mockapi.openapi import Operation, find_operation
from apprentice.mockapi.request import MockRequest, ShapeSource
from apprentice.mockapi.shape_memory import ShapeMemory
from apprentice.mockapi.variant_cache import VariantCache
from apprentice.mockapi.workflow import SpecResolver
from apprentice.numeric import sample
from apprentice.records import RecordOutcome
from apprentice.shapes.schema import Shape, compile_shape
from apprentice.variants import variant_key_of
from apprentice.workflows import Pattern, StageRole, WorkflowSpec

REQUEST_CHARS = 2_000
"""Characters of a request's own content (body fields, query) shown to the model."""


class Answer(BaseModel):
    """What the server sends back for a mock request."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = Field(default_factory=dict)


@dataclass
class Prepared:
    """A request resolved against the server: its shape, its workflow and what the model is told."""

    request: MockRequest
    shape: Shape
    source: ShapeSource
    spec: WorkflowSpec
    given: dict[str, Any] = field(default_factory=dict)
    hint: str | None = None
    variant_key: str | None = None

    @functools.cached_property
    def run_id(self) -> str:
        """The request's own run: its model calls and execution rows are booked under it. Made
        when first asked for, as a `$cache` hit never does (a uuid4 reads the OS's randomness)."""
        return f"mock-{uuid.uuid4().hex}"

    @property
    def count(self) -> int:
        return self.request.n or 1

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-Workflow-Version": self.spec.key, "X-Shape-Source": self.source.value, **extra}

    def shaped(self, records: list[Any]) -> Any:
        """One record, or an array of them when the client asked for `n`."""
        return records if self.request.n is not None else records[0]


class MockEngine:
    """Answers mock requests; one per server process, on one event loop and one backend pool."""

    def __init__(
        self,
        pool: BackendPool,
        *,
        limits: Limits | None = None,
        workflows_dir: Path | None = None,
        operations: list[Operation] | None = None,
        store: Engine | None = None,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.pool = pool
        self.limits = limits or Limits()
        self.workflows_dir = workflows_dir
        self.operations = operations or []
        self.store = store
        self.shapes = ShapeMemory(self.limits.remembered_paths)
        self.contexts = ContextMemory(self.limits, **({"clock": clock} if clock else {}))
        self.variants = VariantCache(store)
        self.specs = SpecResolver(pool, workflows_dir)
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.bookkeeper = Bookkeeper(store)

    async def answer(self, request: MockRequest) -> Answer:
        """The answer to one request: a simulated error, `$cache` variants, or fresh records."""
        await self._delay(request)
        if request.error is not None:
            return Answer(body=request.error.body(), status=request.error.code, headers=request.error.headers())
        prepared = self.prepare(request)
        if prepared.variant_key is not None:
            hit = self.variants.hit(prepared.variant_key)
            records = await self.variants.serve(prepared.variant_key, prepared.spec, prepared.shape, prepared.count, self._make)
            return Answer(body=prepared.shaped(records), headers=prepared.headers(**{"X-Cache": "hit" if hit else "miss"}))
        batch = await self._generate(prepared, self._plan(prepared))
        records = self._accept(prepared, batch)
        return Answer(body=prepared.shaped(records), headers=prepared.headers())

    async def stream(self, request: MockRequest, whole: bool) -> AsyncIterator[dict[str, Any]]:
        """SSE events: each record as soon as it is valid (or its reason, if it cannot be made
        valid), then a closing event; `whole` sends the complete answer as one event instead."""
        if request.error is not None or whole:
            answer = await self.answer(request)
            yield {"data": answer.body, "done": True} if answer.status == 200 else {**answer.body, "done": True}
            return
        await self._delay(request)
        prepared = self.prepare(request)
        whole_plan = self._plan(prepared)
        pending = [asyncio.ensure_future(self._generate(prepared, item, book=False)) for item in _items(whole_plan)]
        batches: list[BatchResult] = []
        try:
            for finished in asyncio.as_completed(pending):
                batch = await finished
                batches.append(batch)
                yield _item_event(batch.outcomes[0], prepared.count)
        finally:
            for task in pending:
                task.cancel()
        outcomes = sorted((o for b in batches for o in b.outcomes), key=lambda o: o.index)
        await self._book(
            prepared, BatchResult(workflow=prepared.spec.name, version=prepared.spec.version, plan=whole_plan, outcomes=outcomes)
        )
        valid = [o.record for o in outcomes if o.valid]
        if len(valid) == prepared.count:
            self._remember(prepared, prepared.shaped(valid))
        yield {"done": True, "total": prepared.count, "valid": len(valid), "workflow": prepared.spec.key}

    async def _delay(self, request: MockRequest) -> None:
        if request.delay_ms:
            await self._sleep(request.delay_ms / 1000)

    def prepare(self, request: MockRequest) -> Prepared:
        """Resolve the request's shape (given, mounted or remembered) and its workflow; raises
        `BadMockRequest` for anything the client must change."""
        document, source = self._shape_document(request)
        text = json.dumps(document)  # key order is the answer's field order
        shape = compiled(text)
        spec, content_hash = self.specs.resolve(request.path, request.workflow, request.backend)
        if shape.cache_variants:  # variants are made once for every client: no request's content shapes them
            return Prepared(request=request, shape=shape, source=source, spec=spec, variant_key=cache_key(content_hash, text))
        given = _given(shape, request.body)
        hint = _request_hint(request, given, self.contexts.hint(request.context) if request.context else None)
        return Prepared(request=request, shape=shape, source=source, spec=_told(spec, hint) if hint else spec, given=given, hint=hint)

    def _shape_document(self, request: MockRequest) -> tuple[Any, ShapeSource]:
        if request.shape is not None and request.shape_source is not None:
            return request.shape, request.shape_source
        operation = find_operation(self.operations, request.method, request.path)
        if operation is not None:
            return operation.schema_, ShapeSource.openapi
        remembered = self.shapes.recall(request.path)
        if remembered is not None:
            return remembered, ShapeSource.remembered
        raise BadMockRequest(f"no shape for /{request.path}: give ?shape=, an X-Response-Shape header or a body with `shape`")

    def _plan(self, prepared: Prepared) -> BatchPlan:
        return request_plan(prepared, self._rng.getrandbits(31))

    async def _generate(self, prepared: Prepared, plan: BatchPlan, *, book: bool = True) -> BatchResult:
        """The plan's records; the pool books their calls as the request's (purpose mock); `book`
        queues the request's execution rows (a stream books once, for all its items)."""
        with booked_as(Purpose.mock, workflow=prepared.spec.name, version=prepared.spec.version, run_id=prepared.run_id):
            batch = await generate_batch(
                self.pool,
                prepared.spec,
                prepared.shape,
                plan,
                concurrency=self.limits.concurrency,
                record_attempts=self.limits.record_attempts,
            )
        if book:
            await self._book(prepared, batch)
        return batch

    async def _make(self, spec: WorkflowSpec, shape: Shape, count: int) -> list[Any]:
        """`$cache` variants made for the first time: a batch like any other, booked, and all valid."""
        prepared = Prepared(request=MockRequest(method="GET", path="", n=count), shape=shape, source=ShapeSource.body, spec=spec)
        batch = await self._generate(prepared, request_plan(prepared, 0))  # seed 0, as the batch path makes them
        return self._valid_records(batch)

    def _accept(self, prepared: Prepared, batch: BatchResult) -> list[Any]:
        records = self._valid_records(batch)
        self._remember(prepared, prepared.shaped(records))
        return records

    def _valid_records(self, batch: BatchResult) -> list[Any]:
        """Every record of the batch, or `NoValidAnswer` naming why: never a partial or bad body."""
        failed = [o for o in batch.outcomes if not o.valid]
        if not failed:
            return [o.record for o in sorted(batch.outcomes, key=lambda o: o.index)]
        outage = any(o.unmade for o in failed)
        reasons = [{"index": o.index, "reason": o.reason} for o in failed]
        what = "no backend could answer" if outage else f"{len(failed)} of {len(batch.outcomes)} records could not be made valid"
        raise NoValidAnswer(f"{what}: {failed[0].reason}", status=503 if outage else 502, extra={"reasons": reasons})

    def _remember(self, prepared: Prepared, answer: Any) -> None:
        if prepared.source in (ShapeSource.query, ShapeSource.header, ShapeSource.body):
            self.shapes.remember(prepared.request.path, prepared.request.shape)
        if prepared.request.context:
            self.contexts.add(prepared.request.context, prepared.request.path, answer)

    async def _book(self, prepared: Prepared, batch: BatchResult) -> None:
        await self.bookkeeper.submit(Booking(prepared.spec, batch, prepared.shape.json_schema, prepared.run_id))

    async def drain(self) -> None:
        """Wait until the ledger and execution rows of every answered request are written."""
        await self.bookkeeper.flush()
        await self.pool.flush_calls()

    async def close(self) -> None:
        """At shutdown: book everything still queued, then stop the booking writer (the pool's
        book of calls is written by now too; closing the pool closes it)."""
        await self.bookkeeper.close()
        await self.pool.flush_calls()


def request_plan(prepared: Prepared, seed: int) -> BatchPlan:
    """The request's records as one batch, each with its given values (sampled fields, the
    statistics path's numbers, and what the client set in the body)."""
    total = prepared.count
    numeric = (
        sample(prepared.spec.statistics, total, seed)[0]
        if prepared.spec.pattern is Pattern.statistics and prepared.spec.statistics
        else None
    )
    _, presets = plan_presets(prepared.spec, prepared.shape, total, seed, numeric)
    if prepared.given:
        presets = [{**(row or {}), **prepared.given} for row in (presets or [{}] * total)]
    return BatchPlan(index=0, start=0, count=total, seed=seed, total=total, presets=presets)


def _items(plan: BatchPlan) -> list[BatchPlan]:
    """The plan as one batch per record, so each can be streamed as soon as it is valid."""
    return [
        plan.model_copy(update={"start": i, "count": 1, "presets": [plan.presets[i]] if plan.presets else None}) for i in range(plan.count)
    ]


@functools.lru_cache(maxsize=256)
def compiled(document: str) -> Shape:
    """The shape of a document (its JSON text), checked and compiled once per distinct text:
    walking it for outside references and checking a schema against its metaschema cost more
    than a whole `$cache` hit may take. Raises `BadMockRequest` (never cached) for a bad shape."""
    parsed = json.loads(document)
    if (ref := outside_ref(parsed)) is not None:
        raise BadMockRequest(f"bad shape: $ref {json.dumps(ref)[:200]} points outside the shape; only #/... references are followed")
    try:
        return compile_shape(parsed)
    except ShapeError as exc:
        raise BadMockRequest(f"bad shape: {exc}") from None


@functools.lru_cache(maxsize=256)
def cache_key(content_hash: str, document: str) -> str:
    """The `$cache` variants' key (`variants.variant_key_of`) of a spec's content hash and a shape
    document's text, hashed once per pair: hashing the schema again on every hit was about a
    twelfth of its CPU."""
    return variant_key_of(content_hash, compiled(document))


def outside_ref(node: Any) -> Any:
    """The first `$ref` that is not a pointer into the document itself (a file, a URL), or None."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref is not None and not (isinstance(ref, str) and ref.startswith("#")):
            return ref
        node = list(node.values())
    if isinstance(node, list):
        return next((found for item in node if (found := outside_ref(item)) is not None), None)
    return None


def _given(shape: Shape, body: dict[str, Any]) -> dict[str, Any]:
    """Body fields that are top-level fields of the shape: the client has set them (an enrich
    step passing on what the generate step made); the model writes the rest to agree."""
    props = shape.json_schema.get("properties") if isinstance(shape.json_schema, dict) else None
    return {k: v for k, v in body.items() if isinstance(props, dict) and k in props}


def _request_hint(request: MockRequest, given: dict[str, Any], context: str | None) -> str | None:
    """What the model is told about the request, as LLMockApi tells it: the method and path,
    the body's other fields and the query; and the context's earlier answers."""
    content = {k: v for k, v in request.body.items() if k not in given}
    parts = [f"This answers {request.method} /{request.path}."]
    if content or request.query:
        parts.append("The request carried: " + json.dumps({**request.query, **content}, ensure_ascii=False, default=str)[:REQUEST_CHARS])
    if context:
        parts.append(context)
    return " ".join(parts) if len(parts) > 1 else None


def _told(spec: WorkflowSpec, hint: str) -> WorkflowSpec:
    """The spec with `hint` appended to every model-facing stage's prompt (judges excepted)."""
    stages = [
        s.model_copy(update={"prompt": f"{s.prompt or ''}\n{hint}".strip()}) if s.role is not StageRole.judge else s for s in spec.stages
    ]
    routes = {tier: _told(route, hint) for tier, route in spec.routes.items()}
    return spec.model_copy(update={"stages": stages, "routes": routes})


def _item_event(outcome: RecordOutcome, total: int) -> dict[str, Any]:
    if outcome.valid:
        return {"data": outcome.record, "index": outcome.index, "total": total, "done": False}
    return {
        "error": {"code": 503 if outcome.unmade else 502, "message": outcome.reason},
        "index": outcome.index,
        "total": total,
        "done": False,
    }
