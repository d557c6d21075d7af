"""Canonical request/response types and the narrow protocol every model adapter implements."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from apprentice.backends.booking import Purpose
from apprentice.config import Tier


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ModelRequest(BaseModel):
    """What a stage asks of a model: messages, and optionally a JSON Schema the answer must fit.

    `stage` and `purpose` are what the pool books the call as (`backends/booking.py`); `purpose`
    None means the purpose of the run it is made in (`booked_as`): a record's stages leave it so,
    since the same stages make a dataset's records, a shadow run's and a canary gate's."""

    messages: list[ChatMessage]
    stage: str = Field(description="what the ledger names the call by: the workflow stage, or judge, diagnosis, proposal...")
    purpose: Purpose | None = Field(None, description="why the call is made, when not its booked run's purpose")
    json_schema: dict[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None


class ModelResponse(BaseModel):
    """What an adapter got back from one HTTP call."""

    text: str
    model: str
    input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)
    finish_reason: str | None = None


class CallResult(BaseModel):
    """One served request, after retries and failover: the answer plus what it cost."""

    backend: str
    model: str
    tier: Tier
    text: str
    latency_s: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
    attempts: int
    finish_reason: str | None = None
    failed_over_from: list[str] = Field(default_factory=list)
    breaker_events: list[str] = Field(default_factory=list)


class ModelClient(Protocol):
    """Sends one request to one model server. Raises `BackendError` on any failure."""

    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    async def aclose(self) -> None: ...
