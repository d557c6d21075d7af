"""The daily trend analysis over many workflow versions: time, memory, and warnings vs baselines.

Builds a store with V workflow versions × D days × E executions a day (flow-level execution rows,
bulk-inserted into SQLite), then runs what the `daily-trends` flow runs: the SQL daily aggregation
(`trends.daily_series`) and `trends.analyse` for every version and metric. A fifth
of the versions carry a real latency trend (+2%/day); the rest are flat with autocorrelated
day-to-day noise. Side by side on the same series: the gated, pre-whitened test (ours) against
plain Mann–Kendall and plain OLS significance (α = 0.05, bad direction only).

    python bench/trends.py [--quick] [--versions 100] [--days 30] [--per-day 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from datetime import timedelta

import numpy as np

from _report import report  # bench/ is on sys.path when a bench runs as a script


def populate(versions: int, days: int, per_day: int, seed: int = 0) -> set[str]:
    from sqlalchemy import insert

    from apprentice.store import ExecutionRecord, default_engine
    from apprentice.store.models import utcnow

    rng = np.random.default_rng(seed)
    trending = {f"wf{v}" for v in range(0, versions, 5)}
    engine = default_engine()
    now = utcnow()
    with engine.begin() as conn:
        for v in range(versions):
            name = f"wf{v}"
            day_effect = np.zeros(days)
            for d in range(1, days):
                day_effect[d] = 0.5 * day_effect[d - 1] + rng.normal(0, 0.03)
            for d in range(days):
                factor = (1 + 0.02 * d) if name in trending else 1.0
                at = now - timedelta(days=days - 1 - d, hours=1)
                latency = 2.0 * factor * np.exp(day_effect[d] + rng.normal(0, 0.3, per_day))
                validity = rng.binomial(20, 0.97, per_day) / 20
                cost = 0.001 * rng.lognormal(0, 0.2, per_day)
                rows = [
                    {
                        "run_id": f"{name}-{d}-{i}",
                        "kind": "flow",
                        "at": at,
                        "workflow": name,
                        "version": "1.0.0",
                        "state": "Completed",
                        "latency_s": float(latency[i]),
                        "validity": float(validity[i]),
                        "cost_usd": float(cost[i]),
                        "input_tokens": 500,
                        "output_tokens": 300,
                        "records": 20,
                    }
                    for i in range(per_day)
                ]
                conn.execute(insert(ExecutionRecord), rows)
    return trending


def baselines(values: list[float]) -> tuple[bool, bool]:
    from scipy import stats

    from apprentice.trends import mann_kendall

    y = np.asarray(values)
    t = np.arange(len(y))
    rising = stats.theilslopes(y, t)[0] > 0
    ols = stats.linregress(t, y)
    return mann_kendall(y) < 0.05 and rising, ols.pvalue < 0.05 and ols.slope > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=1000)
    args = parser.parse_args()
    versions, days, per_day = (20, 30, 100) if args.quick else (args.versions, args.days, args.per_day)
    os.environ["APPRENTICE_HOME"] = tempfile.mkdtemp(prefix="apprentice-trends-")

    from apprentice.trends import analyse, daily_series

    started = time.perf_counter()
    trending = populate(versions, days, per_day)
    populate_s = time.perf_counter() - started
    tracemalloc.start()
    started = time.perf_counter()
    series = daily_series(days + 1)
    aggregate_s = time.perf_counter() - started
    counts = {"ours": [0, 0], "plain_mann_kendall": [0, 0], "plain_ols": [0, 0]}  # [flat warned, trending warned]
    started = time.perf_counter()
    analysed = 0
    for (workflow, _version), metrics in series.items():
        for metric, values in metrics.items():
            found = analyse(metric, values)
            analysed += 1
            if metric != "latency_s":
                continue
            idx = 1 if workflow in trending else 0
            mk, ols = baselines(values)
            counts["ours"][idx] += found.warning
            counts["plain_mann_kendall"][idx] += mk
            counts["plain_ols"][idx] += ols
    analyse_s = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    flat, trend = versions - len(trending), len(trending)
    result = {
        "benchmark": "trends",
        "quick": args.quick,
        "versions": versions,
        "days": days,
        "executions_per_day": per_day,
        "executions": versions * days * per_day,
        "series_analysed": analysed,
        "populate_s": round(populate_s, 1),
        "aggregate_s": round(aggregate_s, 2),
        "analyse_s": round(analyse_s, 2),
        "peak_memory_mb_aggregate_and_analyse": round(peak / 2**20, 1),
        "latency_warnings": {
            k: {"flat_false_warning_rate": round(v[0] / flat, 3), "trending_detected_rate": round(v[1] / trend, 3)}
            for k, v in counts.items()
        },
    }
    for name, row in result["latency_warnings"].items():
        print(
            f"{name:>19}: false warnings on flat versions {row['flat_false_warning_rate']:.1%} | trends detected "
            f"{row['trending_detected_rate']:.1%}"
        )
    print(
        f"{versions} versions × {days} days × {per_day}/day: aggregate {result['aggregate_s']} s, analyse {result['analyse_s']} s "
        f"({analysed} series), peak {result['peak_memory_mb_aggregate_and_analyse']} MB"
    )
    report("trends", result)


if __name__ == "__main__":
    main()
