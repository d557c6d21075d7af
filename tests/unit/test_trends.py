"""Trend analysis on synthetic daily histories: real trends warned, noise and seasons not."""

from __future__ import annotations

import numpy as np
import pytest

from apprentice.trends import analyse, mann_kendall


def ar1(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + rng.normal()
    return x


def test_an_upward_latency_trend_is_warned_with_the_right_projection():
    rng = np.random.default_rng(0)
    truth = lambda day: 2.0 * (1 + 0.02 * day)  # noqa: E731  (+14%/week of the starting level)
    series = [truth(d) + rng.normal(0, 0.05) for d in range(30)]
    result = analyse("latency_s", series, horizon=30)
    assert result.warning and result.severity in ("warning", "critical")
    low, high = result.projection_interval
    assert low <= truth(29 + 30) <= high
    assert 0.08 < result.relative_per_week < 0.16


def test_flat_autocorrelated_noise_rarely_warns():
    runs = [analyse("latency_s", 2 + 0.1 * ar1(30, 0.5, np.random.default_rng(seed))) for seed in range(200)]
    warned = sum(r.warning for r in runs) / len(runs)
    plain = sum(r.mk_p_plain < 0.05 for r in runs) / len(runs)
    assert warned <= 0.02 and plain > 0.15, "plain Mann–Kendall would cry wolf; the gated test does not"


def test_a_weekly_season_is_not_a_trend():
    rng = np.random.default_rng(1)
    series = [2 + 0.4 * np.sin(2 * np.pi * d / 7) + rng.normal(0, 0.03) for d in range(30)]
    result = analyse("latency_s", series)
    assert result.seasonal_strength > 0.6 and not result.warning


@pytest.mark.parametrize(("metric", "direction"), [("validity", -1), ("latency_s", 1)])
def test_only_the_bad_direction_warns(metric, direction):
    rng = np.random.default_rng(2)
    base = 0.95 if metric == "validity" else 2.0
    improving = [base * (1 - direction * 0.01 * d) + rng.normal(0, 0.002) for d in range(30)]
    assert not analyse(metric, improving).warning


def test_mann_kendall_sees_a_monotonic_series():
    assert mann_kendall(np.arange(20, dtype=float)) < 1e-6 and mann_kendall(np.ones(20)) == 1.0
