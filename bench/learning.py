"""Does the engine get cheaper as it learns? A replayed stream of requests across seven request
classes, side by side in one run: always-premium, static complexity routing (today's default
thresholds), a cheapest-first cascade without learning, and the learned router with the solution
library.

    python bench/learning.py [--quick] [--requests 2000] [--seed 14]

Every record goes through the real engine: `dataset.generate_batch` on a routed workflow (one
generate stage, re-tiered by the route), its routing step, its final check, realism checks with
correction and regeneration (three attempts), the learned router's feedback at the close; and
`patterns.statistics.propose_numeric_solution` for requests that ask for numbers in a sentence.
Only the model servers are simulated, in-process behind the pool's transport (`World`): each
answers a request of class C on tier T with a record that is valid and realistic with C's pass
rate on T, else (by class) an unrealistic one (a placeholder in a text field: valid, but refused by
the realism checks) or an invalid one; its latency advances a virtual clock the pool reads, so
latencies are the stated ones and the run takes seconds. Where each figure comes from is in
`CLASSES` (fast tier: the embedded SmolLM2-135M as README's realism and JSONSchemaBench benches
recorded it; quality and premium: assumptions, no hosted model was measured) and `PRICES`
(list prices of a small hosted model, a gpt-4o-mini-class and a gpt-4o-class model, per 1k tokens).

Per strategy, over the whole stream and per window of 200 requests: validity (requests whose
record was written), realism (written records with no realism defect), cost per valid record
(every call, design calls included), mean latency per request, premium share of calls, and the
library's hit rate (requests with a sentence answered rightly by reuse or adaptation) and how often
its answer was wrong (a reuse or adaptation the verification refused: what tells whether the
lexical representation serves). PNG learning
curves go to bench/results/learning_*.png when matplotlib is installed (the dev extra has it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from _report import RESULTS, report  # bench/ is on sys.path when a bench runs as a script

SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") else None  # resume keeps each stage's states: a scratch store, in memory where it can be
os.environ.setdefault("APPRENTICE_HOME", tempfile.mkdtemp(prefix="apprentice-learning-", dir=SCRATCH))

from _learning_world import CLASSES, PRICES, Request, World, stream_of  # noqa: E402
from apprentice.backends.booking import Purpose, booked_as  # noqa: E402
from apprentice.backends.pool import BackendPool  # noqa: E402
from apprentice.config import BackendConfig, PoolConfig, Tier  # noqa: E402
from apprentice.dataset import BatchPlan, generate_batch  # noqa: E402
from apprentice.learning.library import MatchKind, SolutionLibrary, library_with  # noqa: E402
from apprentice.learning.router import Router, routing_with  # noqa: E402
from apprentice.numeric import NumericSpec  # noqa: E402
from apprentice.patterns.statistics import propose_numeric_solution  # noqa: E402
from apprentice.realism import check_record  # noqa: E402
from apprentice.workflows import WorkflowSpec, parse_spec  # noqa: E402

WINDOW = 200
STRATEGIES = ("always-premium", "static", "cascade", "learned+library")


@dataclass
class Strategy:
    """A routing policy, and whether requests with a sentence go through the library."""

    name: str
    spec: WorkflowSpec
    library: SolutionLibrary
    router: Router = field(default_factory=Router)


def strategy(name: str, seed: int) -> Strategy:
    policies: dict[str, dict[str, Any]] = {
        "always-premium": {"quality_from": 0, "premium_from": 0},
        "static": {},
        "cascade": {"policy": "cascade"},
        "learned+library": {"policy": "learned"},
    }
    routing = policies[name]
    spec = parse_spec(
        {
            "name": f"learning-{name.replace('+', '-')}",
            "pattern": "routed",
            "routing": routing,
            "stages": [{"name": "generate", "role": "generate", "corrections": 0}],
        }
    )
    library = SolutionLibrary() if name == "learned+library" else SolutionLibrary.disabled()
    return Strategy(name, spec, library, Router(seed=seed))


@dataclass
class Served:
    """What one request cost and gave."""

    valid: bool
    realistic: bool
    cost_usd: float
    latency_s: float
    calls: int
    premium_calls: int
    asked_numbers: bool
    from_library: bool
    library_wrong: bool = False


class Ledger:
    """The pool's call book, in memory: a request's calls are the rows booked while it ran."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def book(self, rows) -> None:
        self.rows.extend(rows)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def pool_for(world: World, ledger: Ledger) -> BackendPool:
    backends = [
        BackendConfig(
            name=tier.value,
            base_url=f"http://{tier.value}.sim/v1",
            model=f"sim-{tier.value}",
            tier=tier,
            price_in_per_1k=PRICES[tier][0],
            price_out_per_1k=PRICES[tier][1],
            max_concurrency=4,
        )
        for tier in Tier
    ]
    config = PoolConfig(backends=backends, retry={"attempts": 1})
    return BackendPool(config, transport_factory=world.transport, clock=world.now, book=ledger)


