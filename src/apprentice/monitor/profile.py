"""Quality profiles: what a workflow version's metrics normally look like, in bounded memory.

Per metric: a streaming mean and variance (Welford), and P² quantile estimators (Jain & Chlamtac,
1985) for the median, p95 and p99 — five numbers each, no sample lists. A robust spread (MAD) is
estimated by a P² median of absolute deviations from the running median. Latency, cost, tokens
and output size are profiled on the log scale (they are skewed and multiplicative: a 3× slowdown
is the same step whatever the baseline), rates (validity, quality, realism) on their own scale; `monitor/metrics.py` says which is which.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from apprentice.monitor.metrics import RATE_SPREAD_FLOOR, is_log_scale, is_rate, stage_of


class P2Quantile(BaseModel):
    """One quantile, estimated in O(1) memory (the P² algorithm)."""

    p: float
    heights: list[float] = Field(default_factory=list)
    positions: list[float] = Field(default_factory=list)
    desired: list[float] = Field(default_factory=list)

    def add(self, x: float) -> None:
        q, n = self.heights, self.positions
        if len(q) < 5:
            q.append(x)
            q.sort()
            if len(q) == 5:
                self.positions = [1.0, 2.0, 3.0, 4.0, 5.0]
                p = self.p
                self.desired = [1.0, 1 + 2 * p, 1 + 4 * p, 3 + 2 * p, 5.0]
            return
        if x < q[0]:
            q[0], k = x, 0
        elif x >= q[4]:
            q[4], k = x, 3
        else:
            k = next(i for i in range(4) if q[i] <= x < q[i + 1])
        for i in range(k + 1, 5):
            n[i] += 1
        increments = [0.0, self.p / 2, self.p, (1 + self.p) / 2, 1.0]
        self.desired = [d + inc for d, inc in zip(self.desired, increments, strict=True)]
        for i in (1, 2, 3):
            d = self.desired[i] - n[i]
            if (d >= 1 and n[i + 1] - n[i] > 1) or (d <= -1 and n[i - 1] - n[i] < -1):
                step = 1.0 if d > 0 else -1.0
                candidate = self._parabolic(i, step)
                if not q[i - 1] < candidate < q[i + 1]:
                    candidate = q[i] + step * (q[i + int(step)] - q[i]) / (n[i + int(step)] - n[i])
                q[i] = candidate
                n[i] += step

    def _parabolic(self, i: int, d: float) -> float:
        q, n = self.heights, self.positions
        return q[i] + d / (n[i + 1] - n[i - 1]) * (
            (n[i] - n[i - 1] + d) * (q[i + 1] - q[i]) / (n[i + 1] - n[i]) + (n[i + 1] - n[i] - d) * (q[i] - q[i - 1]) / (n[i] - n[i - 1])
        )

    @property
    def value(self) -> float | None:
        if not self.heights:
            return None
        if len(self.heights) < 5:
            ordered = sorted(self.heights)
            return ordered[min(len(ordered) - 1, int(round(self.p * (len(ordered) - 1))))]
        return self.heights[2]


class MetricProfile(BaseModel):
    """Streaming summary of one metric (on the log scale for skewed metrics)."""

    metric: str
    log_scale: bool = False
    rate: bool = False
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    median: P2Quantile = Field(default_factory=lambda: P2Quantile(p=0.5))
    p95: P2Quantile = Field(default_factory=lambda: P2Quantile(p=0.95))
    p99: P2Quantile = Field(default_factory=lambda: P2Quantile(p=0.99))
    abs_dev: P2Quantile = Field(default_factory=lambda: P2Quantile(p=0.5))

    @classmethod
    def for_metric(cls, metric: str) -> MetricProfile:
        return cls(metric=metric, log_scale=is_log_scale(metric), rate=is_rate(metric))

    def transform(self, value: float) -> float:
        return math.log(max(value, 1e-9)) if self.log_scale else value

    def add(self, value: float) -> None:
        x = self.transform(value)
        self.count += 1
        delta = x - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (x - self.mean)
        self.median.add(x)
        self.p95.add(x)
        self.p99.add(x)
        if self.median.value is not None:
            self.abs_dev.add(abs(x - self.median.value))

    @property
    def sd(self) -> float:
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else 0.0

    @property
    def mad_sd(self) -> float:
        """Robust sd: 1.4826 × MAD."""
        return 1.4826 * (self.abs_dev.value or 0.0)

    def z(self, value: float) -> float:
        """How many (robust-floored) sds `value` is from the mean, on the profile's scale."""
        spread = max(self.sd, self.mad_sd, 0.01 if self.log_scale else RATE_SPREAD_FLOOR if self.rate else 1e-6)
        return (self.transform(value) - self.mean) / spread

    def summary(self) -> dict[str, float | None]:
        back = (lambda v: None if v is None else math.exp(v)) if self.log_scale else (lambda v: v)
        return {
            "count": self.count,
            "mean": back(self.mean),
            "sd": self.sd,
            "median": back(self.median.value),
            "p95": back(self.p95.value),
            "p99": back(self.p99.value),
            "mad_sd": self.mad_sd,
        }


class QualityProfile(BaseModel):
    """All metric profiles of one workflow version."""

    workflow: str
    version: str
    metrics: dict[str, MetricProfile] = Field(default_factory=dict)

    def add(self, values: dict[str, float]) -> None:
        for name, value in values.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            self.metrics.setdefault(name, MetricProfile.for_metric(name)).add(float(value))

    def stable(self, *, min_count: int, tolerance: float = 0.1) -> tuple[bool, str]:
        """Stable = enough executions, and every metric's mean is known to within ±`tolerance`
        of its typical size (95% CI half-width; on the log scale that is ±10% relative). Per-stage
        metrics only explain a drift, so they do not hold graduation back."""
        run_metrics = {name: m for name, m in self.metrics.items() if stage_of(name) is None}
        if not run_metrics:
            return False, "no executions yet"
        for name, m in run_metrics.items():
            if m.count < min_count:
                return False, f"{name}: {m.count} of {min_count} executions"
            half_width = 1.96 * m.sd / math.sqrt(m.count)
            scale = 1.0 if m.log_scale or is_rate(name) else max(abs(m.mean), 1e-9)
            if half_width > tolerance * scale:
                return False, f"{name}: mean known to ±{half_width:.3g}, needs ±{tolerance * scale:.3g}"
        return True, f"all {len(run_metrics)} metrics stable over ≥{min_count} executions"
