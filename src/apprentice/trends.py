"""Slow degradation in daily metrics: significant, large enough to matter, and persistent.

Per workflow version and metric, over a window of daily aggregates (default 30 days):
- seasonality: STL (statsmodels) with a weekly period when the window has two weeks; a strong
  seasonal component (strength > 0.6) is removed before testing the trend;
- monotonic trend: Mann–Kendall on the pre-whitened series (lag-1 autocorrelation removed,
  Kulkarni & von Storch 1995) — plain Mann–Kendall and OLS flag about a quarter of flat but
  autocorrelated series at α = 0.05, the pre-whitened test holds about 5%;
- slope: Theil–Sen with its confidence interval (robust to outliers), as % of the level per week;
- projection: OLS with a prediction interval, `horizon` days ahead (statsmodels);
- a warning only when the pre-whitened test is significant, the slope's whole CI is past the
  bound (seed: latency +5%/week, quality −2%/week), and both halves of the window slope the same
  way. Severity grows with how far the projection crosses the bound.

The series come from the store: per workflow version, the daily mean of each metric of
`monitor/metrics.py` that has a weekly bound and a column in the flow-level execution rows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np
import statsmodels.api as sm
from pydantic import BaseModel
from scipy import stats
from sqlalchemy import Float, cast, func
from sqlalchemy.engine import Engine
from sqlmodel import select

from apprentice.monitor.metrics import METRICS, Direction
from apprentice.store import ExecutionRecord, session, write
from apprentice.store.models import TrendWarning, utcnow

# Bound per metric: the weekly relative change that matters, and which way is bad.
BOUNDS: dict[str, tuple[float, Direction]] = {
    m.name: (m.weekly_bound, m.bad) for m in METRICS.values() if m.weekly_bound is not None and m.bad != Direction.both
}


def _per_record(total):
    return cast(total, Float) / func.nullif(ExecutionRecord.records, 0)


COLUMNS = {
    "latency_s": ExecutionRecord.latency_s,
    "validity": ExecutionRecord.validity,
    "quality": ExecutionRecord.quality,
    "realism": ExecutionRecord.realism,
    "cost_usd": _per_record(ExecutionRecord.cost_usd),
    "tokens": _per_record(ExecutionRecord.input_tokens + ExecutionRecord.output_tokens),
}
"""How a flow-level execution row measures each metric as `monitor/metrics.py` defines it (per
record: a run's row holds its totals)."""
TRENDED = tuple(name for name in BOUNDS if name in COLUMNS)
BARS = "▁▂▃▄▅▆▇█"


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


class TrendResult(BaseModel):
    metric: str
    days: int
    level: float
    slope_per_week: float
    slope_ci_per_week: tuple[float, float]
    relative_per_week: float
    mk_p: float
    mk_p_plain: float
    seasonal_strength: float
    projection: float
    projection_interval: tuple[float, float]
    horizon_days: int
    warning: bool = False
    severity: Severity | None = None
    reason: str = ""


def mann_kendall(x: np.ndarray) -> float:
    """Two-sided p-value of the Mann–Kendall test (normal approximation, tie-corrected)."""
    n = len(x)
    if n < 4:
        return 1.0
    signs = np.sign(x[None, :] - x[:, None])
    s = float(np.triu(signs, 1).sum())
    _, counts = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - np.sum(counts * (counts - 1) * (2 * counts + 5))) / 18.0
    if var <= 0:
        return 1.0
    z = (s - np.sign(s)) / math.sqrt(var)
    return float(2 * stats.norm.sf(abs(z)))


def prewhitened_mk(x: np.ndarray) -> float:
    """Mann–Kendall after removing lag-1 autocorrelation from the detrended series."""
    t = np.arange(len(x))
    slope, intercept, *_ = stats.theilslopes(x, t)
    detrended = x - (intercept + slope * t)
    r1 = float(np.corrcoef(detrended[:-1], detrended[1:])[0, 1]) if np.std(detrended) > 0 else 0.0
    n = len(x)
    r1 = min(0.95, (n * r1 + 1) / (n - 4)) if n > 8 and np.isfinite(r1) else r1  # small-sample bias (Marriott–Pope)
    if not np.isfinite(r1) or abs(r1) < 0.05:
        return mann_kendall(x)
    return mann_kendall(x[1:] - r1 * x[:-1])


def seasonal_strength(x: np.ndarray, period: int = 7) -> tuple[float, np.ndarray]:
    """(strength in [0, 1], seasonal component) from STL; (0, zeros) when too short."""
    if len(x) < 2 * period + 1:
        return 0.0, np.zeros_like(x)
    from statsmodels.tsa.seasonal import STL

    fit = STL(x, period=period, robust=True).fit()
    resid_var = np.var(fit.resid)
    both = np.var(fit.seasonal + fit.resid)
    return (max(0.0, 1 - resid_var / both) if both > 0 else 0.0), fit.seasonal


