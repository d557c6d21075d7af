"""The result of generating one record through a workflow: the record and what it took."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from apprentice.backends.types import CallResult
from apprentice.generation import StageMetrics


class RecordOutcome(BaseModel):
    """One record: valid, or not with the reason. Carries per-stage metrics and every call made."""

    index: int
    record: Any = None
    valid: bool = False
    reason: str | None = None
    stages: list[StageMetrics] = Field(default_factory=list)
    calls: list[CallResult] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict, description="pattern-specific facts (tier, score, votes)")

    @property
    def cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.stages)

    @property
    def tokens(self) -> int:
        return sum(s.input_tokens + s.output_tokens for s in self.stages)
