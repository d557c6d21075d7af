"""Monitoring cost of one workflow over 1,000 executions: the apprenticeship vs judging every
execution, measured with the call ledger in one run; and the time of one graduated check.

Both sides run the real state machine (`monitor.apprenticeship.observe`) on the same simulated
executions (in-control metric streams), with a priced judge backend (a stub server answering a
confident "normal", priced like a small hosted model). The baseline never graduates, so every
execution is judged — what monitoring without an apprenticeship costs.

    python bench/monitoring_cost.py [--quick] [--n 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _report import report  # bench/ is on sys.path when a bench runs as a script

HERE = Path(__file__).resolve().parent


def executions(n: int, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    return [
        {
            "latency_s": float(2.0 * rng.lognormal(0, 0.3)),
            "validity": float(rng.binomial(20, 0.97) / 20),
            "cost_usd": float(0.001 * rng.lognormal(0, 0.2)),
            "tokens": float(800 * rng.lognormal(0, 0.15)),
        }
        for _ in range(n)
    ]


async def monitor(label: str, url: str, n: int, policy, db: Path) -> dict:
    from apprentice.backends.ledger import LedgerBook, spend_by_backend
    from apprentice.backends.pool import BackendPool
    from apprentice.config import BackendConfig, PoolConfig
    from apprentice.monitor.apprenticeship import Observation, load_state, observe
    from apprentice.store import engine_for

    engine = engine_for(f"sqlite:///{db}")
    judge = BackendConfig(
        name="judge", base_url=url, model="stub", structured_output="llama_cpp", price_in_per_1k=0.00015, price_out_per_1k=0.0006
    )
    pool = BackendPool(PoolConfig(backends=[judge]), book=LedgerBook(engine))  # the pool books the judges' calls
    rng = random.Random(0)
    started = time.perf_counter()
    graduated_at = None
    for i, values in enumerate(executions(n)):
        step = await observe(
            pool, Observation(workflow=label, version="1", run_id=f"{label}-{i}", values=values), policy, engine=engine, rng=rng
        )
        if graduated_at is None and step.state.value == "graduated":
            graduated_at = i + 1
    await pool.aclose()
    spend = [row for row in spend_by_backend(label, engine) if row[1] in ("monitoring", "calibration")]
    row = load_state(label, "1", engine)
    return {
        "executions": n,
        "graduated_after": graduated_at,
        "state": row.state,
        "judge_calls": sum(r[2] for r in spend),
        "monitoring_cost_usd": round(sum(r[4] for r in spend), 6),
        "seconds": round(time.perf_counter() - started, 1),
    }


def graduated_check_times(repeats: int) -> dict:
    from apprentice.monitor.drift import DriftMonitor
    from apprentice.monitor.profile import QualityProfile

    profile = QualityProfile(workflow="w", version="1")
    for values in executions(50, seed=1):
        profile.add(values)
    detector, stream, times = DriftMonitor(), executions(repeats, seed=2), []
    for values in stream:
        started = time.perf_counter()
        detector.check(profile, values)
        times.append(time.perf_counter() - started)
    times.sort()
    return {"checks": repeats, "p50_ms": round(1000 * times[len(times) // 2], 4), "p99_ms": round(1000 * times[int(len(times) * 0.99)], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    n = 200 if args.quick else args.n
    sys.path.insert(0, str(HERE))
    from apprentice.monitor.apprenticeship import ApprenticeshipPolicy
    from throughput import free_port

    port = free_port()
    stub = subprocess.Popen([sys.executable, str(HERE / "stub_server.py"), str(port), "2"])
    work = Path(tempfile.mkdtemp(prefix="apprentice-moncost-"))
    try:
        time.sleep(2.0)
        url = f"http://127.0.0.1:{port}/v1"
        apprenticed = asyncio.run(monitor("apprenticed", url, n, ApprenticeshipPolicy(graduate_after=50), work / "a.db"))
        judged = asyncio.run(monitor("judge-every-run", url, n, ApprenticeshipPolicy(graduate_after=10**9), work / "b.db"))
    finally:
        stub.terminate()
    saved = 1 - apprenticed["monitoring_cost_usd"] / judged["monitoring_cost_usd"] if judged["monitoring_cost_usd"] else None
    result = {
        "benchmark": "monitoring_cost",
        "quick": args.quick,
        "apprenticeship": apprenticed,
        "judge_every_execution": judged,
        "cost_ratio": round(apprenticed["monitoring_cost_usd"] / judged["monitoring_cost_usd"], 4)
        if judged["monitoring_cost_usd"]
        else None,
        "saved_share": round(saved, 4) if saved is not None else None,
        "graduated_check": graduated_check_times(10_000 if not args.quick else 2_000),
    }
    print(
        f"monitoring cost over {n} executions: apprenticeship ${apprenticed['monitoring_cost_usd']} ({apprenticed['judge_calls']} judge "
        f"calls) | "
        f"judge every run ${judged['monitoring_cost_usd']} ({judged['judge_calls']} calls) | saved {result['saved_share']:.1%} | "
        f"graduated check p99 {result['graduated_check']['p99_ms']} ms"
    )
    report("monitoring_cost", result)


if __name__ == "__main__":
    main()
