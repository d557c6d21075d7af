"""Drift detection for graduated workflows: statistical only, no model calls.

Each execution's metrics are standardised against the version's quality profile and fed to a
two-sided CUSUM per metric (Page, 1954). The default `k = 0.5`, `h = 11` gives an in-control
average run length of about 190,000 executions per metric and side (Siegmund's approximation),
so with the eight monitored metrics (`metrics.py`: realism beside validity) false alarms stay
under one per 10,000 executions even with a profile estimated from only 50 runs, while a 3×
latency jump (≈ 3.7 sd on the log scale for a typical sd of 0.3) is flagged within about 4
executions and realism falling from 100% to 90% within about 6. `bench/drift.py` measures them.

Sudden failures skip statistics: an execution that raised, or whose validity or realism
collapsed below half, alarms at once. The seed's score — sigmoid(|z| − 3) with threshold 0.15 — is kept for comparison
(`SeedScore`); it flags about one normal execution in five.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from apprentice.monitor.metrics import Direction, direction_of
from apprentice.monitor.options import CUSUM_H, CUSUM_K
from apprentice.monitor.profile import QualityProfile

SUDDEN_FLOORS = {"validity": 0.5, "realism": 0.5}
"""A rate below its floor is a sudden failure, not a drift: most records invalid or unusable."""
Z_CAP = 8.0  # one wild execution cannot make an alarm by itself unless it is a sudden failure


class Cusum(BaseModel):
    """Two-sided CUSUM on standardised values; `update` returns True on an alarm."""

    k: float = CUSUM_K
    h: float = CUSUM_H
    up: float = 0.0
    down: float = 0.0

    def update(self, z: float, direction: Direction = Direction.both) -> bool:
        z = max(-Z_CAP, min(Z_CAP, z))
        self.up = max(0.0, self.up + z - self.k) if direction != Direction.down else 0.0
        self.down = max(0.0, self.down - z - self.k) if direction != Direction.up else 0.0
        return self.up > self.h or self.down > self.h

    def reset(self) -> None:
        self.up = self.down = 0.0


class SeedScore(BaseModel):
    """The seed's detector, for comparison: alarm when sigmoid(|z| − 3) > threshold."""

    threshold: float = 0.15

    def update(self, z: float, direction: Direction = Direction.both) -> bool:
        if direction == Direction.up and z < 0 or direction == Direction.down and z > 0:
            return False
        return 1.0 / (1.0 + math.exp(-(abs(z) - 3.0))) > self.threshold


class DriftCheck(BaseModel):
    """The verdict on one execution."""

    alarm: bool = False
    sudden: bool = False
    metrics: list[str] = Field(default_factory=list, description="metrics that alarmed")
    z: dict[str, float] = Field(default_factory=dict)
    reason: str = ""


class DriftMonitor(BaseModel):
    """Per-metric CUSUMs against a profile. While in control (no alarm) the profile keeps
    learning from every execution — all of them, not only typical-looking ones, which would
    shrink its sd and raise false alarms — so its estimates sharpen past the first 50 runs."""

    cusums: dict[str, Cusum] = Field(default_factory=dict)
    k: float = CUSUM_K
    h: float = CUSUM_H
    floors: dict[str, float] = Field(default_factory=lambda: dict(SUDDEN_FLOORS), description="a rate below its floor is a sudden failure")

    def check(self, profile: QualityProfile, values: dict[str, float], *, error_class: str | None = None, learn: bool = True) -> DriftCheck:
        if error_class:
            return DriftCheck(alarm=True, sudden=True, reason=f"the execution failed ({error_class})")
        for name, floor in self.floors.items():
            value = values.get(name)
            if value is not None and value < floor:
                return DriftCheck(alarm=True, sudden=True, metrics=[name], reason=f"{name} collapsed to {value:.0%}")
        result = DriftCheck()
        normal = {}
        for name, value in values.items():
            metric = profile.metrics.get(name)
            if metric is None or metric.count < 2 or value is None:
                continue
            z = metric.z(value)
            result.z[name] = round(z, 3)
            cusum = self.cusums.setdefault(name, Cusum(k=self.k, h=self.h))
            if cusum.update(z, direction_of(name)):
                result.metrics.append(name)
            normal[name] = value
        if result.metrics:
            result.alarm = True
            result.reason = "drift in " + ", ".join(f"{m} (z={result.z[m]:+.1f})" for m in result.metrics)
        elif learn:
            profile.add(normal)
        return result

    def reset(self) -> None:
        for cusum in self.cusums.values():
            cusum.reset()
