"""Simulated failures and latency, as LLMockApi offers them: an error status from `?error=`
(with `errorMessage`, `errorDetails`), the `X-Error-Code` header (`X-Error-Message`,
`X-Error-Details`) or `$error` in the shape (a code, or `{code, message, details}`), in that
order; a delay from `?delay=MS` or `X-Delay-Ms`, or a range `MIN-MAX` drawn uniformly."""

from __future__ import annotations

import random
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, Field

from apprentice.mockapi.errors import BadMockRequest
from apprentice.mockapi.limits import Limits


class ErrorSimulation(BaseModel):
    """An error the client asked to receive instead of data."""

    code: int = Field(ge=400, le=599)
    message: str | None = None
    details: str | None = None

    def body(self) -> dict[str, Any]:
        try:
            default = HTTPStatus(self.code).phrase
        except ValueError:
            default = f"Error {self.code}"
        error: dict[str, Any] = {"code": self.code, "message": self.message or default}
        if self.details:
            error["details"] = self.details
        return {"error": error}

    def headers(self) -> dict[str, str]:
        """A simulated 429 or 503 says when to come back, as a real rate limiter would."""
        return {"Retry-After": "1"} if self.code in (429, 503) else {}


def error_of(query: Mapping[str, str], headers: Mapping[str, str], in_shape: Any) -> ErrorSimulation | None:
    if query.get("error"):
        return _simulation(query["error"], query.get("errorMessage"), query.get("errorDetails"), "?error=")
    if headers.get("x-error-code"):
        return _simulation(headers["x-error-code"], headers.get("x-error-message"), headers.get("x-error-details"), "X-Error-Code")
    if in_shape is None:
        return None
    if isinstance(in_shape, dict):
        return _simulation(in_shape.get("code"), in_shape.get("message"), in_shape.get("details"), "the shape's $error")
    return _simulation(in_shape, None, None, "the shape's $error")


def _simulation(code: Any, message: Any, details: Any, where: str) -> ErrorSimulation:
    try:
        status = int(code)
    except (TypeError, ValueError):
        raise BadMockRequest(f"{where} must be an HTTP error status (400-599), got {code!r}") from None
    if not 400 <= status <= 599:
        raise BadMockRequest(f"{where} must be an HTTP error status (400-599), got {status}")
    return ErrorSimulation(code=status, message=_text(message), details=_text(details))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:500]


def delay_of(query: Mapping[str, str], headers: Mapping[str, str], limits: Limits, rng: random.Random | None = None) -> int:
    """Milliseconds to wait before answering: a number, or `MIN-MAX` drawn uniformly."""
    text = query.get("delay") or headers.get("x-delay-ms")
    if not text:
        return 0
    low, _, high = text.partition("-")
    try:
        bounds = (int(low), int(high or low))
    except ValueError:
        raise BadMockRequest(f"delay must be milliseconds or MIN-MAX, got {text!r}") from None
    if not 0 <= bounds[0] <= bounds[1] <= limits.max_delay_ms:
        raise BadMockRequest(f"delay must lie within 0-{limits.max_delay_ms} ms, got {text!r}")
    return (rng or random).randint(*bounds)
