"""Tiered AI judges: a fast judge first, slower ones only when it is unsure.

A judge is an ordinary backend from the pool, asked for a structured verdict — status (normal /
suspicious / broken), confidence, reasons. Below `escalate_below[0]` confidence (seed: 0.95) the
quality tier is asked, below `escalate_below[1]` (0.90) the premium tier. A judge that answers
garbage counts as an unsure "suspicious" verdict: it escalates, and never fails the run. Every
judge call is returned so it can be booked as monitoring cost, apart from generation.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from apprentice.backends.pool import BackendPool
from apprentice.backends.types import CallResult, ChatMessage
from apprentice.config import Tier
from apprentice.generation import ask_structured

SYSTEM = "You monitor a data-generation workflow. Answer with one JSON object and nothing else."


class Verdict(BaseModel):
    status: Literal["normal", "suspicious", "broken"]
    confidence: float = Field(ge=0, le=1)
    reasons: list[str] = Field(default_factory=list)
    tier: Tier | None = None
    usable: bool = True


VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "status": {"enum": ["normal", "suspicious", "broken"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "reasons": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
    "required": ["status", "confidence", "reasons"],
}


class Judgement(BaseModel):
    """The final verdict, every verdict on the way, and the calls they cost."""

    verdict: Verdict
    chain: list[Verdict]
    calls: list[CallResult]


async def judge_execution(
    pool: BackendPool,
    evidence: dict[str, Any],
    *,
    escalate_below: tuple[float, float] = (0.95, 0.90),
    tiers: tuple[Tier, ...] = (Tier.fast, Tier.quality, Tier.premium),
) -> Judgement:
    """Judge one execution's evidence (metrics, sample records, profile) with tiered judges."""
    chain: list[Verdict] = []
    calls: list[CallResult] = []
    for level, tier in enumerate(tiers):
        verdict, call = await ask_structured(pool, verdict_messages(evidence), VERDICT_SCHEMA, Verdict, tier=tier, max_tokens=200)
        if call is not None:
            calls.append(call)
        verdict = verdict or Verdict(status="suspicious", confidence=0.0, reasons=["the judge's answer was unusable"], usable=False)
        verdict.tier = tier
        chain.append(verdict)
        if level >= len(escalate_below) or verdict.confidence >= escalate_below[level]:
            break
    final = max((v for v in chain if v.usable), key=lambda v: (v.tier.rank if v.tier else 0), default=chain[-1])
    return Judgement(verdict=final, chain=chain, calls=calls)


def verdict_messages(evidence: dict[str, Any]) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content=SYSTEM),
        ChatMessage(role="user", content=(
            "Is this execution of the workflow normal? Compare its metrics with the profile of past "
            "executions and look at the sample records.\n"
            f"Evidence: {json.dumps(evidence, default=str)[:5000]}\n"
            'Answer {"status": "normal"|"suspicious"|"broken", "confidence": 0..1, "reasons": [up to 3 short strings]}.'
        )),
    ]  # fmt: skip
