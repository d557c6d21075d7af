"""The monitoring library without Prefect: what a run is observed as, whose run it is, the
status people read, the daily series the trend test gets, one metric vocabulary, tier order."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import insert

from apprentice.config import Tier
from apprentice.dataset import BatchIncomplete, BatchPlan, BatchResult, RunTotals, summarise
from apprentice.errors import RunIncomplete
from apprentice.generation import StageMetrics
from apprentice.monitor.hooks import WorkflowIdentity
from apprentice.monitor.metrics import METRICS, base_metric
from apprentice.records import FailureKind, RecordOutcome
from apprentice.store import ExecutionRecord, engine_for
from apprentice.store.models import utcnow
from apprentice.workflows import default_spec

LIBRARY = (
    "apprentice.monitor.observe",
    "apprentice.monitor.status",
    "apprentice.monitor.hooks",
    "apprentice.trends",
    "apprentice.evolution.candidates",
)


def test_the_monitoring_library_imports_no_prefect():
    code = f"import sys; import {', '.join(LIBRARY)}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def batch(workflow: str = "w", version: str = "1", *, made: bool = True) -> BatchResult:
    stage = StageMetrics(stage="g", role="generate", valid=made, latency_s=2.0, input_tokens=30, output_tokens=10, cost_usd=0.01)
    outcome = RecordOutcome(
        index=0, valid=made, record={"a": 1} if made else None, stages=[stage], failure=None if made else FailureKind.backend
    )
    return BatchResult(workflow=workflow, version=version, plan=BatchPlan(index=0, start=0, count=1, seed=0), outcomes=[outcome])


def test_an_observation_speaks_only_the_declared_metrics():
    from apprentice.monitor.observe import observation

    spec = default_spec("w")
    result = batch()
    totals = RunTotals(spec, 1)
    totals.add(result)
    summary = totals.result().model_copy(update={"input_tokens": 30, "output_tokens": 10})
    obs = observation(spec, summary, totals.records, "run-1")
    assert {base_metric(name) for name in obs.values} <= set(METRICS), "a metric the profile, drift detector and trends do not know"
    assert obs.values["tokens"] == pytest.approx(40) and obs.values["validity"] == 1.0
    assert obs.values["g:latency_s"] == 2.0 and obs.values["g:tokens"] == 40 and obs.values["g:validity"] == 1.0


def test_a_drift_names_the_stage_that_moved_and_per_stage_figures_raise_no_alarm_of_their_own():
    """The run's latency drifts because its enrich stage got 4x slower: the alarm says where. A stage
    whose own figure wanders while the run's do not raises nothing, and does not hold graduation."""
    from apprentice.monitor.drift import DriftMonitor
    from apprentice.monitor.profile import QualityProfile

    rng = random.Random(3)
    profile, monitor = QualityProfile(workflow="w", version="1"), DriftMonitor()

    def run(generate_s: float, enrich_s: float) -> dict[str, float]:
        generate_s, enrich_s = generate_s * rng.lognormvariate(0, 0.1), enrich_s * rng.lognormvariate(0, 0.1)
        return {"latency_s": generate_s + enrich_s, "generate:latency_s": generate_s, "enrich:latency_s": enrich_s}

    for _ in range(50):
        profile.add(run(2.0, 1.0))
    assert profile.stable(min_count=50)[0]
    wandering = [monitor.check(profile, {**run(2.0, 1.0), "enrich:latency_s": 50.0}, learn=False) for _ in range(20)]
    assert not any(check.alarm for check in wandering), "a stage's own figure alone is no alarm"
    checks = [monitor.check(profile, run(2.0, 4.0)) for _ in range(10)]
    alarm = next(check for check in checks if check.alarm)
    assert alarm.metrics == ["latency_s"] and alarm.stages == ["enrich"] and "in stage enrich" in alarm.reason


