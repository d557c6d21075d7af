"""The mock API server (`apprentice serve`): LLMockApi's surface — `/api/mock/{path}` with a
shape from the query, a header or the body — on apprentice's engine, so every answer is a
validated, realism-checked record, booked in the ledger as an execution of its workflow version.

Plain library (no Prefect): `create_app` builds the ASGI app around a `MockEngine`."""

from apprentice.mockapi.app import create_app
from apprentice.mockapi.engine import Answer, MockEngine
from apprentice.mockapi.limits import Limits
from apprentice.mockapi.openapi import Operation, load_operations
from apprentice.mockapi.request import MockRequest, parse_request

__all__ = ["Answer", "Limits", "MockEngine", "MockRequest", "Operation", "create_app", "load_operations", "parse_request"]
