"""Errors a user sees. Each renders as one line that says what is wrong and what to do."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # dataset.py imports this module
    from apprentice.dataset import DatasetSummary

_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


class ApprenticeError(Exception):
    """Base of every error apprentice raises on purpose; `str()` is a one-line explanation.

    Messages quote what the user wrote (keys, paths, parser errors), which may hold line breaks:
    they are folded here, so every error renders as one line wherever it is printed or logged."""

    def __str__(self) -> str:
        return _LINE_BREAKS.sub(" ", super().__str__()).strip()


class ConfigError(ApprenticeError):
    """The settings or the backend file cannot be used as written."""


class ShapeError(ApprenticeError):
    """A shape (example document or JSON Schema) is malformed or not a valid schema."""


class ShapeTooLargeError(ShapeError):
    """No backend the workflow may use can take the shape in one call (its context is too small)."""


class UnsatisfiableSchemaError(ShapeError):
    """No JSON document can satisfy the schema, so no model is called."""


class UnknownBackendError(ConfigError):
    """A request named a backend that the pool does not have."""


class MissingApiKeyError(ConfigError):
    """A backend needs an API key from an environment variable that is not set."""


class BackendErrorKind(StrEnum):
    """Why a backend failed, as a kind callers branch on instead of parsing messages."""

    timeout = "timeout"
    unreachable = "unreachable"
    http_status = "http_status"
    """Any other HTTP error status (`status` holds it)."""
    rate_limited = "rate_limited"
    auth = "auth"
    schema_rejected = "schema_rejected"
    """The server refused a request that carried a JSON Schema (400/422/500): asking again
    without the schema may work, with validation and correction doing the rest."""
    bad_body = "bad_body"
    server_died = "server_died"


class BackendError(ApprenticeError):
    """A model backend failed to answer. `retryable` says whether another try may succeed."""

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        kind: BackendErrorKind = BackendErrorKind.unreachable,
        status: int | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.backend = backend
        self.kind = kind
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class BackendUnavailableError(ApprenticeError):
    """Every backend that could serve a request failed or has its circuit open. `errors` holds
    each backend's own failure, so callers branch on their kinds."""

    def __init__(self, message: str, errors: list[BackendError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []

    @property
    def kinds(self) -> set[BackendErrorKind]:
        return {e.kind for e in self.errors}


class LocalServerError(ApprenticeError):
    """The embedded llama.cpp server cannot be found, started or reached."""


class RunIncomplete(ApprenticeError):
    """A dataset run delivered fewer valid records than asked because backends failed, or none at
    all. The records it made are written; `summary` says what was made."""

    # `summary` keeps its default: an exception is unpickled (Prefect results, other processes) by
    # calling the class with its message alone, then restoring its attributes.
    def __init__(self, message: str, summary: DatasetSummary | None = None) -> None:
        super().__init__(message)
        self.summary = summary


class OutputError(ApprenticeError):
    """The run's files could not be written: a full disk, a quota, a read-only folder. Its
    temporary files are removed (freeing what they took); what the run made is kept for the rerun:
    finished batches in the result cache, the records of unfinished ones in the store."""
