"""A mock request, parsed: where its shape comes from (LLMockApi's precedence: `?shape=`, then
the `X-Response-Shape` header, then the body's `shape`), which backend or workflow serves it,
how many records, which context, and what to simulate (an error, latency)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from apprentice.mockapi.errors import BadMockRequest, TooLarge
from apprentice.mockapi.limits import Limits
from apprentice.mockapi.simulation import ErrorSimulation, delay_of, error_of

BODY_KEYS = {"shape", "context", "apiContext"}
"""Body fields that steer the server rather than describe the request's content."""


class ShapeSource(StrEnum):
    query = "query"
    header = "header"
    body = "body"
    remembered = "remembered"
    openapi = "openapi"


class MockRequest(BaseModel):
    """Everything the server needs from one HTTP request to `/api/mock/{path}`."""

    method: str
    path: str = Field(description="the path after /api/mock/, without slashes at either end")
    shape: Any = None
    shape_source: ShapeSource | None = None
    backend: str | None = Field(None, description="X-LLM-Backend / ?backend=: a backend of the pool or a tier")
    workflow: str | None = Field(None, description="X-Workflow / ?workflow=: a spec file's name in the workflow directory")
    n: int | None = Field(None, description="?n=: an array of n records instead of one")
    context: str | None = None
    error: ErrorSimulation | None = None
    delay_ms: int = 0
    body: dict[str, Any] = Field(default_factory=dict, description="the body's own fields (not shape or context)")
    query: dict[str, str] = Field(default_factory=dict, description="query parameters that are not the server's own")


SERVER_PARAMS = {"shape", "backend", "workflow", "n", "context", "api-context", "error", "errorMessage", "errorDetails", "delay", "mode"}


def parse_request(method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes, limits: Limits) -> MockRequest:
    """Read a request; raises `BadMockRequest` (400) or `TooLarge` (413) with one line."""
    document = _body_document(body)
    shape, source = _shape(query, headers, document, limits)
    shape, in_shape_error = _split_error(shape)
    context = (
        query.get("context") or query.get("api-context") or headers.get("x-api-context") or _body_str(document, "context", "apiContext")
    )
    return MockRequest(
        method=method.upper(),
        path=path.strip("/"),
        shape=shape,
        shape_source=source,
        backend=query.get("backend") or headers.get("x-llm-backend") or None,
        workflow=query.get("workflow") or headers.get("x-workflow") or None,
        n=_count(query.get("n"), limits),
        context=context or None,
        error=error_of(query, headers, in_shape_error),
        delay_ms=delay_of(query, headers, limits),
        body={k: v for k, v in document.items() if k not in BODY_KEYS} if isinstance(document, dict) else {},
        query={k: v for k, v in query.items() if k not in SERVER_PARAMS},
    )


def _body_document(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # a body that is not JSON is not the server's business (as in LLMockApi)


def _shape(query: Mapping[str, str], headers: Mapping[str, str], document: Any, limits: Limits) -> tuple[Any, ShapeSource | None]:
    for text, source in ((query.get("shape"), ShapeSource.query), (headers.get("x-response-shape"), ShapeSource.header)):
        if text:
            if len(text) > limits.max_shape_chars:
                raise TooLarge(f"the shape from the {source.value} has {len(text)} characters; the limit is {limits.max_shape_chars}")
            try:
                return json.loads(text), source
            except json.JSONDecodeError as exc:
                raise BadMockRequest(f"the shape from the {source.value} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if isinstance(document, dict) and document.get("shape") is not None:
        if len(json.dumps(document["shape"])) > limits.max_shape_chars:
            raise TooLarge(f"the body's shape is over {limits.max_shape_chars} characters")
        return document["shape"], ShapeSource.body
    return None, None


def _split_error(shape: Any) -> tuple[Any, Any]:
    """A shape's `$error` is a simulation, not a field: taken out before the shape is compiled."""
    if isinstance(shape, dict) and "$error" in shape:
        return {k: v for k, v in shape.items() if k != "$error"}, shape["$error"]
    return shape, None


def _body_str(document: Any, *keys: str) -> str | None:
    if not isinstance(document, dict):
        return None
    return next((document[k] for k in keys if isinstance(document.get(k), str) and document[k].strip()), None)


def _count(text: str | None, limits: Limits) -> int | None:
    if text is None or text == "":
        return None
    try:
        n = int(text)
    except ValueError:
        raise BadMockRequest(f"n must be a whole number, got {text!r}") from None
    if not 1 <= n <= limits.max_n:
        raise BadMockRequest(f"n must be between 1 and {limits.max_n}, got {n}")
    return n
