"""Drift detection for graduated workflows: statistical only, no model calls.

Each execution's metrics are standardised against the version's quality profile and fed to a
two-sided CUSUM per metric (Page, 1954). The default `k = 0.5`, `h = 11` gives an in-control
average run length of about 190,000 executions per metric and side (Siegmund's approximation),
so with the eight monitored metrics (`metrics.py`: realism beside validity) false alarms stay
under one per 10,000 executions even with a profile estimated from only 50 runs, while a 3×
latency jump (≈ 3.7 sd on the log scale for a typical sd of 0.3) is flagged within about 4
executions and realism falling from 100% to 90% within about 6. `bench/drift.py` measures them.

Each stage's latency, tokens and validity (`stage:metric`, `metrics.STAGE_METRICS`) are
standardised too but raise no alarm of their own; when a run's metric alarms, the stages whose
same metric is at least 2 sd out the bad way are named with it (`DriftCheck.stages`).

Sudden failures skip statistics: an execution that raised, or whose validity or realism
collapsed below half, alarms at once. The seed's score — sigmoid(|z| − 3) with threshold 0.15 — is kept for comparison
(`SeedScore`); it flags about one normal execution in five.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from apprentice.monitor.metrics import Direction, base_metric, direction_of, stage_of
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
    stages: list[str] = Field(default_factory=list, description="the stages whose own figures moved with an alarmed metric, most first")
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
        normal = {name: value for name, value in values.items() if value is not None}  # learned while in control
        for name, value in normal.items():
            metric = profile.metrics.get(name)
            if metric is None or metric.count < 2:  # a metric (or a stage) met for the first time starts its profile
                continue
            z = metric.z(value)
            result.z[name] = round(z, 3)
            if stage_of(name) is None and self.cusums.setdefault(name, Cusum(k=self.k, h=self.h)).update(z, direction_of(name)):
                result.metrics.append(name)
        if result.metrics:
            result.alarm = True
            result.stages = drifted_stages(result)
            result.reason = "drift in " + ", ".join(f"{m} (z={result.z[m]:+.1f})" for m in result.metrics) + _where(result)
        elif learn:
            profile.add(normal)
        return result

    def reset(self) -> None:
        for cusum in self.cusums.values():
            cusum.reset()


STAGE_Z = 2.0
"""How far from its profile a stage's own figure must be, the bad way, to be named with a drift."""


def drifted_stages(check: DriftCheck) -> list[str]:
    """The stages whose own figure for an alarmed metric is at least `STAGE_Z` out the bad way,
    the farthest first: where to look when the run's latency, tokens or validity drifted."""
    alarmed = set(check.metrics)
    farthest: dict[str, float] = {}
    for name, z in check.z.items():
        stage, metric = stage_of(name), base_metric(name)
        bad = direction_of(name)
        signed = z if bad == Direction.up else -z if bad == Direction.down else abs(z)
        if stage is not None and metric in alarmed and signed >= STAGE_Z:
            farthest[stage] = max(farthest.get(stage, 0.0), signed)
    return sorted(farthest, key=lambda stage: -farthest[stage])


def _where(check: DriftCheck) -> str:
    if not check.stages:
        return ""
    return "; in stage " + ", ".join(check.stages)
