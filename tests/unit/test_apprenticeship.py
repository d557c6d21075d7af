"""Profiles, drift detection, tiered judges and the apprenticeship state machine (fake judges)."""

from __future__ import annotations

import asyncio
import random

import numpy as np
import pytest
from sqlmodel import select

from apprentice.backends.ledger import LedgerBook
from apprentice.monitor.apprenticeship import ApprenticeshipPolicy, Observation, State, observe, transitions
from apprentice.monitor.calibration import OFF_TOPIC_TEXT
from apprentice.monitor.drift import DriftMonitor
from apprentice.monitor.judges import judge_execution
from apprentice.monitor.profile import MetricProfile, QualityProfile
from apprentice.store import CallRecord, engine_for, session
from tests.unit.fakes import Backend, make_pool
from tests.unit.test_calibration import SAMPLE, sharp_judge


def verdict(status="normal", confidence=0.99):
    return lambda _p, _n: {"status": status, "confidence": confidence, "reasons": ["looks fine"]}


def test_profile_quantiles_track_the_data_in_bounded_memory():
    rng = np.random.default_rng(0)
    data = rng.lognormal(0, 0.5, 20_000)
    metric = MetricProfile.for_metric("latency_s")
    for x in data:
        metric.add(float(x))
    summary = metric.summary()
    median, p95 = summary["median"], summary["p95"]
    assert median is not None and p95 is not None
    assert abs(median / np.median(data) - 1) < 0.03 and abs(p95 / np.percentile(data, 95) - 1) < 0.05
    assert len(metric.model_dump_json()) < 2000, "a profile is a few numbers, not the samples"


def test_cusum_ignores_noise_and_catches_a_3x_latency_jump_fast():
    rng = np.random.default_rng(1)
    profile = QualityProfile(workflow="w", version="1")
    for _ in range(50):
        profile.add({"latency_s": float(rng.lognormal(0.7, 0.3))})
    monitor = DriftMonitor()
    assert not any(monitor.check(profile, {"latency_s": float(rng.lognormal(0.7, 0.3))}).alarm for _ in range(3000))
    delays = [t for t in range(1, 50) if monitor.check(profile, {"latency_s": float(3 * rng.lognormal(0.7, 0.3))}).alarm]
    assert delays and delays[0] <= 5


def test_a_failed_or_collapsed_execution_alarms_at_once():
    profile = QualityProfile(workflow="w", version="1")
    for v in (0.95, 1.0, 0.9, 1.0):
        profile.add({"validity": v})
    assert DriftMonitor().check(profile, {"validity": 1.0}, error_class="BackendUnavailableError").sudden
    assert DriftMonitor().check(profile, {"validity": 0.1}).sudden


def test_judges_escalate_only_when_unsure_and_survive_garbage():
    fast, quality, premium = Backend(verdict(confidence=0.93)), Backend(lambda _p, _n: "garbage"), Backend(verdict("suspicious", 0.97))
    pool = make_pool(f=("fast", fast), q=("quality", quality), p=("premium", premium))
    judged = asyncio.run(judge_execution(pool, {"metrics": {}}))
    assert [v.tier for v in judged.chain] == ["fast", "quality", "premium"]
    assert judged.verdict.status == "suspicious" and len(judged.calls) == 3
    sure = make_pool(f=("fast", Backend(verdict(confidence=0.99))), p=("premium", premium))
    assert len(asyncio.run(judge_execution(sure, {})).calls) == 1 and premium.calls == 1


def run_machine(tmp_path, judge, values_for, runs, policy):
    engine = engine_for(f"sqlite:///{tmp_path}/m.db")
    pool = make_pool(f=("fast", judge), book=LedgerBook(engine))
    steps = []
    for i in range(runs):
        obs = Observation(workflow="w", version="1", run_id=f"r{i}", values=values_for(i))
        steps.append(asyncio.run(observe(pool, obs, policy, engine=engine, rng=random.Random(0))))
    return steps, engine