async def numbers_for(pool: BackendPool, world: World, request: Request, library: SolutionLibrary) -> tuple[bool, bool]:
    """The request's statistics spec from its sentence (through the library, when it is on);
    verified against what the sentence asked (standing in for the statistics path's KS/χ² checks,
    which a wrong spec fails): a failed reuse or adaptation is told to the library and the spec is
    written afresh. Returns whether the library answered it rightly, and whether it answered wrongly."""
    assert request.sentence is not None
    proposed = await propose_numeric_solution(pool, request.sentence, tier=Tier.premium, library=library)
    right = proposed.spec == NumericSpec.model_validate(request.truth)
    library.learn(proposed.match, right)
    answered = proposed.match.kind in (MatchKind.reuse, MatchKind.adapt)
    if not right:
        await propose_numeric_solution(pool, request.sentence, tier=Tier.premium, library=SolutionLibrary.disabled())
    return answered and right, answered and not right


async def serve(pool: BackendPool, world: World, ledger: Ledger, chosen: Strategy, request: Request, index: int) -> Served:
    world.current = request
    before, started = len(ledger.rows), world.now()
    from_library = wrong = False
    with booked_as(Purpose.generation, workflow=chosen.spec.name, version=chosen.spec.version, run_id=f"request-{index}"):
        if request.sentence is not None:
            from_library, wrong = await numbers_for(pool, world, request, chosen.library)
        plan = BatchPlan(index=0, start=index, count=1, seed=request.seed, total=request.n)
        outcome = (await generate_batch(pool, chosen.spec, request.shape, plan, concurrency=1)).outcomes[0]
    rows = ledger.rows[before:]
    return Served(
        valid=outcome.valid,
        realistic=outcome.valid and not check_record(outcome.record, request.shape.json_schema),
        cost_usd=sum(r["cost_usd"] for r in rows),
        latency_s=world.now() - started,
        calls=len(rows),
        premium_calls=sum(r["tier"] == Tier.premium.value for r in rows),
        asked_numbers=request.sentence is not None,
        from_library=from_library,
        library_wrong=wrong,
    )


async def replay(chosen: Strategy, requests: list[Request], seed: int) -> list[Served]:
    world, ledger = World(seed), Ledger()
    pool = pool_for(world, ledger)
    served = []
    with routing_with(chosen.router), library_with(chosen.library):
        for i, request in enumerate(requests):
            served.append(await serve(pool, world, ledger, chosen, request, i))
    await pool.aclose()
    return served


