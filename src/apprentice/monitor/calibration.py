"""Judges are tested before they are trusted: calibration on planted defects.

While a workflow is an apprentice, each judge that gave a verdict is also shown copies of the
run's own sample, some with one known defect planted (a duplicated identifier, a placeholder, an
impossible date, truncated, off-topic or swapped text) and some clean, in random order. What it
flags is counted per judge backend: its detection rate on planted samples and its false-alarm
rate on clean ones, each with a Wilson 95% interval, and the difference (Youden's J) with
Newcombe's interval. A judge is *reliable* when that difference is above zero with 95%
confidence — it tells planted defects from clean samples better than chance — and *unreliable*
when, after `calibration_target` trials of each kind, it cannot. Only reliable judges' verdicts
count toward graduation, weighted by J; an unreliable judge's verdict escalates to the next tier.

The sample shown to a calibrated judge carries no deterministic findings: a run with findings is
never learned as good whatever a judge says, so a judge matters exactly where the rules found
nothing, and that is where it is measured.
"""

from __future__ import annotations

import json
import random
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from apprentice.backends.booking import Purpose
from apprentice.backends.pool import BackendPool
from apprentice.backends.types import CallResult
from apprentice.config import Tier
from apprentice.monitor.judges import JudgeTrust, Standing, VerdictStatus, judge_execution
from apprentice.realism import identifier_name

__all__ = ["PlantKind", "Reliability", "Trial", "calibrate", "plant", "plantable", "wilson_interval"]


class PlantKind(StrEnum):
    """A defect planted into a copy of a sample to test a judge."""

    DUPLICATE_IDENTIFIER = "duplicate_identifier"
    PLACEHOLDER = "placeholder"
    IMPLAUSIBLE_DATE = "implausible_date"
    TRUNCATED = "truncated"
    OFF_TOPIC = "off_topic"
    SWAPPED_FIELDS = "swapped_fields"


MIN_TRIALS = 10
"""Planted and clean trials each before a judge can be called reliable: 3 of 3 caught and 0 of 3
false alarms already clears Newcombe's interval, and a coin does that one time in 64."""

OFF_TOPIC_TEXT = "Preheat the oven to 200 degrees and grease the tin. The mitochondria is the powerhouse of the cell."
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _prose(record: dict[str, Any]) -> list[str]:
    return [k for k, v in record.items() if isinstance(v, str) and len(v.split()) >= 4]


def _strings(record: dict[str, Any]) -> list[str]:
    return [k for k, v in record.items() if isinstance(v, str) and v.strip() and not _ISO_DATE.match(v)]


def plantable(sample: list[Any]) -> list[PlantKind]:
    """The kinds of defect that can be planted into this sample (a sample with no date cannot get
    an impossible one)."""
    records = [r for r in sample if isinstance(r, dict)]
    if not records:
        return []
    first = records[0]
    kinds = [PlantKind.PLACEHOLDER] if _strings(first) else []
    if len(records) >= 2 and any(identifier_name(k) for k in first):
        kinds.append(PlantKind.DUPLICATE_IDENTIFIER)
    if any(isinstance(v, str) and _ISO_DATE.match(v) for v in first.values()) or isinstance(first.get("age"), int):
        kinds.append(PlantKind.IMPLAUSIBLE_DATE)
    if _prose(first):
        kinds += [PlantKind.TRUNCATED, PlantKind.OFF_TOPIC]
    if len(_strings(first)) >= 2:
        kinds.append(PlantKind.SWAPPED_FIELDS)
    return kinds


