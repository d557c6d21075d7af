"""The metrics of an execution, declared once: what each measures, which way is bad, its scale.

The profile learns them, the drift detector watches them, the daily trend flow tests them and
evolution compares candidates on them. Realism metrics sit beside validity: a run whose records
pass the schema but repeat their hints or share their emails is as broken as an invalid one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

__all__ = [
    "METRICS",
    "RATE_SPREAD_FLOOR",
    "STAGE_METRICS",
    "Direction",
    "Metric",
    "base_metric",
    "direction_of",
    "is_log_scale",
    "is_rate",
    "stage_metric",
    "stage_of",
]


class Direction(StrEnum):
    """Which way a metric's change is a degradation."""

    up = "up"
    down = "down"
    both = "both"


RATE_SPREAD_FLOOR = 0.03
"""The smallest spread a rate is standardised by (3 points). A profile learned from 50 runs that
never met a rare defect (one duplicate email in 300 records) has a spread of zero and would call
the first such run an 8-sigma event; `bench/drift.py` measured 15 false alarms per 10,000 runs
without the floor. A drop of 10 points is still over 3 spreads."""


class Metric(NamedTuple):
    name: str
    bad: Direction
    """Which way is a degradation."""
    log_scale: bool
    """Skewed and multiplicative (a 3× slowdown is one step whatever the baseline)."""
    rate: bool
    """A share in [0, 1], compared on its own scale."""
    weekly_bound: float | None
    """The weekly relative change the trend flow warns on; None: not trend-tested."""
    description: str


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("latency_s", Direction.up, True, False, 0.05, "mean model and repair seconds per record"),
        Metric("cost_usd", Direction.up, True, False, 0.05, "cost per record"),
        Metric("tokens", Direction.up, True, False, 0.05, "input and output tokens per record"),
        Metric("output_chars", Direction.both, True, False, None, "mean size of a written record"),
        Metric("validity", Direction.down, False, True, 0.02, "share of requested records written"),
        Metric("quality", Direction.down, False, True, 0.02, "mean first-pass quality (1 valid at once, 1/(1+k) after k corrections)"),
        Metric("realism", Direction.down, False, True, 0.02, "share of written records with no realism defect"),
        Metric(
            "distinct_ids", Direction.down, False, True, 0.02, "lowest distinct-value ratio of an identifying field (email, id, username)"
        ),
        Metric("near_duplicates", Direction.up, False, True, None, "share of written records whose text nearly repeats another's"),
    )
}


STAGE_METRICS = ("latency_s", "tokens", "validity")
"""Metrics also profiled per stage of the pattern, as `STAGE:METRIC`. They tell which stage moved
when the run's own metric drifts; they raise no alarm of their own (more CUSUMs, more false
alarms) and do not hold back graduation."""


def stage_metric(stage: str, metric: str) -> str:
    return f"{stage}:{metric}"


def stage_of(name: str) -> str | None:
    """The stage of a per-stage metric's name; None for a run's metric."""
    stage, sep, _ = name.rpartition(":")
    return stage if sep else None


def base_metric(name: str) -> str:
    """`latency_s` for `generate:latency_s`; a run's metric is its own base."""
    return name.rpartition(":")[2]


def direction_of(name: str) -> Direction:
    metric = METRICS.get(base_metric(name))
    return metric.bad if metric else Direction.both


def is_log_scale(name: str) -> bool:
    metric = METRICS.get(base_metric(name))
    return bool(metric and metric.log_scale)


def is_rate(name: str) -> bool:
    metric = METRICS.get(base_metric(name))
    return bool(metric and metric.rate)
