"""A workflow's monitoring options, typed: how long its apprenticeship lasts, how its drift is
watched, how its judges escalate and how an evolved candidate is ramped.

They sit on `WorkflowSpec.monitoring`; the defaults here are the ones the detectors, judges and
canary use, declared once. Options left unset fall back to the settings (`APPRENTICE_*`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

__all__ = ["CUSUM_H", "CUSUM_K", "ESCALATE_BELOW", "CanaryOptions", "MonitoringOptions", "take_legacy_options"]

CUSUM_K = 0.5
"""CUSUM allowance in profile sds (see `monitor/drift.py` for the run lengths it gives)."""
CUSUM_H = 11.0
"""CUSUM decision threshold in profile sds."""
ESCALATE_BELOW = (0.95, 0.90)
"""Judge confidence below which the quality tier, then the premium tier, is asked."""


class CanaryOptions(BaseModel):
    """How a candidate that won its shadow runs is ramped, and the margins each step must hold."""

    model_config = {"extra": "forbid"}

    steps: tuple[float, ...] = Field((0.1, 0.5, 1.0), description="traffic shares of the ramp; the last is 1 (promotion)")
    validity_margin: float = Field(0.02, ge=0, le=1, description="validity may be this much lower (absolute) and still pass")
    latency_margin: float = Field(0.25, ge=0, description="latency may be this share of the live median slower")
    latency_floor_s: float = Field(0.05, ge=0, description="the smallest latency margin, in seconds (less is noise)")
    cost_margin: float = Field(0.25, ge=0, description="cost may be this share of the live median dearer")

    @field_validator("steps")
    @classmethod
    def _ramp(cls, steps: tuple[float, ...]) -> tuple[float, ...]:
        if not steps or list(steps) != sorted(set(steps)) or not 0 < steps[0] or steps[-1] != 1.0:
            raise ValueError("canary steps rise strictly from above 0 to 1.0, e.g. [0.1, 0.5, 1.0]")
        return steps


class MonitoringOptions(BaseModel):
    """Per-workflow monitoring; unset (None) options take the settings' values."""

    model_config = {"extra": "forbid"}

    graduate_after: int | None = Field(None, ge=2, description="good executions to graduate; default APPRENTICE_GRADUATE_AFTER (50)")
    spot_check: float | None = Field(
        None, ge=0, le=1, description="share of graduated executions judged anyway; default APPRENTICE_SPOT_CHECK (0)"
    )
    calibration_per_run: int | None = Field(
        None, ge=0, le=20, description="planted-defect trials per judge in an apprentice run; default from the settings (2)"
    )
    stability_tolerance: float = Field(0.1, gt=0, description="every metric's mean known to within this share (95% CI) before graduation")
    escalate_below: tuple[float, float] = Field(
        ESCALATE_BELOW, description="judge confidence below which the quality, then the premium tier is asked"
    )
    cusum_k: float = Field(CUSUM_K, gt=0, description="CUSUM allowance, in profile sds")
    cusum_h: float = Field(CUSUM_H, gt=0, description="CUSUM threshold, in profile sds")
    canary: CanaryOptions = Field(default_factory=CanaryOptions)


def take_legacy_options(data: dict[str, Any]) -> dict[str, Any]:
    """A spec as written before monitoring options were typed kept them in its free `options`
    (`options: {graduate_after: 3}`); they move to `monitoring`, which wins where it says
    something other than its default."""
    options = data.get("options")
    if not isinstance(options, dict):
        return data
    legacy = {k: v for k, v in options.items() if k in MonitoringOptions.model_fields}
    if not legacy:
        return data
    monitoring = data.get("monitoring") or {}
    if isinstance(monitoring, BaseModel):
        monitoring = monitoring.model_dump()
    defaults = {name: field.get_default(call_default_factory=True) for name, field in MonitoringOptions.model_fields.items()}
    said = {k: v for k, v in monitoring.items() if v != defaults.get(k)} if isinstance(monitoring, dict) else monitoring
    rest = {k: v for k, v in options.items() if k not in legacy}
    return {**data, "options": rest, "monitoring": {**legacy, **said} if isinstance(said, dict) else said}
