"""Shadow runs, comparison, canary ramp and rollback — plain async functions over the pool.

A candidate runs beside the live version on the same sampled inputs (same record indices and
seeds); its outputs are never served. Per record it yields validity (0/1), latency and cost,
which `compare` tests: validity must be non-inferior (margin 2 points) and latency and cost may
not be worse beyond their margins. The best passing candidate is ramped through canary steps
(10% → 50% → 100% by default), each gated on its own fresh runs; a step that fails rolls the
traffic back to the parent at once, and the failed mutation becomes an avoidance rule.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from apprentice.backends.pool import BackendPool
from apprentice.evolution.compare import Comparison, compare
from apprentice.evolution.mutations import Mutation
from apprentice.evolution.registry import add_avoidance, register, set_split, versions
from apprentice.patterns import run_pattern
from apprentice.records import RecordContext
from apprentice.shapes.schema import Shape
from apprentice.workflows import WorkflowSpec

Metrics = dict[str, list[float]]


class CandidateReport(BaseModel):
    key: str
    mutation: str
    comparisons: list[Comparison] = Field(default_factory=list)
    verdict: Literal["winner", "passed", "rejected"] = "rejected"
    reason: str = ""


class EvolutionReport(BaseModel):
    live: str
    candidates: list[CandidateReport]
    promoted: str | None = None
    ramp: list[dict] = Field(default_factory=list)
    rolled_back: bool = False


async def shadow_metrics(pool: BackendPool, spec: WorkflowSpec, shape: Shape, seeds: list[int], concurrency: int = 2) -> Metrics:
    """Per-record validity, latency and cost of `spec` on the given inputs (outputs discarded)."""
    limit = asyncio.Semaphore(concurrency)
    context = RecordContext(n=len(seeds))

    async def one(i: int, seed: int):
        async with limit:
            return await run_pattern(pool, spec, shape, index=i, seed=seed, context=context)

    outcomes = await asyncio.gather(*(one(i, s) for i, s in enumerate(seeds)))
    return {
        "validity": [float(o.valid) for o in outcomes],
        "latency_s": [sum(s.latency_s for s in o.stages) for o in outcomes],
        "cost_usd": [o.cost_usd for o in outcomes],
    }


def judge_candidate(live: Metrics, candidate: Metrics) -> tuple[list[Comparison], bool, str]:
    """(comparisons, passed, reason): validity non-inferior (2 points); latency not worse by more
    than 25% of the live median (at least 50 ms) and cost not worse by more than 25% — both
    compared on valid records only (a fast broken answer is no saving), and only when each side
    has at least 3 of them."""
    comparisons = [compare("validity", live["validity"], candidate["validity"], higher_is_better=True, margin=0.02, statistic="mean")]

    def served(metrics: Metrics, name: str) -> list[float]:
        return [x for x, ok in zip(metrics[name], metrics["validity"], strict=True) if ok]

    for name, floor in (("latency_s", 0.05), ("cost_usd", 1e-9)):
        a, b = served(live, name), served(candidate, name)
        if len(a) >= 3 and len(b) >= 3:
            margin = max(0.25 * sorted(a)[len(a) // 2], floor)  # under 50 ms is noise
            comparisons.append(compare(name, a, b, higher_is_better=False, margin=margin))
    worse = [c.metric for c in comparisons if c.verdict == "worse"]
    if worse:
        return comparisons, False, "worse on " + ", ".join(worse)
    better = [c.metric for c in comparisons if c.verdict == "better"]
    return comparisons, True, "not worse on any metric" + (f"; better on {', '.join(better)}" if better else "")


async def evolve(
    pool: BackendPool,
    live: WorkflowSpec,
    candidates: list[tuple[Mutation, WorkflowSpec]],
    shape: Shape,
    *,
    seeds: list[int],
    steps: tuple[float, ...] = (0.1, 0.5, 1.0),
    engine: Engine | None = None,
) -> EvolutionReport:
    """Shadow-run every candidate against `live`, reject losers (avoidance rules), ramp the best
    of those that are better on some metric and worse on none (merely equal ones are kept out)."""
    register(live, status="live", traffic=1.0, engine=engine)
    baseline = await shadow_metrics(pool, live, shape, seeds)
    reports: list[tuple[CandidateReport, Mutation, WorkflowSpec, Metrics]] = []
    for mutation, spec in candidates:
        register(spec, parent=live.key, mutation=mutation, engine=engine)
        metrics = await shadow_metrics(pool, spec, shape, seeds)
        comparisons, passed, reason = judge_candidate(baseline, metrics)
        if passed and not any(c.verdict == "better" for c in comparisons):
            reason += "; but better on none, so not a winner"
        report = CandidateReport(key=spec.key, mutation=mutation.signature, comparisons=comparisons, verdict="passed" if passed else "rejected", reason=reason)
        if not passed:
            add_avoidance(mutation, f"shadow run: {reason}", spec.key, engine)
            set_split(live.name, {live.key: 1.0}, {spec.key: "rejected"}, engine)
        reports.append((report, mutation, spec, metrics))
    result = EvolutionReport(live=live.key, candidates=[r for r, *_ in reports])
    passing = [(r, m, s, x) for r, m, s, x in reports if r.verdict == "passed" and any(c.verdict == "better" for c in r.comparisons)]
    if not passing:
        return result
    best = max(passing, key=lambda item: (sum(item[3]["validity"]), -sum(item[3]["latency_s"])))
    best[0].verdict = "winner"
    report, mutation, spec, _ = best
    for share in steps:
        status = "live" if share >= 1.0 else "canary"
        set_split(live.name, {spec.key: share, live.key: 1.0 - share} if share < 1.0 else {spec.key: 1.0}, {spec.key: status, live.key: "live" if share < 1.0 else "retired"}, engine)
        gate = await shadow_metrics(pool, spec, shape, [s + 10_000 for s in seeds])  # fresh inputs for this step
        _, passed, reason = judge_candidate(baseline, gate)
        result.ramp.append({"traffic": share, "passed": passed, "reason": reason})
        if not passed:
            rollback(live.name, spec.key, live.key, mutation, f"canary at {share:.0%}: {reason}", engine)
            result.rolled_back = True
            return result
    result.promoted = spec.key
    return result


def rollback(workflow: str, failed: str, parent: str, mutation: Mutation | str | None, reason: str, engine: Engine | None = None) -> None:
    """All traffic back to `parent` at once; the failed version is marked and its mutation avoided."""
    set_split(workflow, {parent: 1.0}, {failed: "rolled_back", parent: "live"}, engine)
    if mutation is not None:
        add_avoidance(mutation, reason, failed, engine)


def rollback_live(workflow: str, drifted: str, reason: str, engine: Engine | None = None) -> str | None:
    """Roll the version that drifted back to its parent, only if it is the live one (a drift in
    an old version's run must not roll back the version that replaced it); returns the parent's
    key, or None when nothing was rolled back."""
    rows = {v.key: v for v in versions(workflow, engine)}
    current = rows.get(drifted)
    if current is None or current.status != "live" or current.parent is None or current.parent not in rows:
        return None
    rollback(workflow, current.key, current.parent, current.mutation, reason, engine)
    return current.parent
