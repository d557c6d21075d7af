"""Judges are tested before they are trusted; evidence comes before opinion; realism is a metric.

Fake judges here are fault injection: one that always says "normal", one that answers at random,
and one that really compares the records it is shown with the run's clean sample."""

from __future__ import annotations

import asyncio
import json
import random

import numpy as np
import pytest

from apprentice.monitor.apprenticeship import ApprenticeshipPolicy, Observation, State, learned_as_good, load_reliability, observe
from apprentice.monitor.calibration import PlantKind, Reliability, Trial, plant, plantable
from apprentice.monitor.drift import DriftMonitor
from apprentice.monitor.judges import Verdict
from apprentice.monitor.profile import QualityProfile
from apprentice.realism import DatasetChecker, DefectKind
from apprentice.store import engine_for
from tests.unit.fakes import Backend, make_pool

SAMPLE = [
    {
        "name": "Maria Jensen",
        "email": "maria.jensen@example.org",
        "signed_up_at": "2023-04-11T09:12:00Z",
        "bio": "Maria restores old sailing boats on weekends and bakes lemon cake for her crew.",
    },
    {
        "name": "Tom Okafor",
        "email": "tom.okafor@example.net",
        "signed_up_at": "2021-10-02T17:40:00Z",
        "bio": "Tom runs the night shift at a hospital pharmacy and trains for marathons at dawn.",
    },
    {
        "name": "Lena Duarte",
        "email": "lena.duarte@example.com",
        "signed_up_at": "2024-01-20T08:05:00Z",
        "bio": "Lena teaches chess to children at the library and collects vinyl jazz records.",
    },
]
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "signed_up_at": {"type": "string", "format": "date-time"},
        "bio": {"type": "string", "description": "A two-sentence biography"},
    },
}


def shown_records(prompt: str) -> list:
    evidence = json.loads(prompt.split("Evidence: ", 1)[1].rsplit("\nAnswer", 1)[0])
    return evidence["sample_records"]


def sharp_judge(prompt: str, _n: int) -> dict:
    """Flags exactly the samples that differ from the clean one (and diagnoses an investigation)."""
    if "Evidence: " not in prompt:
        return {"action": "EVOLVE_WORKFLOW", "reasons": ["the records went off topic"]}
    broken = shown_records(prompt) != SAMPLE
    return {"status": "broken" if broken else "normal", "confidence": 0.99, "reasons": ["records differ" if broken else "fine"]}


def always_normal(_prompt: str, _n: int) -> dict:
    return {"status": "normal", "confidence": 0.99, "reasons": ["looks fine"]}


@pytest.mark.parametrize("kind", list(PlantKind))
def test_every_planted_defect_changes_the_sample_and_the_rules_see_the_ones_rules_can_see(kind):
    assert kind in plantable(SAMPLE)
    planted = plant(SAMPLE, kind, random.Random(1))
    assert planted != SAMPLE and SAMPLE[0]["name"] == "Maria Jensen", "the clean sample is not touched"
    checker = DatasetChecker(SCHEMA)
    for i, record in enumerate(planted):
        checker.add(i, record)
    found = {kind for kind, n in checker.report().defects.items() if n}
    visible = {
        PlantKind.DUPLICATE_IDENTIFIER: DefectKind.DUPLICATE_IDENTIFIER,
        PlantKind.PLACEHOLDER: DefectKind.PLACEHOLDER,
        PlantKind.IMPLAUSIBLE_DATE: DefectKind.IMPLAUSIBLE_DATE,
    }
    if kind in visible:
        assert visible[kind] in found


def trials(judge: str, flags_planted: float, flags_clean: float, n: int, seed: int = 0) -> Reliability:
    rng = random.Random(seed)
    reliability = Reliability(judge=judge)
    for i in range(2 * n):
        planted = PlantKind.PLACEHOLDER if i % 2 else None
        reliability.add(Trial(judge=judge, planted=planted, flagged=rng.random() < (flags_planted if planted else flags_clean)))
    return reliability


@pytest.mark.parametrize(
    ("planted", "clean", "expected"),
    [(1.0, 0.0, "reliable"), (0.0, 0.0, "unreliable"), (1.0, 1.0, "unreliable"), (0.5, 0.5, "unreliable"), (0.9, 0.1, "reliable")],
    ids=["sharp", "always-normal", "always-broken", "coin", "good"],
)
def test_a_judge_is_reliable_only_when_it_tells_planted_defects_from_clean_samples(planted, clean, expected):
    measured = trials("j", planted, clean, 20)
    assert measured.status(20) == expected
    assert (measured.trust(20).weight > 0) == (expected == "reliable")
    low, high = measured.detection_interval
    assert low <= measured.detection_rate <= high