def analyse(metric: str, daily: list[float] | np.ndarray, *, alpha: float = 0.05, horizon: int = 30) -> TrendResult:
    """Test one metric's daily series for a trend that matters (see the module docstring)."""
    x = np.asarray(daily, dtype=float)
    bound, bad = BOUNDS.get(metric, (0.05, Direction.up))
    strength, seasonal = seasonal_strength(x)
    y = x - seasonal if strength > 0.6 else x
    t = np.arange(len(y), dtype=float)
    slope, intercept, low, high = stats.theilslopes(y, t, alpha=1 - 0.95)
    level = float(np.median(y)) or 1e-9
    ols = sm.OLS(y, sm.add_constant(t)).fit()
    ahead = sm.add_constant(np.array([len(y) - 1 + horizon], dtype=float), has_constant="add")
    pred = ols.get_prediction(ahead).summary_frame(alpha=0.05)
    result = TrendResult(
        metric=metric,
        days=len(x),
        level=level,
        slope_per_week=7 * slope,
        slope_ci_per_week=(7 * low, 7 * high),
        relative_per_week=7 * slope / abs(level),
        mk_p=prewhitened_mk(y),
        mk_p_plain=mann_kendall(y),
        seasonal_strength=round(strength, 3),
        projection=float(pred["mean"].iloc[0]),
        projection_interval=(float(pred["obs_ci_lower"].iloc[0]), float(pred["obs_ci_upper"].iloc[0])),
        horizon_days=horizon,
    )
    sign = 1 if bad == Direction.up else -1
    ci_past_bound = sign * 7 * (low if bad == Direction.up else high) / abs(level) > bound
    half = len(y) // 2
    halves = [stats.theilslopes(part, np.arange(len(part)))[0] for part in (y[:half], y[half:])] if half >= 5 else [slope]
    persistent = all(sign * h > 0 for h in halves)
    if result.mk_p < alpha and ci_past_bound and persistent:
        crossing = sign * (result.projection - level) / abs(level) / (bound * horizon / 7)
        result.warning = True
        result.severity = Severity.critical if crossing > 3 else Severity.warning if crossing > 1.5 else Severity.info
        result.reason = (
            f"{metric} moves {result.relative_per_week:+.1%}/week (bound {sign * bound:+.0%}/week, p={result.mk_p:.3g}); "
            f"projected {result.projection:.4g} in {horizon} days (95% PI "
            f"{result.projection_interval[0]:.4g}–{result.projection_interval[1]:.4g})"
        )
    return result


class SeriesTrend(NamedTuple):
    """One workflow version's metric: its daily means and what the trend test found."""

    workflow: str
    version: str
    daily: list[float]
    result: TrendResult


def daily_series(window_days: int, engine: Engine | None = None) -> dict[tuple[str, str], dict[str, list[float]]]:
    """{(workflow, version): {metric: [daily mean, oldest first]}} from flow-level executions that
    generated something (a run wholly reused or served from `$cache` says nothing of the workflow)."""
    since = utcnow() - timedelta(days=window_days)
    day = func.date(ExecutionRecord.at)
    query = (
        select(ExecutionRecord.workflow, ExecutionRecord.version, day, *(func.avg(COLUMNS[m]) for m in TRENDED))
        .where(ExecutionRecord.kind == "flow", ExecutionRecord.state != "Cached", ExecutionRecord.at >= since)
        .group_by(ExecutionRecord.workflow, ExecutionRecord.version, day)
        .order_by(day)
    )
    series: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    values: list[Any]
    with session(engine) as s:
        for workflow, version, _day, *values in s.exec(query).all():
            for metric, value in zip(TRENDED, values, strict=True):
                if value is not None:  # a day whose runs did not measure it (e.g. served from `$cache`)
                    series[(workflow, version)][metric].append(float(value))
    return series


def analyse_store(window_days: int = 30, horizon_days: int = 30, min_days: int = 10, engine: Engine | None = None) -> list[SeriesTrend]:
    """One trend test per workflow version and metric with at least `min_days` days of data."""
    return [
        SeriesTrend(workflow, version, values, analyse(metric, values, horizon=horizon_days))
        for (workflow, version), metrics in daily_series(window_days, engine).items()
        for metric, values in metrics.items()
        if len(values) >= min_days
    ]


def save_warnings(trends: list[SeriesTrend], engine: Engine | None = None) -> list[SeriesTrend]:
    """Store the trends that warn (table `trend_warnings`); returns them."""
    warned = [t for t in trends if t.result.warning]

    def store(s) -> None:
        for workflow, version, _, r in warned:
            s.add(
                TrendWarning(
                    workflow=workflow,
                    version=version,
                    metric=r.metric,
                    severity=(r.severity or Severity.info).value,
                    relative_per_week=r.relative_per_week,
                    projection=r.projection,
                    horizon_days=r.horizon_days,
                    reason=r.reason,
                )
            )

    if warned:
        write(store, engine)
    return warned


def trends_markdown(trends: list[SeriesTrend], window_days: int, horizon_days: int) -> str:
    """A table of every series tested: its days as a sparkline, slope, p, projection, warning."""
    warnings = sum(t.result.warning for t in trends)
    lines = [
        f"# Trends over {window_days} days: {warnings} warning(s) in {len(trends)} series",
        "",
        f"| workflow@version | metric | daily | %/week (95% CI) | p (pre-whitened MK) | seasonal | projection +{horizon_days}d | warning |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for workflow, version, values, r in trends:
        ci = tuple(c / abs(r.level) for c in r.slope_ci_per_week)
        lines.append(
            f"| {workflow}@{version} | {r.metric} | {sparkline(values)} | {r.relative_per_week:+.1%} ({ci[0]:+.1%}…{ci[1]:+.1%}) | "
            f"{r.mk_p:.3g} | {r.seasonal_strength:.2f} | {r.projection:.4g} | {r.severity or ''} |"
        )
    return "\n".join(lines)


def sparkline(values: list[float]) -> str:
    low, high = min(values), max(values)
    return "".join(BARS[int((v - low) / (high - low) * (len(BARS) - 1))] if high > low else BARS[0] for v in values)
