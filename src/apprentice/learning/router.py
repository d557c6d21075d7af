"""Learned routing: per request class and tier, what records routed there became; a policy that
picks the cheapest path predicted to pass.

Policies (`workflows.RoutingPolicy`): `static` is complexity routing (`patterns/routed.py`);
`cascade` starts every record on the cheapest tier and escalates one tier after each failed
attempt, learning nothing; `learned` keeps a Beta posterior of each (class, tier)'s pass rate
(a pass: valid and realism-clean at the pattern's final check; its prior, the tier's pass rate over
every class), draws a pass rate from each
(Thompson sampling: a tier little tried is sometimes drawn high, so it gets tried) and takes the
cheapest tier whose draw reaches `PASS_TARGET`, else the one drawn highest; a record that failed
is made again above the tiers it failed on (the cascade's escalation). Tiers are taken to cost
more as they rank higher, as the pool's failover assumes. With `target_premium_share`
(RouteLLM's calibration), premium is the first choice exactly when a request's need (one minus the
cheapest tier's mean pass rate on its class) ranks in that top share of recent requests' needs.
Every decision carries its reason; outcomes come back after each record's close (`record`).
"""

from __future__ import annotations

import bisect
import random
import threading
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from pydantic import BaseModel, Field

from apprentice.config import Tier
from apprentice.learning.scoped import Scoped
from apprentice.workflows import RoutingPolicy

PASS_TARGET = 0.8
"""The pass rate a tier must be drawn at to be predicted to pass (first time, valid and realistic)."""
PRIOR_WEIGHT = 2.0
"""How many records' worth a tier's pass rate over every class counts for, as the prior of a class
it has not seen much of: a new class starts from what the tier does elsewhere, not from a coin."""
CALIBRATION_MIN = 20
"""Needs seen before the premium threshold is calibrated (before: premium only when cheapest)."""


class PathStats(BaseModel):
    """What records of one class became on one tier (sums, so runs and processes add up)."""

    trials: int = 0
    passes: int = Field(0, description="valid and realism-clean at the pattern's final check")
    valid: int = 0
    realistic: int = Field(0, description="valid records with no realism defect")
    latency_s: float = 0.0
    cost_usd: float = 0.0

    @property
    def pass_rate(self) -> float:
        """The posterior mean of the pass rate (Beta(1, 1) prior)."""
        return (1 + self.passes) / (2 + self.trials)

    def mean(self, total: float) -> float:
        return total / self.trials if self.trials else 0.0

    def add(self, other: PathStats) -> None:
        for name in PathStats.model_fields:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Observation(BaseModel):
    """One record's attempt on a route, fed back after the pattern's final check."""

    class_key: str
    tier: Tier
    valid: bool
    realistic: bool
    latency_s: float = 0.0
    cost_usd: float = 0.0

    def stats(self) -> PathStats:
        passed = self.valid and self.realistic
        return PathStats(trials=1, passes=passed, valid=self.valid, realistic=passed, latency_s=self.latency_s, cost_usd=self.cost_usd)


class RoutingDecision(BaseModel):
    """Where a record goes and why."""

    policy: RoutingPolicy
    class_key: str
    tier: Tier
    reason: str
    tried: list[Tier] = Field(default_factory=list)
    drawn: dict[Tier, float] = Field(default_factory=dict, description="learned: the pass rate drawn for each tier it could take")


Sink = Callable[[list[Observation]], None]


