"""`apprentice preview` (records, field plan and profile, made without a Prefect flow), the live
progress of CLI runs (its arithmetic, and its silence off a terminal), and the sample
artifact's columns (the record's own fields first)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import httpx
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from apprentice import cli
from apprentice.backends.pool import BackendPool
from apprentice.dataset import BatchPlan, BatchResult
from apprentice.generation import StageMetrics
from apprentice.orchestration.artifacts import PATTERN_CHARS, sample_rows
from apprentice.preview import field_profiles, make_preview
from apprentice.progress import RunTally, batch_finished, listening, live_progress
from apprentice.records import FailureKind, RecordOutcome
from tests.unit.fakes import pool_config
from tests.unit.mockapi_fakes import FakeModel

PERSON = {"name": "string", "email": "email", "age": 0, "city": "string", "bio": "A short biography"}


def outcome(index: int, valid: bool = True, cost: float = 0.0, record=None, **extra) -> RecordOutcome:
    stages = [StageMetrics(stage="generate", role="generate", cost_usd=cost)]
    return RecordOutcome(index=index, valid=valid, record=record, stages=stages, **extra)


def batch(*outcomes: RecordOutcome) -> BatchResult:
    return BatchResult(workflow="w", version="1", plan=BatchPlan(index=0, start=0, count=len(outcomes), seed=0), outcomes=list(outcomes))


def fake_pool() -> BackendPool:
    model = FakeModel()
    return BackendPool(
        pool_config({"name": "generator", "tier": "fast"}, attempts=1), transport_factory=lambda cfg: httpx.MockTransport(model)
    )


# --- the progress model ------------------------------------------------------------------------


def test_the_tally_counts_done_failed_and_cost_and_projects_the_rest():
    tally = RunTally(total=10, started=100.0)
    tally.add(batch(outcome(0, cost=0.002), outcome(1, cost=0.001), outcome(2, valid=False, failure=FailureKind.content, cost=0.0005)))
    tally.add(batch(outcome(3, valid=False, failure=FailureKind.backend)))
    assert (tally.done, tally.failed, tally.finished) == (2, 2, 4)
    assert tally.cost_usd == pytest.approx(0.0035)
    assert tally.rate(now=102.0) == pytest.approx(2.0)  # 4 records in 2 s
    assert tally.eta(now=102.0) == timedelta(seconds=3)  # 6 left at 2 a second
    assert tally.line(now=102.0) == "2/10 done · 2 failed · 2.0 records/s · 0:00:03 left · $0.0035"


def test_before_any_record_there_is_no_rate_and_no_estimate():
    tally = RunTally(total=5, started=50.0)
    assert tally.rate(now=50.0) == 0.0 and tally.eta(now=60.0) is None
    assert "– left" in tally.line(now=60.0)


def test_a_listener_hears_finished_batches_only_while_it_listens():
    heard: list[BatchResult] = []
    with listening(heard.append):
        batch_finished(batch(outcome(0)))
    batch_finished(batch(outcome(1)))
    assert [b.outcomes[0].index for b in heard] == [0]


def test_a_terminal_sees_the_live_line_and_a_pipe_sees_nothing():
    terminal, pipe = io.StringIO(), io.StringIO()
    with live_progress(2, Console(file=terminal, force_terminal=True, width=200)) as shown:
        batch_finished(batch(outcome(0, cost=0.01), outcome(1)))
    with live_progress(2, Console(file=pipe)) as quiet:
        batch_finished(batch(outcome(0)))
    assert "2/2 done · 0 failed" in terminal.getvalue() and shown.done == 2
    assert pipe.getvalue() == "" and quiet.done == 0  # not even counted: nobody listens


def test_a_cli_run_under_clirunner_prints_no_progress():
    async def flow() -> str:
        batch_finished(batch(outcome(0), outcome(1)))
        return "finished"

    app = typer.Typer()
    app.command()(lambda: cli.console.print(cli.run_flow(flow(), records=2)))
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "finished"


# --- preview -------------------------------------------------------------------------------------


async def test_preview_makes_valid_records_with_their_plan_and_a_profile_per_field():
    made = await make_preview(PERSON, n=4, pool=fake_pool())
    assert len(made.records) == 4 and not made.rejects
    assert made.field_plan is not None and {f.name for f in made.field_plan.fields} == set(PERSON)
    profiles = {p.field: p for p in made.profiles}
    assert list(profiles) == list(PERSON)
    assert profiles["age"].types == ["integer"] and " – " in profiles["age"].spread
    assert profiles["email"].types == ["string"] and profiles["email"].distinct_ratio == 1.0


def test_a_profile_gives_range_for_numbers_top_values_otherwise_and_the_defects():
    records = [{"n": 3, "tag": "a", "x": None}, {"n": 9, "tag": "a"}, {"n": 5, "tag": "b", "x": 1}]
    profiles = {p.field: p for p in field_profiles(records, {"tag": {"placeholder": 2}})}
    assert profiles["n"].spread == "3 – 9" and profiles["n"].distinct_ratio == 1.0
    assert profiles["tag"].spread == "a ×2, b ×1" and profiles["tag"].distinct_ratio == pytest.approx(2 / 3)
    assert profiles["tag"].defects == {"placeholder": 2}
    assert profiles["x"].types == ["null", "integer"]
    assert [p.field for p in field_profiles([1, 2, 2])] == ["value"]


def test_the_preview_command_prints_records_plan_and_profile(tmp_path, monkeypatch):
    shape = tmp_path / "person.json"
    shape.write_text(json.dumps(PERSON))
    monkeypatch.setattr("apprentice.preview.open_pool", lambda backends_file=None: fake_pool())
    result = CliRunner().invoke(cli.app, ["preview", str(shape), "-n", "3"])
    assert result.exit_code == 0, result.output
    assert "3 record(s) from person@" in result.output
    assert "field plan" in result.output and "profile" in result.output


# --- the sample artifact ---------------------------------------------------------------------------


def test_the_sample_table_shows_the_records_own_fields_first():
    long_meta = {"tier": "fast", "votes": list(range(200))}
    rows = sample_rows(
        [
            outcome(1, valid=False, reason="age: -1 is less than 0", failure=FailureKind.content),
            outcome(0, record={"name": "Kari", "tags": ["a"], "reason": "a record field"}, meta=long_meta),
        ]
    )
    assert list(rows[0]) == ["name", "tags", "reason", "valid", "_reason", "index", "pattern"]
    assert rows[0]["tags"] == '["a"]' and rows[0]["reason"] == "a record field" and rows[0]["valid"] is True
    assert len(rows[0]["pattern"]) == PATTERN_CHARS and rows[0]["pattern"].startswith('{"tier": "fast"')
    assert rows[1] == {"valid": False, "reason": "age: -1 is less than 0", "index": 1, "pattern": ""}
