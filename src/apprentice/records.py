"""The result of generating one record through a workflow: the record and what it took."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from apprentice.backends.types import CallResult
from apprentice.generation import BACKEND_FAILURES, StageMetrics
from apprentice.rules import UniqueIndex
from apprentice.seeddata import ABOUT


class FailureKind(StrEnum):
    """Why a record is not in the output. Content failures may stay rejected; a record that no
    backend could make, or that was not made in time, was never judged on its merits, so it is
    *unmade*: its batch is not finished and a rerun makes it."""

    content = "content"
    backend = "backend"
    timed_out = "timed_out"
    """The record used up the spec's `record_timeout_s` (a busy or slow backend, usually): not made
    in time, so a rerun tries it again; a record that keeps timing out asks for a larger budget."""

    @property
    def unmade(self) -> bool:
        """The record was not made (rather than made and rejected): a rerun makes it."""
        return self is not FailureKind.content


class RecordOutcome(BaseModel):
    """One record: valid, or not with the reason. Carries per-stage metrics and every call made."""

    index: int
    record: Any = None
    valid: bool = False
    reason: str | None = None
    stages: list[StageMetrics] = Field(default_factory=list)
    calls: list[CallResult] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict, description="pattern-specific facts (tier, score, votes)")
    failure: FailureKind | None = Field(None, description="set on an invalid record: content, or no backend could make it")

    @property
    def cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.stages)

    @property
    def tokens(self) -> int:
        return sum(s.input_tokens + s.output_tokens for s in self.stages)

    @property
    def seconds(self) -> float:
        return sum(s.latency_s for s in self.stages)

    @property
    def quality(self) -> float:
        return first_pass_quality(self.valid, sum(s.corrections for s in self.stages))

    @property
    def unmade(self) -> bool:
        """Not made (no backend could, or not in time), as opposed to made and rejected."""
        return self.failure is not None and self.failure.unmade

    @property
    def refused_for_realism(self) -> bool:
        """Made valid for its schema, then refused by the realism checks (`realistic._refused`):
        the nearest miss a rejected record can be."""
        return bool(self.meta.get("realism_defects")) and self.record is not None


def failure_of(outcome: RecordOutcome) -> FailureKind | None:
    """Content or backend: a stage that ended on a backend failure means the record was not made."""
    if outcome.valid:
        return None
    if any(m.error_class in BACKEND_FAILURES for m in outcome.stages):
        return FailureKind.backend
    return FailureKind.content


def first_pass_quality(valid: bool, corrections: int) -> float:
    """1 for a value valid at once, 1/(1+k) after k corrections, 0 if never valid."""
    return 1.0 / (1 + corrections) if valid else 0.0


@dataclass
class RepairOdds:
    """Which way to mend a record with a realism defect costs fewer tokens per clean record: a
    correction prompt or a fresh attempt. Counted over a run's records, it starts by correcting
    (as for a schema failure) and keeps correcting only while that pays: on SmolLM2-135M a
    correction of a product description rarely fixed it, and each failed one cost a call with
    the whole record in its prompt before the record was made afresh anyway."""

    TRIES_FIRST = 5
    """Corrections tried before their odds are trusted."""
    EXPLORE_EVERY = 10
    """While corrections do not pay, every tenth is tried anyway, so the odds can change their mind
    (the last-chance corrections alone are of the hardest records)."""

    fresh_tries: int = 0
    fresh_clean: int = 0
    fresh_tokens: int = 0
    correction_tries: int = 0
    correction_clean: int = 0
    correction_tokens: int = 0
    skipped: int = 0
    """Corrections not made because a fresh attempt was cheaper."""

    def fresh(self, *, clean: bool, tokens: int) -> None:
        """A fresh attempt at a record ended: `clean` if it was valid with no realism defect."""
        self.fresh_tries += 1
        self.fresh_clean += clean
        self.fresh_tokens += tokens

    def corrected(self, *, clean: bool, tokens: int) -> None:
        """A correction of a record's realism defects ended: `clean` if none was left."""
        self.correction_tries += 1
        self.correction_clean += clean
        self.correction_tokens += tokens

    def correction_pays(self) -> bool:
        """Clean records per token: a correction's (Laplace-smoothed) against a fresh attempt's."""
        if self.correction_tries < self.TRIES_FIRST or not self.fresh_tries:
            return True
        correction = _clean_per_token(self.correction_clean, self.correction_tries, self.correction_tokens)
        return correction >= _clean_per_token(self.fresh_clean, self.fresh_tries, self.fresh_tokens)

    def should_correct(self) -> bool:
        """Whether to correct a record's realism defects now (else it is made afresh)."""
        if self.correction_pays():
            return True
        self.skipped += 1
        return self.skipped % self.EXPLORE_EVERY == 0


def _clean_per_token(clean: int, tries: int, tokens: int) -> float:
    """Clean records per token spent, the rate Laplace-smoothed (one of two before any try)."""
    return (clean + 1) / (tries + 2) / max(1.0, tokens / tries)


@dataclass
class RecordContext:
    """What a record's pattern may need beyond the spec: the batch it belongs to (for uniqueness
    rules), the dataset size (for complexity routing) and numbers fixed in advance (statistics)."""

    n: int = 1
    unique: UniqueIndex = field(default_factory=UniqueIndex)
    presets: dict[int, dict[str, Any]] = field(default_factory=dict)
    realism: Any = None
    """The batch's `realism.DatasetChecker`: duplicate identifiers and near-duplicate texts."""
    repairs: RepairOdds = field(default_factory=RepairOdds)
    """How realism defects are best mended in this run (`RepairOdds`)."""
    routed: dict[int, list[str]] = field(default_factory=dict)
    """Routed pattern: the tiers each record's earlier attempts were routed to and failed on, so a
    cascade escalates when the record is made again."""

    def given(self, index: int) -> dict[str, Any]:
        """The values fixed for record `index` before any model call (sampled, derived, drawn or
        read from its seed row)."""
        return {k: v for k, v in (self.presets.get(index) or {}).items() if k != ABOUT}

    def about(self, index: int) -> dict[str, Any]:
        """What record `index` is about beyond its fields: its seed row's other columns."""
        return dict((self.presets.get(index) or {}).get(ABOUT) or {})
