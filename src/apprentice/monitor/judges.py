"""Tiered AI judges: a fast judge first, slower ones only when it is unsure.

A judge is an ordinary backend from the pool, asked for a structured verdict — status (normal /
suspicious / broken), confidence, reasons. Below `escalate_below[0]` confidence (seed: 0.95) the
quality tier is asked, below `escalate_below[1]` (0.90) the premium tier. A judge that answers
garbage counts as an unsure "suspicious" verdict: it escalates, and never fails the run. Every
judge call is returned (its cost is the run's monitoring cost); the pool books it as monitoring.

With `trust` (what calibration on planted defects measured of each judge backend,
`monitor/calibration.py`), a verdict of a judge measured as unreliable escalates whatever its
confidence, and the final verdict is the trusted one that weighs most; where no judge is
reliable the verdict says so, and the caller decides on its deterministic checks alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

from apprentice.backends.booking import Purpose
from apprentice.backends.pool import BackendPool
from apprentice.backends.types import CallResult, ChatMessage
from apprentice.config import Tier
from apprentice.generation import ask_structured
from apprentice.monitor.options import ESCALATE_BELOW


class Standing(StrEnum):
    """What calibration on planted defects says of a judge backend so far."""

    measuring = "measuring"
    reliable = "reliable"
    unreliable = "unreliable"


class JudgeTrust(NamedTuple):
    """A judge backend's standing and its verdicts' weight."""

    status: Standing
    weight: float


class VerdictStatus(StrEnum):
    normal = "normal"
    suspicious = "suspicious"
    broken = "broken"


SYSTEM = "You monitor a data-generation workflow. Answer with one JSON object and nothing else."


class Verdict(BaseModel):
    status: VerdictStatus
    confidence: float = Field(ge=0, le=1)
    reasons: list[str] = Field(default_factory=list)
    tier: Tier | None = None
    usable: bool = True
    judge: str | None = Field(None, description="the backend that gave it")
    weight: float = Field(0.0, description="the judge's measured discrimination (0 unless trusted)")
    trusted: bool = Field(False, description="from a judge measured as reliable")


VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "status": {"enum": [s.value for s in VerdictStatus]},
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
    escalate_below: tuple[float, float] = ESCALATE_BELOW,
    tiers: tuple[Tier, ...] = tuple(Tier),
    trust: Mapping[str, JudgeTrust] | None = None,
    purpose: Purpose = Purpose.monitoring,
) -> Judgement:
    """Judge one execution's evidence (metrics, findings, sample records, profile) with tiered
    judges. `trust` maps judge backends to their calibrated standing (absent: measuring);
    `purpose` is what the calls are booked as (calibration asks the same question of planted defects)."""
    chain: list[Verdict] = []
    calls: list[CallResult] = []
    for level, tier in enumerate(_staffed(pool, tiers)):
        verdict, call = await ask_structured(
            pool, verdict_messages(evidence), VERDICT_SCHEMA, Verdict, purpose=purpose, stage="judge", tier=tier, max_tokens=200
        )
        if call is not None:
            calls.append(call)
        verdict = verdict or Verdict(
            status=VerdictStatus.suspicious, confidence=0.0, reasons=["the judge's answer was unusable"], usable=False
        )
        verdict.tier, verdict.judge = tier, call.backend if call else None
        standing = (trust or {}).get(verdict.judge or "", JudgeTrust(Standing.measuring, 0.0))
        verdict.trusted = verdict.usable and standing.status == Standing.reliable
        verdict.weight = standing.weight if verdict.trusted else 0.0
        chain.append(verdict)
        if level >= len(escalate_below) or (verdict.confidence >= escalate_below[level] and standing.status != Standing.unreliable):
            break
    final = max((v for v in chain if v.usable), key=lambda v: (v.trusted, v.weight, v.tier.rank if v.tier else 0), default=chain[-1])
    return Judgement(verdict=final, chain=chain, calls=calls)


def _staffed(pool: BackendPool, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
    """The tiers with a judge of their own. A tier without one falls back to another tier's
    backend, so escalating to it would ask the same judge the same question again (on the
    embedded defaults every tier is the one local model)."""
    own = tuple(t for t in tiers if any(b.enabled and b.tier == t for b in pool.config.backends))
    return own or tiers[:1]


def verdict_messages(evidence: dict[str, Any]) -> list[ChatMessage]:
    return [
        ChatMessage(role="system", content=SYSTEM),
        ChatMessage(
            role="user",
            content=(
                "Is this execution of the workflow normal? Compare its metrics with the profile of past "
                "executions, read the findings of the deterministic checks, and look at the sample records: "
                "would a person accept them as real data (fields that agree, text on topic and complete)?\n"
                f"Evidence: {json.dumps(evidence, default=str)[:5000]}\n"
                'Answer {"status": "normal"|"suspicious"|"broken", "confidence": 0..1, "reasons": [up to 3 short strings]}.'
            ),
        ),
    ]