def test_a_judge_with_few_trials_is_still_being_measured():
    assert trials("j", 0.0, 0.0, 3).status(20) == "measuring"


def run(tmp_path, judge_answer, observations: list[Observation], policy: ApprenticeshipPolicy):
    engine = engine_for(f"sqlite:///{tmp_path}/m.db")
    pool = make_pool(f=("fast", Backend(judge_answer)))
    steps = [asyncio.run(observe(pool, obs, policy, engine=engine, rng=random.Random(i))) for i, obs in enumerate(observations)]
    return steps, engine


def clean_run(i: int, rng: np.random.Generator, **update) -> Observation:
    values = {"latency_s": float(rng.lognormal(0.7, 0.05)), "validity": 1.0, "realism": 1.0, "distinct_ids": 1.0, "near_duplicates": 0.0}
    return Observation(workflow="w", version="1", run_id=f"r{i}", values=values, sample=SAMPLE, **update)


def test_a_judge_that_always_says_normal_is_marked_unreliable_and_graduation_rests_on_the_checks(tmp_path):
    rng = np.random.default_rng(0)
    policy = ApprenticeshipPolicy(graduate_after=40, calibration_per_run=4, calibration_target=12)
    steps, engine = run(tmp_path, always_normal, [clean_run(i, rng) for i in range(12)], policy)
    standing = load_reliability(engine)["f"]
    assert standing.status(12) == "unreliable" and standing.planted >= 12 and standing.detected == 0
    assert all(s.learned and "deterministic checks" in s.basis for s in steps)
    assert not any(s.verdict.trusted for s in steps if s.verdict)


def test_a_sharp_judge_is_measured_reliable_and_then_its_verdicts_count(tmp_path):
    rng = np.random.default_rng(1)
    policy = ApprenticeshipPolicy(graduate_after=40, calibration_per_run=4, calibration_target=12)
    steps, engine = run(tmp_path, sharp_judge, [clean_run(i, rng) for i in range(10)], policy)
    assert load_reliability(engine)["f"].status(12) == "reliable"
    assert steps[-1].verdict.trusted and steps[-1].learned and "reliable" in steps[-1].basis
    assert steps[-1].calibration == [], "a judge measured as reliable is not asked calibration questions any more"


def test_a_run_with_duplicate_identifiers_is_never_learned_as_good_whatever_the_judge_says(tmp_path):
    rng = np.random.default_rng(2)
    duplicated = clean_run(0, rng, findings=["2 of 20 records have a realism defect", "2 × duplicate_identifier at /email"])
    steps, _ = run(tmp_path, always_normal, [duplicated], ApprenticeshipPolicy(graduate_after=10))
    assert steps[0].verdict.status == "normal" and not steps[0].learned and "duplicate_identifier" in steps[0].basis
    trusted = Verdict(status="normal", confidence=1.0, trusted=True, weight=1.0, judge="f")
    assert not learned_as_good(duplicated, trusted)[0]


def test_realism_is_learned_and_watched_like_validity():
    rng = np.random.default_rng(3)
    profile = QualityProfile(workflow="w", version="1")
    for i in range(50):
        profile.add(clean_run(i, rng).values)
    monitor = DriftMonitor()
    assert not any(monitor.check(profile, clean_run(i, rng).values).alarm for i in range(2000))
    dropped = [
        t for t in range(1, 30) if monitor.check(profile, {**clean_run(t, rng).values, "realism": float(rng.binomial(20, 0.9) / 20)}).alarm
    ]
    assert dropped and dropped[0] <= 10
    collapsed = DriftMonitor().check(profile, {**clean_run(0, rng).values, "realism": 0.2})
    assert collapsed.sudden and collapsed.metrics == ["realism"]


def test_a_graduated_version_with_an_unmeasured_judge_is_not_sent_to_investigation_by_a_spot_check(tmp_path):
    rng = np.random.default_rng(4)
    policy = ApprenticeshipPolicy(graduate_after=5, spot_check=1.0, calibration_per_run=0)
    broken = lambda _p, _n: {"status": "broken", "confidence": 0.99, "reasons": ["nonsense"]}  # noqa: E731
    steps, _ = run(tmp_path, broken, [clean_run(i, rng) for i in range(12)], policy)
    assert any(s.state is State.graduated for s in steps)
    assert all(s.state is not State.investigating for s in steps), "an unmeasured judge's verdict does not count"