def test_a_runs_identity_comes_from_what_it_carried_not_from_its_name():
    incomplete = batch("orders", "2.0.0", made=False)
    assert WorkflowIdentity.carried_by(incomplete) == ("orders", "2.0.0")
    assert WorkflowIdentity.carried_by(BatchIncomplete(incomplete)) == ("orders", "2.0.0")
    spec = default_spec("orders")
    assert WorkflowIdentity.carried_by(RunIncomplete("short", summarise(spec, 1, [batch("orders", "1.0.0")]))) == ("orders", "1.0.0")
    assert WorkflowIdentity.carried_by(ValueError("a bug")) is None
    assert WorkflowIdentity.from_run_name("orders@2.0.0/batch-3") == ("orders", "2.0.0")
    assert WorkflowIdentity.from_run_name("generate-batch-7") is None


def test_status_says_how_far_an_apprentice_is_and_that_a_graduate_graduated(monkeypatch, tmp_path):
    from apprentice.monitor.apprenticeship import State, Step, save_state
    from apprentice.monitor.status import status_markdown, status_rows
    from apprentice.store import WorkflowState

    monkeypatch.setenv("APPRENTICE_DATABASE_URL", f"sqlite:///{tmp_path}/s.db")
    learning = WorkflowState(
        key="a@1", workflow="a", version="1", state=State.apprentice.value, good_executions=4, graduate_after=10, executions=5
    )
    done = WorkflowState(
        key="b@1", workflow="b", version="1", state=State.graduated.value, good_executions=12, graduate_after=10, executions=30
    )
    for row in (learning, done):
        save_state(row, Step(state=State(row.state), previous=State(row.state)), None)
    assert {r["workflow"]: r["graduation"] for r in status_rows()} == {"a@1": "4/10", "b@1": "graduated"}
    step = Step(state=State.apprentice, previous=State.apprentice)
    step.move(State.graduated, "stable")
    markdown = status_markdown(learning, step)
    assert "| 4/10 |" in markdown and "**apprentice → graduated**: stable" in markdown and "Judges: not calibrated yet." in markdown


def test_the_daily_series_is_fed_per_record_under_the_names_its_bounds_are_declared_for(tmp_path):
    from apprentice.trends import BOUNDS, analyse_store, daily_series

    engine = engine_for(f"sqlite:///{tmp_path}/t.db")
    now = utcnow()
    rows = [
        {
            "run_id": f"r{d}",
            "kind": "flow",
            "at": now - timedelta(days=20 - d, hours=1),
            "workflow": "w",
            "version": "1",
            "state": "Completed",
            "records": 10,
            "latency_s": 2.0,
            "validity": 1.0,
            "cost_usd": 0.1,
            "input_tokens": int(300 * 1.04**d),
            "output_tokens": 100,
        }
        for d in range(21)
    ]
    with engine.begin() as conn:
        conn.execute(insert(ExecutionRecord), rows)
    series = daily_series(30, engine)[("w", "1")]
    assert set(series) <= set(BOUNDS), "every series has its own declared bound"
    assert series["tokens"][0] == pytest.approx(40.0) and series["cost_usd"][0] == pytest.approx(0.01)
    (tokens,) = [t.result for t in analyse_store(30, engine=engine) if t.result.metric == "tokens"]
    assert tokens.warning and "bound +5%/week" in tokens.reason
    assert not any(t.result.warning for t in analyse_store(30, engine=engine) if t.result.metric != "tokens")


def test_tier_order_is_declared_once():
    assert [t for t in Tier] == [Tier.fast, Tier.quality, Tier.premium]
    assert Tier.quality.failover == (Tier.quality, Tier.premium, Tier.fast)
    assert Tier.premium.below == (Tier.quality, Tier.fast) and Tier.fast.above == (Tier.quality, Tier.premium)
    assert all(t.rank < u.rank for t in Tier for u in t.above)


def test_canary_margins_come_from_the_workflows_options():
    from apprentice.evolution.shadow import judge_candidate
    from apprentice.monitor.options import CanaryOptions

    live = {"validity": [1.0] * 10, "latency_s": [1.0] * 10, "cost_usd": [0.01] * 10}
    slower = {**live, "latency_s": [1.4] * 10}
    assert not judge_candidate(live, slower)[1], "40% slower is past the default 25% margin"
    assert judge_candidate(live, slower, CanaryOptions(latency_margin=0.5))[1]
