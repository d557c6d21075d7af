"""Errors a mock request answers with instead of a body: each is an HTTP status and one line."""

from __future__ import annotations

from typing import Any

from apprentice.errors import ApprenticeError


class MockHttpError(ApprenticeError):
    """A request the server answers with `status` and a JSON error (`{"error": {...}}`)."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status or type(self).status
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.status, "message": str(self), **self.extra}}


class BadMockRequest(MockHttpError):
    """The request itself is wrong: a shape that is not JSON, an unknown backend, n out of range."""

    status = 400


class TooLarge(MockHttpError):
    status = 413


class NoValidAnswer(MockHttpError):
    """The backends answered, but no answer could be made valid for the shape (502), or no
    backend answered at all (503). Never a silent bad body."""

    status = 502