class Router:
    """The outcome table, the policies over it, and where observations go (`sink`: the store)."""

    def __init__(self, table: dict[tuple[str, Tier], PathStats] | None = None, *, sink: Sink | None = None, seed: int | None = None):
        self.table = dict(table or {})
        self.pooled: dict[Tier, PathStats] = {}
        for (_class_key, tier), stats in self.table.items():
            self.pooled.setdefault(tier, PathStats()).add(stats)
        self.sink = sink
        self.rng = random.Random(seed)
        self.needs: deque[float] = deque(maxlen=1_000)
        self._lock = threading.Lock()

    def stats(self, class_key: str, tier: Tier) -> PathStats:
        return self.table.get((class_key, tier)) or PathStats()

    def classes(self) -> list[str]:
        return sorted({key for key, _tier in self.table})

    def record(self, observation: Observation) -> None:
        """Count one record's outcome on its route, and pass it on to the sink."""
        with self._lock:
            self.table.setdefault((observation.class_key, observation.tier), PathStats()).add(observation.stats())
            self.pooled.setdefault(observation.tier, PathStats()).add(observation.stats())
        if self.sink is not None:
            self.sink([observation])

    def choose(
        self,
        class_key: str,
        *,
        policy: RoutingPolicy,
        tiers: Sequence[Tier],
        tried: Sequence[Tier] = (),
        target_premium_share: float | None = None,
    ) -> RoutingDecision:
        """The tier for a record of `class_key` (cascade or learned), among the `tiers` the pool or
        the routes offer, above those its earlier attempts failed on (`tried`)."""
        ranked = sorted(tiers, key=lambda t: t.rank)
        left = [t for t in ranked if not tried or t.rank > max(x.rank for x in tried)] or ranked[-1:]
        if policy is RoutingPolicy.cascade:
            reason = (
                f"cascade: escalated to {left[0].value} after failing on {tried[-1].value}" if tried else "cascade: cheapest tier first"
            )
            return RoutingDecision(policy=policy, class_key=class_key, tier=left[0], reason=reason, tried=list(tried))
        if target_premium_share is not None and not tried and Tier.premium in left and len(left) > 1:
            left = self._calibrated(class_key, left, target_premium_share)
        return self._learned(class_key, left, list(tried))

    def _learned(self, class_key: str, left: list[Tier], tried: list[Tier]) -> RoutingDecision:
        drawn = {t: round(self._draw(class_key, t), 4) for t in left}
        passing = [t for t in left if drawn[t] >= PASS_TARGET]
        tier = passing[0] if passing else max(left, key=lambda t: (drawn[t], -t.rank))
        stats = self.stats(class_key, tier)
        why = (
            f"the cheapest tier predicted to pass (drew {drawn[tier]:.2f} ≥ {PASS_TARGET})"
            if passing
            else (f"no tier predicted to pass; the likeliest (drew {drawn[tier]:.2f})")
        )
        reason = f"learned: {tier.value} is {why} on {class_key}, {stats.passes}/{stats.trials} passed there" + (
            f"; escalated after failing on {tried[-1].value}" if tried else ""
        )
        return RoutingDecision(policy=RoutingPolicy.learned, class_key=class_key, tier=tier, reason=reason, tried=tried, drawn=drawn)

    def _draw(self, class_key: str, tier: Tier) -> float:
        """A pass rate drawn from the (class, tier)'s Beta posterior (Thompson sampling), whose
        prior is the tier's pass rate over every class, worth `PRIOR_WEIGHT` records."""
        stats = self.stats(class_key, tier)
        with self._lock:
            prior = self.pooled.get(tier, PathStats()).pass_rate
            return self.rng.betavariate(
                1 + stats.passes + PRIOR_WEIGHT * prior, 1 + stats.trials - stats.passes + PRIOR_WEIGHT * (1 - prior)
            )

    def _calibrated(self, class_key: str, left: list[Tier], share: float) -> list[Tier]:
        """RouteLLM-style: premium alone when this request's need (how often the cheapest tier
        fails its class) ranks in the top `share` of recent needs, else every tier but premium
        (an escalation may still reach it)."""
        need = 1.0 - self.stats(class_key, left[0]).pass_rate
        with self._lock:
            history = sorted(self.needs)
            self.needs.append(need)
        if len(history) < CALIBRATION_MIN:
            return left
        below = bisect.bisect_left(history, need) / len(history)
        return [Tier.premium] if below >= 1.0 - share else [t for t in left if t is not Tier.premium]

    def preferred(self, class_key: str, tiers: Sequence[Tier]) -> Tier:
        """The tier the learned policy takes on posterior means (no draw): what a person reads."""
        ranked = sorted(tiers, key=lambda t: t.rank)
        means = {t: self.stats(class_key, t).pass_rate for t in ranked}
        return next((t for t in ranked if means[t] >= PASS_TARGET), max(ranked, key=lambda t: (means[t], -t.rank)))


def _store_router() -> Router:
    from apprentice.learning.outcomes import store_router  # the store is only opened when needed

    return store_router()


_ROUTER: Scoped[Router] = Scoped("apprentice_router", _store_router)


def current_router() -> Router:
    """The router of this context (`routing_with`), else the process's, loaded from the store once
    and writing its observations back through a background writer."""
    return _ROUTER.current()


def routing_with(router: Router) -> AbstractContextManager[Router]:
    """Route with `router` inside the block (a bench's strategy, a test's fresh table)."""
    return _ROUTER.using(router)