def test_graduates_after_n_good_runs_then_stops_calling_judges(tmp_path):
    rng = np.random.default_rng(2)
    judge = Backend(lambda _p, _n: {"status": "normal", "confidence": 0.99, "reasons": [], "action": "UPDATE_PROFILE"})
    normal = lambda i: {"latency_s": float(rng.lognormal(0.7, 0.05)), "validity": 1.0}  # noqa: E731
    steps, engine = run_machine(tmp_path, judge, normal, 30, ApprenticeshipPolicy(graduate_after=10))
    graduated_at = next(i for i, s in enumerate(steps) if s.state is State.graduated)
    assert graduated_at >= 9
    calls_when_graduated = judge.calls
    assert all(s.judge_calls == 0 for s in steps[graduated_at + 1 :]) and judge.calls == calls_when_graduated
    with session(engine) as s:
        monitoring = s.exec(select(CallRecord).where(CallRecord.purpose == "monitoring")).all()
    assert len(monitoring) == graduated_at + 1


def test_drift_is_investigated_and_the_diagnosis_is_carried_out(tmp_path):
    rng = np.random.default_rng(3)
    judge = Backend(lambda _p, _n: {"status": "normal", "confidence": 0.99, "reasons": ["slower but right"], "action": "UPDATE_PROFILE"})
    values = lambda i: {"latency_s": float((1 if i < 20 else 4) * rng.lognormal(0.7, 0.05)), "validity": 1.0}  # noqa: E731
    steps, engine = run_machine(tmp_path, judge, values, 30, ApprenticeshipPolicy(graduate_after=8))
    moves = [(t.from_state, t.to_state) for t in transitions("w", engine)]
    assert ("apprentice", "graduated") in moves and ("graduated", "investigating") in moves and ("investigating", "graduated") in moves
    assert steps[-1].state is State.graduated, "the profile was updated to the new latency"


@pytest.mark.parametrize("spot_check", [0.0, 1.0])
def test_a_spot_check_catches_what_only_a_judge_can_see_and_costs_nothing_when_off(tmp_path, spot_check):
    """From run 20 the records turn off-topic while every metric stays the same: only a judge,
    one measured as reliable on planted defects during the apprenticeship, can see it."""
    rng = np.random.default_rng(5)
    off_topic = [{**SAMPLE[0], "bio": OFF_TOPIC_TEXT}, *SAMPLE[1:]]
    engine = engine_for(f"sqlite:///{tmp_path}/m.db")
    judge = Backend(sharp_judge)
    pool = make_pool(f=("fast", judge))
    policy = ApprenticeshipPolicy(graduate_after=8, spot_check=spot_check, calibration_per_run=6)
    steps = []
    for i in range(30):
        values = {"latency_s": float(rng.lognormal(0.7, 0.05)), "validity": 1.0}
        obs = Observation(workflow="w", version="1", run_id=f"r{i}", values=values, sample=off_topic if i >= 20 else SAMPLE)
        steps.append(asyncio.run(observe(pool, obs, policy, engine=engine, rng=random.Random(i))))
    graduated_at = next(i for i, s in enumerate(steps) if s.state is State.graduated)
    verdict = steps[graduated_at].verdict
    assert graduated_at < 20 and verdict is not None and verdict.trusted
    after = steps[graduated_at + 1 :]
    if spot_check:
        caught = next(s for s in steps[20:] if s.previous is State.graduated)
        assert caught is steps[20] and any("spot check" in t.reason for t in transitions("w", engine))
    else:
        assert all(s.state is State.graduated and s.judge_calls == 0 for s in after), "off means no AI cost after graduation"


def test_unusable_judges_fall_back_to_a_rule(tmp_path):
    rng = np.random.default_rng(4)
    answers = iter([{"status": "normal", "confidence": 0.99, "reasons": []}] * 8)
    judge = Backend(lambda _p, _n: next(answers, "not json"))
    values = lambda i: {"latency_s": float(rng.lognormal(0.7, 0.05)), "validity": 1.0 if i < 10 else 0.6}  # noqa: E731
    steps, _ = run_machine(tmp_path, judge, values, 16, ApprenticeshipPolicy(graduate_after=8))
    diagnosed = next(s for s in steps if s.diagnosis)
    assert diagnosed.diagnosis.source == "rule" and diagnosed.state is State.evolving
