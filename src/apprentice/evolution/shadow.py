"""Shadow runs, comparison, canary ramp and rollback — plain async functions over the pool.

A candidate runs beside the live version on the same sampled inputs (same record indices and
seeds); its outputs are never served. Per record it yields validity (0/1), latency and cost,
which `compare` tests: validity must be non-inferior (margin 2 points) and latency and cost may
not be worse beyond their margins. The best passing candidate is ramped through canary steps
(10% → 50% → 100% by default), each gated on its own fresh runs; a step that fails rolls the
traffic back to the parent at once, and the failed mutation becomes an avoidance rule. Margins
and steps are the workflow's `monitoring.canary` options (`monitor/options.py`).
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from apprentice.backends.booking import Purpose, booked_as
from apprentice.backends.pool import BackendPool
from apprentice.evolution.compare import Comparison, Verdict, compare
from apprentice.evolution.mutations import Mutation
from apprentice.evolution.registry import VersionStatus, add_avoidance, register, set_split, versions
from apprentice.monitor.options import CanaryOptions
from apprentice.patterns import run_pattern
from apprentice.records import RecordContext
from apprentice.shapes.schema import Shape
from apprentice.workflows import WorkflowSpec

Metrics = dict[str, list[float]]


class CandidateVerdict(StrEnum):
    winner = "winner"
    passed = "passed"
    rejected = "rejected"


class CandidateReport(BaseModel):
    key: str
    mutation: str
    comparisons: list[Comparison] = Field(default_factory=list)
    verdict: CandidateVerdict = CandidateVerdict.rejected
    reason: str = ""


class EvolutionReport(BaseModel):
    live: str
    candidates: list[CandidateReport]
    promoted: str | None = None
    ramp: list[dict] = Field(default_factory=list)
    rolled_back: bool = False


async def shadow_metrics(
    pool: BackendPool, spec: WorkflowSpec, shape: Shape, seeds: list[int], *, purpose: Purpose, concurrency: int = 2
) -> Metrics:
    """Per-record validity, latency and cost of `spec` on the given inputs (outputs discarded);
    its calls are booked as `purpose` (shadow, or canary for a ramp step's gate) of `spec`."""
    limit = asyncio.Semaphore(concurrency)
    context = RecordContext(n=len(seeds))

    async def one(i: int, seed: int):
        async with limit:
            return await run_pattern(pool, spec, shape, index=i, seed=seed, context=context)

    with booked_as(purpose, workflow=spec.name, version=spec.version):
        outcomes = await asyncio.gather(*(one(i, s) for i, s in enumerate(seeds)))
    return {
        "validity": [float(o.valid) for o in outcomes],
        "latency_s": [sum(s.latency_s for s in o.stages) for o in outcomes],
        "cost_usd": [o.cost_usd for o in outcomes],
    }


def judge_candidate(live: Metrics, candidate: Metrics, canary: CanaryOptions | None = None) -> tuple[list[Comparison], bool, str]:
    """(comparisons, passed, reason): validity non-inferior (by default within 2 points); latency
    not worse by more than 25% of the live median (at least 50 ms) and cost not worse by more than
    25% — both compared on valid records only (a fast broken answer is no saving), and only when
    each side has at least 3 of them."""
    canary = canary or CanaryOptions()
    comparisons = [
        compare("validity", live["validity"], candidate["validity"], higher_is_better=True, margin=canary.validity_margin, statistic="mean")
    ]

    def served(metrics: Metrics, name: str) -> list[float]:
        return [x for x, ok in zip(metrics[name], metrics["validity"], strict=True) if ok]

    for name, share, floor in (("latency_s", canary.latency_margin, canary.latency_floor_s), ("cost_usd", canary.cost_margin, 1e-9)):
        a, b = served(live, name), served(candidate, name)
        if len(a) >= 3 and len(b) >= 3:
            margin = max(share * sorted(a)[len(a) // 2], floor)
            comparisons.append(compare(name, a, b, higher_is_better=False, margin=margin))
    worse = [c.metric for c in comparisons if c.verdict is Verdict.worse]
    if worse:
        return comparisons, False, "worse on " + ", ".join(worse)
    better = [c.metric for c in comparisons if c.verdict is Verdict.better]
    return comparisons, True, "not worse on any metric" + (f"; better on {', '.join(better)}" if better else "")


async def evolve(
    pool: BackendPool,
    live: WorkflowSpec,
    candidates: list[tuple[Mutation, WorkflowSpec]],
    shape: Shape,
    *,
    seeds: list[int],
    canary: CanaryOptions | None = None,
    engine: Engine | None = None,
    run_id: str | None = None,
) -> EvolutionReport:
    """Shadow-run every candidate against `live`, reject losers (avoidance rules), ramp the best
    of those that are better on some metric and worse on none (merely equal ones are kept out).
    Margins and ramp steps: `canary`, by default the live version's `monitoring.canary`.

    Every call is booked under `run_id` (default: the enclosing booked run's, else a new one):
    shadow runs as shadow, ramp gates as canary, each under the version it ran; all are in the
    ledger when this returns."""
    canary = canary or live.monitoring.canary
    register(live, status=VersionStatus.live, traffic=1.0, engine=engine)
    try:
        with booked_as(Purpose.shadow, workflow=live.name, version=live.version, run_id=run_id):
            return await _evolve(pool, live, candidates, shape, seeds, canary, engine)
    finally:
        await pool.flush_calls()


async def _evolve(
    pool: BackendPool,
    live: WorkflowSpec,
    candidates: list[tuple[Mutation, WorkflowSpec]],
    shape: Shape,
    seeds: list[int],
    canary: CanaryOptions,
    engine: Engine | None,
) -> EvolutionReport:
    baseline = await shadow_metrics(pool, live, shape, seeds, purpose=Purpose.shadow)
    reports = [await _shadow(pool, live, mutation, spec, shape, seeds, baseline, canary, engine) for mutation, spec in candidates]
    result = EvolutionReport(live=live.key, candidates=[r for r, *_ in reports])
    passing = [
        (r, m, s, x)
        for r, m, s, x in reports
        if r.verdict is CandidateVerdict.passed and any(c.verdict is Verdict.better for c in r.comparisons)
    ]
    if passing:
        best = max(passing, key=lambda item: (sum(item[3]["validity"]), -sum(item[3]["latency_s"])))
        best[0].verdict = CandidateVerdict.winner
        await _ramp(pool, live, best[1], best[2], shape, seeds, baseline, canary, result, engine)
    return result


async def _shadow(
    pool: BackendPool,
    live: WorkflowSpec,
    mutation: Mutation,
    spec: WorkflowSpec,
    shape: Shape,
    seeds: list[int],
    baseline: Metrics,
    canary: CanaryOptions,
    engine: Engine | None,
) -> tuple[CandidateReport, Mutation, WorkflowSpec, Metrics]:
    """Register a candidate, shadow-run it and judge it; a loser becomes an avoidance rule."""
    register(spec, parent=live.key, mutation=mutation, engine=engine)
    metrics = await shadow_metrics(pool, spec, shape, seeds, purpose=Purpose.shadow)
    comparisons, passed, reason = judge_candidate(baseline, metrics, canary)
    if passed and not any(c.verdict is Verdict.better for c in comparisons):
        reason += "; but better on none, so not a winner"
    verdict = CandidateVerdict.passed if passed else CandidateVerdict.rejected
    report = CandidateReport(key=spec.key, mutation=mutation.signature, comparisons=comparisons, verdict=verdict, reason=reason)
    if not passed:
        add_avoidance(mutation, f"shadow run: {reason}", spec.key, engine)
        set_split(live.name, {live.key: 1.0}, {spec.key: VersionStatus.rejected}, engine)
    return report, mutation, spec, metrics


async def _ramp(
    pool: BackendPool,
    live: WorkflowSpec,
    mutation: Mutation,
    spec: WorkflowSpec,
    shape: Shape,
    seeds: list[int],
    baseline: Metrics,
    canary: CanaryOptions,
    result: EvolutionReport,
    engine: Engine | None,
) -> None:
    """The winner through the canary steps, each gated on fresh inputs; a failed step rolls back."""
    for share in canary.steps:
        if share < 1.0:
            set_split(
                live.name, {spec.key: share, live.key: 1.0 - share}, {spec.key: VersionStatus.canary, live.key: VersionStatus.live}, engine
            )
        else:
            set_split(live.name, {spec.key: 1.0}, {spec.key: VersionStatus.live, live.key: VersionStatus.retired}, engine)
        gate = await shadow_metrics(pool, spec, shape, [s + 10_000 for s in seeds], purpose=Purpose.canary)  # fresh inputs for this step
        _, passed, reason = judge_candidate(baseline, gate, canary)
        result.ramp.append({"traffic": share, "passed": passed, "reason": reason})
        if not passed:
            rollback(live.name, spec.key, live.key, mutation, f"canary at {share:.0%}: {reason}", engine)
            result.rolled_back = True
            return
    result.promoted = spec.key


def rollback(workflow: str, failed: str, parent: str, mutation: Mutation | str | None, reason: str, engine: Engine | None = None) -> None:
    """All traffic back to `parent` at once; the failed version is marked and its mutation avoided."""
    set_split(workflow, {parent: 1.0}, {failed: VersionStatus.rolled_back, parent: VersionStatus.live}, engine)
    if mutation is not None:
        add_avoidance(mutation, reason, failed, engine)


def rollback_live(workflow: str, drifted: str, reason: str, engine: Engine | None = None) -> str | None:
    """Roll the version that drifted back to its parent, only if it is the live one (a drift in
    an old version's run must not roll back the version that replaced it); returns the parent's
    key, or None when nothing was rolled back."""
    rows = {v.key: v for v in versions(workflow, engine)}
    current = rows.get(drifted)
    if current is None or current.status != VersionStatus.live or current.parent is None or current.parent not in rows:
        return None
    rollback(workflow, current.key, current.parent, current.mutation, reason, engine)
    return current.parent


def report_markdown(report: EvolutionReport) -> str:
    """The evolution's outcome, each candidate's comparison with the live version, and the ramp."""
    outcome = f"promoted `{report.promoted}`" if report.promoted else "rolled back" if report.rolled_back else "live version kept"
    lines = [
        f"# Evolution of `{report.live}`: {outcome}",
        "",
        "| candidate | mutation | verdict | validity live → cand. | latency s (valid records) | cost (valid records) | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in report.candidates:
        cells = {x.metric: f"{x.live_median:.3g} → {x.candidate_median:.3g} ({x.verdict})" for x in c.comparisons}
        lines.append(
            f"| {c.key} | `{c.mutation}` | **{c.verdict}** | {cells.get('validity', '–')} | {cells.get('latency_s', '–')} | "
            f"{cells.get('cost_usd', '–')} | {c.reason} |"
        )
    if report.ramp:
        lines += ["", "Canary ramp: " + " → ".join(f"{s['traffic']:.0%} {'ok' if s['passed'] else 'FAILED'}" for s in report.ramp)]
    return "\n".join(lines)