def plant(sample: list[Any], kind: PlantKind, rng: random.Random) -> list[Any]:
    """A copy of `sample` with one defect of `kind` in one record (two for a duplicate).
    `kind` must be one of `plantable(sample)`."""
    records: list[Any] = json.loads(json.dumps(sample, default=str))
    dicts = [i for i, r in enumerate(records) if isinstance(r, dict)]
    target = records[rng.choice(dicts)]
    if kind is PlantKind.DUPLICATE_IDENTIFIER:
        first, second = rng.sample(dicts, 2)
        field = rng.choice([k for k in records[first] if identifier_name(k)])
        records[second][field] = records[first][field]
    elif kind is PlantKind.PLACEHOLDER:
        field = rng.choice(_strings(target))
        target[field] = rng.choice(["Lorem ipsum dolor sit amet", "string", f"[Your {field.replace('_', ' ')}]", "example"])
    elif kind is PlantKind.IMPLAUSIBLE_DATE:
        dates = [k for k, v in target.items() if isinstance(v, str) and _ISO_DATE.match(v)]
        if dates:
            field = rng.choice(dates)
            target[field] = "0948" + target[field][4:]
        else:
            target["age"] = rng.choice([-3, 212, 467])
    elif kind is PlantKind.TRUNCATED:
        field = rng.choice(_prose(target))
        words = target[field].split()
        target[field] = " ".join(words[: max(2, len(words) // 3)]) + " " + words[len(words) // 3][:2]
    elif kind is PlantKind.OFF_TOPIC:
        target[rng.choice(_prose(target))] = OFF_TOPIC_TEXT
    elif kind is PlantKind.SWAPPED_FIELDS:
        one, other = rng.sample(_strings(target), 2)
        target[one], target[other] = target[other], target[one]
    return records


class Trial(BaseModel):
    """One calibration question: what was shown (planted kind, or None for a clean copy) and
    whether the judge flagged it (any status but "normal"; an unusable answer flags nothing)."""

    judge: str
    planted: PlantKind | None
    flagged: bool


def wilson_interval(successes: int, trials: int) -> tuple[float, float]:
    """The 95% Wilson interval of a rate; (0, 1) when nothing was tried."""
    if not trials:
        return 0.0, 1.0
    low, high = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    return round(float(low), 4), round(float(high), 4)


class Reliability(BaseModel):
    """What calibration measured of one judge backend."""

    judge: str
    tier: str = ""
    planted: int = 0
    detected: int = 0
    clean: int = 0
    false_alarms: int = 0
    by_kind: dict[str, list[int]] = Field(default_factory=dict, description="kind → [detected, planted]")

    def add(self, trial: Trial) -> None:
        if trial.planted is None:
            self.clean += 1
            self.false_alarms += trial.flagged
            return
        self.planted += 1
        self.detected += trial.flagged
        counts = self.by_kind.setdefault(trial.planted.value, [0, 0])
        counts[0] += trial.flagged
        counts[1] += 1

    @property
    def detection_rate(self) -> float:
        return self.detected / self.planted if self.planted else 0.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.clean if self.clean else 0.0

    @property
    def detection_interval(self) -> tuple[float, float]:
        return wilson_interval(self.detected, self.planted)

    @property
    def false_alarm_interval(self) -> tuple[float, float]:
        return wilson_interval(self.false_alarms, self.clean)

    @property
    def discrimination_interval(self) -> tuple[float, float]:
        """95% interval of detection rate − false-alarm rate (Newcombe's hybrid score interval)."""
        if not self.planted or not self.clean:
            return -1.0, 1.0
        low, high = confint_proportions_2indep(self.detected, self.planted, self.false_alarms, self.clean, method="newcomb", compare="diff")
        return round(float(low), 4), round(float(high), 4)

    def status(self, target: int) -> Standing:
        """reliable: at least `MIN_TRIALS` of each kind and better than chance with 95%
        confidence; unreliable: `target` trials of each kind and still not; measuring: not
        enough trials yet to say either."""
        if min(self.planted, self.clean) >= MIN_TRIALS and self.discrimination_interval[0] > 0:
            return Standing.reliable
        return Standing.unreliable if min(self.planted, self.clean) >= target else Standing.measuring

    def trust(self, target: int) -> JudgeTrust:
        """The judge's standing, and how much its verdict counts: its measured discrimination
        (detection rate − false-alarm rate) when reliable, else 0."""
        status = self.status(target)
        return JudgeTrust(status, max(0.0, self.detection_rate - self.false_alarm_rate) if status is Standing.reliable else 0.0)

    def needs_trials(self, target: int) -> bool:
        return min(self.planted, self.clean) < target and self.status(target) is Standing.measuring

    def summary(self, target: int) -> str:
        d_low, d_high = self.detection_interval
        f_low, f_high = self.false_alarm_interval
        return (
            f"{self.status(target)}: detects {self.detected}/{self.planted} planted ({d_low:.0%}–{d_high:.0%}), "
            f"false alarms {self.false_alarms}/{self.clean} clean ({f_low:.0%}–{f_high:.0%})"
        )


async def calibrate(
    pool: BackendPool, tier: Tier, evidence: dict[str, Any], trials: int, rng: random.Random
) -> tuple[list[Trial], list[CallResult]]:
    """Ask `tier`'s judge `trials` questions on copies of `evidence["sample_records"]`, about
    half with a defect planted (a kind drawn from what the sample can carry), half clean."""
    sample = evidence.get("sample_records") or []
    kinds = plantable(sample)
    done: list[Trial] = []
    calls: list[CallResult] = []
    if not kinds:
        return done, calls
    shown = [rng.random() < 0.5 for _ in range(trials)]
    for planted in shown:
        kind = rng.choice(kinds) if planted else None
        records = plant(sample, kind, rng) if kind else sample
        judgement = await judge_execution(
            pool, {**evidence, "findings": [], "sample_records": records}, tiers=(tier,), purpose=Purpose.calibration
        )
        calls += judgement.calls
        if judgement.calls:  # no backend answered: nothing was measured
            verdict = judgement.verdict
            done.append(
                Trial(judge=judgement.calls[-1].backend, planted=kind, flagged=verdict.usable and verdict.status != VerdictStatus.normal)
            )
    return done, calls
