"""The ASGI app: `/api/mock/{path}` (any of GET, POST, PUT, PATCH, DELETE) answers with records
valid for the request's shape; `/api/mock/stream/{path}` streams them as server-sent events;
`/api/health`, `/api/shapes`, `/api/contexts` and `/api/operations` manage the server and need
the API key when one is set. Errors are JSON (`{"error": {"code", "message"}}`), keys redacted."""

from __future__ import annotations

import functools
import json
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers, QueryParams
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from apprentice.mockapi.engine import MockEngine
from apprentice.mockapi.errors import MockHttpError, TooLarge
from apprentice.mockapi.redaction import Redactor
from apprentice.mockapi.request import MockRequest, parse_request

log = logging.getLogger("apprentice.mockapi")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
MOCK_PREFIX = "/api/mock/"


def create_app(engine: MockEngine, *, api_key: str | None = None, redactor: Redactor | None = None) -> Starlette:
    """The server's app around one engine; with `api_key`, every route but the mock ones needs it
    (`X-Api-Key: KEY` or `Authorization: Bearer KEY`)."""
    redact = redactor or Redactor.for_pool(engine.pool.config, api_key)

    def error(exc: MockHttpError, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(json.loads(redact(json.dumps(exc.body()))), status_code=exc.status, headers=headers)

    async def mock(request: Request) -> Response:
        try:
            parsed = await _parse(request, engine)
            answer = await engine.answer(parsed)
        except MockHttpError as exc:
            return error(exc)
        return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)

    async def stream(request: Request) -> Response:
        try:
            parsed = await _parse(request, engine)
            if parsed.error is None:
                engine.prepare(parsed)  # a bad shape or workflow is a 400, before the stream opens
        except MockHttpError as exc:
            return error(exc)
        whole = request.query_params.get("mode", "items") in ("object", "whole")
        return StreamingResponse(
            _sse(engine.stream(parsed, whole), redact), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    routes = [
        Route(MOCK_PREFIX + "stream/{path:path}", stream, methods=METHODS),
        Route(MOCK_PREFIX + "{path:path}", mock, methods=METHODS),
        *management_routes(engine),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(ApiKeyMiddleware, api_key=api_key)],
        exception_handlers={Exception: _server_error},
        lifespan=_lifespan(engine),
    )


async def _server_error(_: Request, exc: Exception) -> Response:
    """A fault of this server, not of the request: JSON like every other error, naming only the
    exception's type (its message may quote a record or a backend's answer); the traceback is
    in the server's log."""
    log.error("internal error answering a request", exc_info=exc)
    return JSONResponse(_internal_error(exc), status_code=500)


def _internal_error(exc: Exception) -> dict[str, Any]:
    return {"error": {"code": 500, "message": f"internal error ({type(exc).__name__}); see the server's log"}}


async def _parse(request: Request, engine: MockEngine) -> MockRequest:
    body = await read_body(request, engine.limits.max_body_bytes)
    path = request.path_params["path"]
    return parse_request(request.method, path, query_of(request.scope["query_string"]), request.headers, body, engine.limits)


REMEMBERED_QUERY_BYTES = 8_192
"""Query strings up to this size are parsed once (`query_of`); longer ones every time."""


def query_of(raw: bytes) -> dict[str, str]:
    """The query parameters (the last value of a repeated name, as `dict(request.query_params)`
    gives). A `$cache` client sends the same URL-encoded shape again and again, and decoding it
    was a fifth of a hit's CPU, so a short query string is parsed once; each caller gets a copy."""
    if len(raw) > REMEMBERED_QUERY_BYTES:
        return dict(QueryParams(raw))
    return dict(_parsed_query(raw))


@functools.lru_cache(maxsize=256)
def _parsed_query(raw: bytes) -> dict[str, str]:
    return dict(QueryParams(raw))


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` bytes (whatever Content-Length says)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the request body has {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _sse(events: AsyncIterator[dict[str, Any]], redact: Redactor) -> AsyncIterator[str]:
    try:
        async for event in events:
            text = json.dumps(event, ensure_ascii=False, default=str)
            yield f"data: {redact(text) if 'error' in event else text}\n\n"
    except MockHttpError as exc:
        yield f"data: {redact(json.dumps({**exc.body(), 'done': True}))}\n\n"
    except Exception as exc:  # the stream has begun, so the exception handler cannot answer: the last event says it
        log.error("internal error while streaming", exc_info=exc)
        yield f"data: {json.dumps({**_internal_error(exc), 'done': True})}\n\n"


def management_routes(engine: MockEngine) -> list[Route]:
    """What the server remembers and serves, for its operator."""

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "backends": {name: state.value for name, state in engine.pool.health().items()}})

    async def shapes(request: Request) -> Response:
        if request.method == "DELETE":
            return JSONResponse({"forgotten": engine.shapes.forget(request.path_params.get("path", ""))})
        return JSONResponse(engine.shapes.items())

    async def contexts(request: Request) -> Response:
        if request.method == "DELETE":
            return JSONResponse({"forgotten": engine.contexts.forget(request.path_params.get("name", ""))})
        return JSONResponse(engine.contexts.names())

    async def operations(_: Request) -> Response:
        return JSONResponse([{"method": op.method, "path": op.template, "operation_id": op.operation_id} for op in engine.operations])

    return [
        Route("/api/health", health),
        Route("/api/shapes", shapes),
        Route("/api/shapes/{path:path}", shapes, methods=["DELETE"]),
        Route("/api/contexts", contexts),
        Route("/api/contexts/{name}", contexts, methods=["DELETE"]),
        Route("/api/operations", operations),
    ]


class ApiKeyMiddleware:
    """Every route outside `/api/mock/` needs the key when the server has one (plain ASGI, so
    the mock routes pay nothing for it)."""

    def __init__(self, app: ASGIApp, api_key: str | None = None) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self.api_key
            and not scope["path"].startswith(MOCK_PREFIX)
            and not self._allowed(Headers(scope=scope))
        ):
            response = JSONResponse(
                {"error": {"code": 401, "message": "this route needs the server's API key (X-Api-Key)"}}, status_code=401
            )
            return await response(scope, receive, send)
        await self.app(scope, receive, send)

    def _allowed(self, headers: Headers) -> bool:
        given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        assert self.api_key is not None  # asked only when the server has a key
        return secrets.compare_digest(given.encode(), self.api_key.encode())


def _lifespan(engine: MockEngine):
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await engine.close()
            await engine.pool.aclose()

    return lifespan
