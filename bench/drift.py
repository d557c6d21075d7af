"""Drift detectors on simulated metric streams: the default CUSUM vs the seed's sigmoid score.

Each replication learns a profile from 50 in-control executions (as an apprenticeship would),
then measures:
  - false alarms per 10,000 in-control executions,
  - detection delay (executions until the first alarm) for a 3× latency jump, a 20% latency
    creep over 500 executions, and a 5-point validity drop (97% → 92%).
Streams: latency log-normal (median 2 s, sigma 0.3), validity = valid share of 20 records
(Bernoulli 0.97 each), cost log-normal, tokens log-normal.

    python bench/drift.py [--quick] [--reps 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

from _report import report  # bench/ is on sys.path when a bench runs as a script
from apprentice.monitor.drift import Cusum, DriftMonitor, SeedScore
from apprentice.monitor.metrics import direction_of
from apprentice.monitor.profile import QualityProfile

RECORDS = 20


def execution(rng: np.random.Generator, latency_factor: float = 1.0, validity_p: float = 0.97, realism_p: float = 1.0) -> dict[str, float]:
    return {
        "latency_s": float(2.0 * latency_factor * rng.lognormal(0, 0.3)),
        "validity": float(rng.binomial(RECORDS, validity_p) / RECORDS),
        "cost_usd": float(0.001 * rng.lognormal(0, 0.2)),
        "tokens": float(800 * rng.lognormal(0, 0.15)),
        "realism": float(rng.binomial(RECORDS, realism_p) / RECORDS),
        "distinct_ids": float(1 - rng.binomial(RECORDS, 0.003) / RECORDS),
        "near_duplicates": float(rng.binomial(RECORDS, 0.01) / RECORDS),
    }


def learned_profile(rng: np.random.Generator) -> QualityProfile:
    profile = QualityProfile(workflow="sim", version="1")
    for _ in range(50):
        profile.add(execution(rng))
    return profile


class SeedMonitor:
    """The seed's rule on the same profile: alarm when any metric's score passes 0.15."""

    def __init__(self) -> None:
        self.score = SeedScore()

    def check(self, profile: QualityProfile, values: dict[str, float]) -> bool:
        return any(self.score.update(profile.metrics[k].z(v), direction_of(k)) for k, v in values.items())


def make(detector: str):
    if detector == "cusum":
        monitor = DriftMonitor()
        return lambda profile, values: monitor.check(profile, values).alarm, monitor
    seed = SeedMonitor()
    return seed.check, None


def false_alarms(detector: str, reps: int, n: int) -> float:
    alarms = 0
    for rep in range(reps):
        rng = np.random.default_rng([1, rep])
        profile = learned_profile(rng)
        check, monitor = make(detector)
        for _ in range(n):
            if check(profile, execution(rng)):
                alarms += 1
                if monitor:
                    monitor.reset()
    return alarms / (reps * n) * 10_000


def delay(detector: str, reps: int, shift, warm: int = 100, limit: int = 2000) -> dict:
    delays, missed = [], 0
    for rep in range(reps):
        rng = np.random.default_rng([2, rep])
        profile = learned_profile(rng)
        check, monitor = make(detector)
        for _ in range(warm):  # in control first, as in production
            if check(profile, execution(rng)) and monitor:
                monitor.reset()
        for t in range(1, limit + 1):
            if check(profile, shift(rng, t)):
                delays.append(t)
                break
        else:
            missed += 1
    return {
        "mean": round(statistics.mean(delays), 1) if delays else None,
        "median": statistics.median(delays) if delays else None,
        "missed": missed,
    }


SHIFTS = {
    "latency_3x": lambda rng, t: execution(rng, latency_factor=3.0),
    "latency_creep_20pct_over_500": lambda rng, t: execution(rng, latency_factor=1 + 0.2 * min(t, 500) / 500),
    "validity_drop_5pt": lambda rng, t: execution(rng, validity_p=0.92),
    "realism_drop_100_to_90": lambda rng, t: execution(rng, realism_p=0.90),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    reps, n = (3, 5_000) if args.quick else (args.reps, 10_000)
    started = time.perf_counter()
    result: dict = {"benchmark": "drift", "quick": args.quick, "replications": reps, "in_control_per_rep": n}
    for detector in ("cusum", "seed_sigmoid"):
        row: dict[str, Any] = {"false_alarms_per_10k": round(false_alarms(detector, reps, n), 2)}
        for name, shift in SHIFTS.items():
            row[f"delay_{name}"] = delay(detector, reps, shift)
        result[detector] = row
        print(
            f"{detector:>13}: false alarms/10k {row['false_alarms_per_10k']:>8} | 3x latency delay {row['delay_latency_3x']['mean']} | "
            f"creep delay {row['delay_latency_creep_20pct_over_500']['mean']} | validity -5pt delay "
            f"{row['delay_validity_drop_5pt']['mean']} | "
            f"realism 100→90% delay {row['delay_realism_drop_100_to_90']['mean']}",
            flush=True,
        )
    p = Cusum()
    result["cusum_parameters"] = {"k": p.k, "h": p.h}
    result["seconds"] = round(time.perf_counter() - started, 1)
    report("drift", result)


if __name__ == "__main__":
    main()
