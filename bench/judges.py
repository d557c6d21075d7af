"""Can the judges tell good runs from bad ones? Judges vs deterministic checks on planted defects,
and an apprenticeship replay: today's machine (a judge's word decides what is learned) vs the
new one (evidence before opinion, judges calibrated before they are trusted).

1. A labelled set on the embedded model: samples of three clean user profiles (written by the
   field-plan path, kept only if the realism checks find nothing), clean and with each kind of
   planted defect (`monitor/calibration.py`). Every judge backend in the pool (on the embedded
   defaults all three tiers are the same SmolLM2-135M) and the deterministic checks judge the
   same samples: detection rate per kind and false-alarm rate, with Wilson 95% intervals.
2. A replay of `--executions` runs of one workflow of which 10% are broken in ways only realism
   reveals (a duplicated email, a placeholder, an impossible date in one of three records), with
   normal latency, validity and cost. The new machine is `monitor.apprenticeship.observe` on a
   scratch store with the real judge. Today's machine asks the same judge on the same sample
   (without findings: it had no realism checks): an apprentice run is learned as good when the
   judge says normal (escalating on confidence only), and after graduation every run is learned
   (realism was not a metric).

    python bench/judges.py [--quick] [--per-kind 100] [--executions 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from _report import report  # bench/ is on sys.path when a bench runs as a script
from apprentice.backends.local import EmbeddedSupervisor, ensure_embedded
from apprentice.backends.pool import BackendPool
from apprentice.config import Tier, load_pool_config, load_settings
from apprentice.dataset import generate_batch, plan_batches, plan_presets
from apprentice.monitor.apprenticeship import ApprenticeshipPolicy, Observation, State, observe
from apprentice.monitor.calibration import PlantKind, plant, plantable, wilson_interval
from apprentice.monitor.judges import judge_execution
from apprentice.realism import DatasetChecker, RealismReport
from apprentice.shapes.schema import Shape, load_shape
from apprentice.store import engine_for
from apprentice.workflows import load_spec

ROOT = Path(__file__).resolve().parent.parent
REALISM_ONLY = (PlantKind.DUPLICATE_IDENTIFIER, PlantKind.PLACEHOLDER, PlantKind.IMPLAUSIBLE_DATE)
NORMAL_METRICS = {"latency_s": 2.0, "validity": 1.0, "cost_usd": 0.0, "tokens": 900.0, "quality": 0.9}


async def clean_records(pool: BackendPool, shape: Shape, n: int) -> list[dict[str, Any]]:
    """Profiles from the field-plan path that the realism checks find nothing wrong with."""
    spec = load_spec(ROOT / "deployments/user_profile.workflow.yaml")
    _plan, presets = plan_presets(spec, shape, n, seed=11)
    outcomes = []
    for plan in plan_batches(n, 10, 11, presets):
        outcomes += (await generate_batch(pool, spec, shape, plan, concurrency=2)).outcomes
    return [o.record for o in outcomes if o.valid and not checks_flag([o.record], shape)]


def samples(pool: list[dict[str, Any]], count: int, rng: random.Random) -> list[list[dict[str, Any]]]:
    return [rng.sample(pool, 3) for _ in range(count)]


def checks_flag(sample: list[dict[str, Any]], shape: Shape) -> bool:
    return realism_of(sample, shape).clean_records < len(sample)


def evidence(sample: list[dict[str, Any]], findings: list[str] | None = None) -> dict[str, Any]:
    return {
        "metrics": NORMAL_METRICS,
        "error": None,
        "findings": findings or ["the deterministic checks found no defect"],
        "profile": {},
        "sample_records": sample,
    }


async def labelled_set(pool: BackendPool, shape: Shape, clean: list[dict[str, Any]], per_kind: int, rng: random.Random) -> dict[str, Any]:
    """Detection per kind and false alarms for each judge backend and for the checks."""
    items: list[tuple[str, list[dict[str, Any]]]] = [("clean", s) for s in samples(clean, per_kind, rng)]
    for kind in plantable(clean[:3]):
        items += [(kind.value, plant(s, kind, rng)) for s in samples(clean, per_kind, rng)]
    rng.shuffle(items)
    judges = sorted({b.name: b.tier for b in pool.config.backends}.items())
    flagged: dict[str, dict[str, list[int]]] = {name: {} for name in [*(name for name, _ in judges), "checks"]}
    for label, sample in items:
        tally = flagged["checks"].setdefault(label, [0, 0, 0])
        tally[0] += checks_flag(sample, shape)
        tally[1] += 1
        for name, tier in judges:
            judged = await judge_execution(pool, evidence(sample), tiers=(Tier(tier),))
            tally = flagged[name].setdefault(label, [0, 0, 0])
            tally[0] += judged.verdict.usable and judged.verdict.status != "normal"
            tally[1] += 1
            tally[2] += not judged.verdict.usable  # an answer that did not parse as a verdict
    return {
        who: {
            label: {"flagged": hits, "n": n, "unusable": unusable, "rate": round(hits / n, 3), "ci95": wilson_interval(hits, n)}
            for label, (hits, n, unusable) in sorted(rows.items())
        }
        for who, rows in flagged.items()
    }


def realism_of(sample: list[dict[str, Any]], shape: Shape) -> RealismReport:
    checker = DatasetChecker(shape.json_schema)
    for i, record in enumerate(sample):
        checker.add(i, record)
    return checker.report()


def realism_values(sample: list[dict[str, Any]], shape: Shape) -> tuple[dict[str, float], list[str]]:
    found = realism_of(sample, shape)
    return found.metrics(), found.findings()


async def replay(pool: BackendPool, shape: Shape, clean: list[dict[str, Any]], executions: int, rng: random.Random) -> dict[str, Any]:
    policy = ApprenticeshipPolicy(graduate_after=min(50, max(2, executions // 4)), stability_tolerance=0.1)
    engine = engine_for(f"sqlite:///{tempfile.mkdtemp()}/replay.db")
    broken_at = set(rng.sample(range(executions), executions // 10))
    old: dict[str, Any] = {
        "state": "apprentice",
        "good": 0,
        "broken_learned": 0,
        "clean_refused": 0,
        "judge_calls": 0,
        "graduated_at": None,
    }
    new: dict[str, Any] = {
        "broken_learned": 0,
        "clean_refused": 0,
        "judge_calls_apprentice": 0,
        "judge_calls_graduated": 0,
        "apprentice_runs": 0,
        "graduated_at": None,
    }
    for i in range(executions):
        sample = rng.sample(clean, 3)
        broken = i in broken_at
        if broken:
            sample = plant(sample, rng.choice(REALISM_ONLY), rng)
        metrics = {k: v * rng.lognormvariate(0, 0.05) if k in ("latency_s", "tokens") else v for k, v in NORMAL_METRICS.items()}
        realism, findings = realism_values(sample, shape)
        obs = Observation(workflow="replay", version="1", run_id=f"r{i}", values={**metrics, **realism}, findings=findings, sample=sample)
        step = await observe(pool, obs, policy, engine=engine, rng=rng)
        learned = step.learned if step.previous is State.apprentice else not (step.drift and step.drift.alarm) and not findings
        new["broken_learned"] += broken and learned
        new["clean_refused"] += not broken and not learned
        key = "judge_calls_apprentice" if step.previous is State.apprentice else "judge_calls_graduated"
        new[key] += step.judge_calls
        new["apprentice_runs"] += step.previous is State.apprentice
        if step.state is State.graduated and new["graduated_at"] is None:
            new["graduated_at"] = i
        await _replay_old(pool, old, obs, broken, policy, i)
    for machine in (old, new):
        machine["broken_runs"], machine["clean_runs"] = len(broken_at), executions - len(broken_at)
        machine["clean_refused_share"] = round(machine["clean_refused"] / machine["clean_runs"], 3)
    return {"executions": executions, "graduate_after": policy.graduate_after, "today": old, "new": new}


async def _replay_old(pool: BackendPool, old: dict[str, Any], obs: Observation, broken: bool, policy: ApprenticeshipPolicy, i: int) -> None:
    """Today's machine: its own judge call on evidence without findings (it had no realism
    checks); learned when the judge says normal; after graduation everything is learned."""
    if old["state"] == "graduated":
        old["broken_learned"] += broken
        return
    verdict = (await judge_execution(pool, {**evidence(obs.sample), "findings": []}, escalate_below=policy.escalate_below)).verdict
    old["judge_calls"] += (
        1 if verdict.confidence >= policy.escalate_below[0] else 2 if verdict.confidence >= policy.escalate_below[1] else 3
    )
    good = verdict.status == "normal"
    old["good"] += good
    old["broken_learned"] += broken and good
    old["clean_refused"] += not broken and not good
    if old["good"] >= policy.graduate_after:
        old["state"], old["graduated_at"] = "graduated", i


async def main(per_kind: int, executions: int, records: int) -> dict[str, Any]:
    settings = load_settings()
    config = load_pool_config(None, settings)
    ensure_embedded(config.backends, settings)
    pool = BackendPool(config, supervisor=EmbeddedSupervisor(settings))
    shape = load_shape(ROOT / "deployments/user_profile.json")
    rng = random.Random(2026)
    try:
        started = time.perf_counter()
        clean = await clean_records(pool, shape, records)
        print(f"{len(clean)} clean profiles of {records} to build samples from ({time.perf_counter() - started:.0f} s)", flush=True)
        labelled = await labelled_set(pool, shape, clean, per_kind, rng)
        print_labelled(labelled)
        replayed = await replay(pool, shape, clean, executions, rng)
        print_replay(replayed)
    finally:
        await pool.aclose()
    return {"clean_records": len(clean), "labelled": labelled, "replay": replayed}


def print_labelled(labelled: dict[str, Any]) -> None:
    labels = sorted({label for rows in labelled.values() for label in rows})
    print(f"\n{'flagged (95% CI)':<24}" + "".join(f"{who:>26}" for who in labelled))
    for label in labels:
        cells = [labelled[who].get(label) for who in labelled]
        print(
            f"{label:<24}"
            + "".join(f"{c['flagged']:>5}/{c['n']:<4}{c['ci95'][0]:>6.2f}–{c['ci95'][1]:<6.2f}  " if c else f"{'–':>26}" for c in cells)
        )


def print_replay(replayed: dict[str, Any]) -> None:
    print(
        f"\nreplay of {replayed['executions']} executions (10% broken in ways only realism reveals), graduate_after "
        f"{replayed['graduate_after']}"
    )
    for name in ("today", "new"):
        m = replayed[name]
        print(
            f"  {name:>5}: broken learned as good {m['broken_learned']}/{m['broken_runs']}, clean refused "
            f"{m['clean_refused']}/{m['clean_runs']}, "
            f"graduated at {m['graduated_at']}, {m}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 sample per kind, 8 executions")
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--executions", type=int, default=200)
    args = parser.parse_args()
    per_kind, executions, records = (1, 8, 4) if args.quick else (args.per_kind, args.executions, 30)
    started = time.perf_counter()
    results = asyncio.run(main(per_kind, executions, records))
    report("judges", {"bench": "judges", "per_kind": per_kind, "seconds": round(time.perf_counter() - started, 1), **results})