def figures(served: list[Served]) -> dict[str, float]:
    """Validity, realism, cost per valid record, latency, premium share and library hit rate."""
    valid = [s for s in served if s.valid]
    calls = sum(s.calls for s in served)
    asked = [s for s in served if s.asked_numbers]
    return {
        "requests": len(served),
        "validity": round(len(valid) / len(served), 4),
        "realism": round(sum(s.realistic for s in valid) / max(1, len(valid)), 4),
        "cost_per_valid_usd": round(sum(s.cost_usd for s in served) / max(1, len(valid)), 7),
        "latency_s": round(sum(s.latency_s for s in served) / len(served), 2),
        "premium_share": round(sum(s.premium_calls for s in served) / max(1, calls), 4),
        "calls_per_request": round(calls / len(served), 3),
        "library_hit_rate": round(sum(s.from_library for s in asked) / max(1, len(asked)), 4),
        "library_wrong_rate": round(sum(s.library_wrong for s in asked) / max(1, sum(s.from_library or s.library_wrong for s in asked)), 4),
    }


def windows(served: list[Served]) -> list[dict[str, float]]:
    return [figures(served[i : i + WINDOW]) for i in range(0, len(served), WINDOW) if len(served[i : i + WINDOW]) == WINDOW]


def plot(by_strategy: dict[str, list[dict[str, float]]]) -> list[str]:
    """Learning curves per window, one PNG per figure; none without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    for metric, label in (
        ("cost_per_valid_usd", "cost per valid record ($)"),
        ("validity", "validity"),
        ("library_hit_rate", "library hit rate"),
    ):
        fig, ax = plt.subplots(figsize=(7, 4))
        for name, rows in by_strategy.items():
            ax.plot([WINDOW * (i + 1) for i in range(len(rows))], [r[metric] for r in rows], marker="o", label=name)
        ax.set_xlabel("requests replayed")
        ax.set_ylabel(label)
        ax.set_title(f"{label}, per window of {WINDOW} requests")
        ax.legend()
        ax.grid(alpha=0.3)
        path = RESULTS / f"learning_{metric.removesuffix('_usd')}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(str(path.relative_to(RESULTS.parent.parent)))
    return written


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """The goal: at equal validity and realism (within a point), learned ends ≥50% below static."""
    static, learned = result["windows"]["static"][-1], result["windows"]["learned+library"][-1]
    saving = 1 - learned["cost_per_valid_usd"] / static["cost_per_valid_usd"]
    curve = [w["cost_per_valid_usd"] for w in result["windows"]["learned+library"]]
    return {
        "last_window_saving_vs_static": round(saving, 4),
        "validity_gap_points": round(100 * (learned["validity"] - static["validity"]), 2),
        "realism_gap_points": round(100 * (learned["realism"] - static["realism"]), 2),
        "learned_cost_falls": curve[-1] < curve[0],
        "goal_met": saving >= 0.5 and learned["validity"] >= static["validity"] - 0.01 and learned["realism"] >= static["realism"] - 0.01,
    }


def table(result: dict[str, Any]) -> str:
    lines = ["strategy | validity | realism | $/valid record | latency s | premium share | library hits"]
    for name in STRATEGIES:
        f = result["overall"][name]
        lines.append(
            f"{name} | {f['validity']:.1%} | {f['realism']:.1%} | {f['cost_per_valid_usd']:.6f} | {f['latency_s']:.1f} | "
            f"{f['premium_share']:.1%} | {f['library_hit_rate']:.1%}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 requests (under a minute)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    count = 400 if args.quick else args.requests
    requests = stream_of(count, args.seed)
    served = {name: asyncio.run(replay(strategy(name, args.seed), requests, args.seed)) for name in STRATEGIES}
    result: dict[str, Any] = {
        "benchmark": "learning",
        "quick": args.quick,
        "requests": count,
        "classes": {c.name: c.class_key for c in CLASSES},
        "overall": {name: figures(rows) for name, rows in served.items()},
        "windows": {name: windows(rows) for name, rows in served.items()},
    }
    result["goal"] = verdict(result)
    result["plots"] = plot(result["windows"])
    print(table(result))
    report("learning", result)


if __name__ == "__main__":
    main()
