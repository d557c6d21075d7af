"""Self-simplification: stages, rounds and committees that add nothing are proposed for removal
from what real pattern runs recorded per stage; noise is not; removals go through evolution;
costly versions are retired."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from apprentice.evolution.candidates import candidates
from apprentice.evolution.registry import VersionStatus, add_avoidance, register, versions
from apprentice.evolution.shadow import evolve
from apprentice.learning.simplify import (
    Removal,
    candidate_from,
    proposals_for,
    propose_specialists,
    retirements,
    take_retirements,
    taken_for,
)
from apprentice.monitor.hooks import metric_rows, record_executions
from apprentice.patterns import run_pattern
from apprentice.records import RecordContext
from apprentice.shapes.schema import compile_shape
from apprentice.store import ExecutionRecord, engine_for
from apprentice.workflows import WorkflowSpec, parse_spec
from tests.unit.fakes import Backend, make_pool

SHAPE = compile_shape({"city": "string", "population": 0})
TOWN = {"city": "Oslo", "population": 700_000}


def number(prompt: str) -> int:
    """The record a generation prompt asks for ("Create record number N"); 0 for any other prompt."""
    found = re.search(r"record number (\d+)", prompt)
    return int(found[1]) if found else 0


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """A private store, also the default one (the evolution path reads the default store)."""
    url = f"sqlite:///{tmp_path}/simplify.db"
    monkeypatch.setenv("APPRENTICE_DATABASE_URL", url)
    return engine_for(url)


def spec_of(stages: list[dict], **settings) -> WorkflowSpec:
    return parse_spec({"name": "towns", "sampling": False, "realism_checks": False, "stages": stages, **settings})


def run_and_record(pool, spec: WorkflowSpec, engine, tmp_path, *, records: int, batch: int = 40, request_class: str = "") -> None:
    """Run `records` records through the real pattern and record their stage rows, a batch at a time, as the hooks do."""

    async def run():
        context = RecordContext(n=records)
        return await asyncio.gather(*(run_pattern(pool, spec, SHAPE, index=i, seed=i, context=context) for i in range(records)))

    outcomes = asyncio.run(run())
    rows = []
    for start in range(0, records, batch):
        metrics = [m for outcome in outcomes[start : start + batch] for m in outcome.stages]
        rows += metric_rows(f"task-{spec.key}-{request_class}-{start}", "Completed", (spec.name, spec.version), metrics, None, "batch")
    for row in rows:
        row.request_class = request_class
    assert record_executions(rows, engine=engine, spool=tmp_path / "spool.jsonl")


def do_nothing_spec() -> WorkflowSpec:
    """generate → polish (an enrich stage whose model hands the record back as it got it) → check."""
    return spec_of(
        [
            {"name": "write", "role": "generate", "corrections": 0},
            {"name": "polish", "role": "enrich", "corrections": 0},
            {"name": "check", "role": "validate"},
        ]
    )


def test_a_stage_that_changes_nothing_is_proposed_for_removal_and_the_writer_is_not(engine, tmp_path):
    pool = make_pool(f=("fast", Backend(lambda _p, _n: TOWN)))  # every stage answers the same record
    spec = do_nothing_spec()
    run_and_record(pool, spec, engine, tmp_path, records=120)
    proposals = {(p.removal, p.target): p for p in proposals_for(spec.key, spec=spec)}
    assert set(proposals) == {(Removal.stage, "polish"), (Removal.stage, "check")}
    polish = proposals[(Removal.stage, "polish")].evidence
    assert polish.n == 120 and polish.helped == 0 and polish.p_value < 0.05 and polish.quality_with == polish.quality_without == 1.0
    check = proposals[(Removal.stage, "check")].evidence
    assert check.n == 120 and check.helped == 0 and check.quality_without == 1.0


def test_a_stage_that_fixes_records_is_not_proposed(engine, tmp_path):
    sloppy = Backend(lambda p, _n: {"city": "Oslo"} if number(p) % 8 == 0 else TOWN)  # one record in eight lacks its population
    pool = make_pool(f=("fast", sloppy), q=("quality", Backend(lambda _p, _n: TOWN)))
    spec = spec_of(
        [{"name": "write", "role": "generate", "backend": "f", "corrections": 0}, {"name": "check", "role": "validate", "backend": "q"}]
    )
    run_and_record(pool, spec, engine, tmp_path, records=120)
    assert proposals_for(spec.key, spec=spec) == []
    rows = [r for r in versions_rows(engine) if r.stage == "check"]
    assert sum(r.fixed_records for r in rows) == 15 and sum(r.measured_records for r in rows) == 120  # it fixed what it got wrong


def versions_rows(engine) -> list[ExecutionRecord]:
    from sqlmodel import select

    from apprentice.store import read

    return read(lambda s: list(s.exec(select(ExecutionRecord))), engine)


def test_noise_below_the_minimum_sample_proposes_nothing(engine, tmp_path):
    pool = make_pool(f=("fast", Backend(lambda _p, _n: TOWN)))
    spec = do_nothing_spec()
    run_and_record(pool, spec, engine, tmp_path, records=60, batch=30)  # helped none of 60 records: too few to say
    assert proposals_for(spec.key, spec=spec) == []


def test_a_class_is_judged_on_its_own_runs_and_status_shows_what_is_proposed(engine, tmp_path):
    from typer.testing import CliRunner

    from apprentice.cli import app

    spec = do_nothing_spec()
    for request_class, records in (("flat·small", 120), ("nested·medium", 60)):
        idle = make_pool(f=("fast", Backend(lambda _p, _n: TOWN)))  # a pool per event loop
        run_and_record(idle, spec, engine, tmp_path, records=records, batch=20, request_class=request_class)
    flat = proposals_for("flat·small")
    assert {(p.subject, p.target, p.evidence.n) for p in flat} == {("flat·small", "polish", 120), ("flat·small", "check", 120)}
    assert proposals_for("nested·medium") == []  # its own 60 records are too few, whatever the other class showed
    assert proposals_for("nested·large") == []  # a class the store has not seen: nothing is known
    shown = CliRunner().invoke(app, ["status", "towns"], env={"COLUMNS": "250"})  # the workflow's view: every class's runs
    assert shown.exit_code == 0, shown.output
    assert "remove stage 'polish'" in shown.output and "changed 0 of 180 records" in shown.output and "none taken yet" in shown.output


def test_correction_rounds_that_never_fix_are_dropped_and_the_first_is_kept(engine, tmp_path):
    drafts = [{"city": "Oslo", "population": "many"}, {"town": 1}, TOWN, TOWN]  # one in four fixable, one in four hopeless
    writer = Backend(lambda p, _n: drafts[number(p) % 4])
    corrector = Backend(lambda prompt, _n: TOWN if '"many"' in prompt else {"town": 1})  # fixes the fixable in round 1, never the rest
    pool = make_pool(g=("fast", writer), c=("premium", corrector))  # on the top tier a round cannot escalate
    spec = spec_of(
        [{"name": "write", "role": "generate", "backend": "g"}, {"name": "fix", "role": "correct", "tier": "premium"}],
        pattern="correct_loop",
        max_rounds=3,
    )
    run_and_record(pool, spec, engine, tmp_path, records=240, batch=80)
    rounds = [p for p in proposals_for(spec.key, spec=spec) if p.removal is Removal.correction_rounds]
    assert [p.target for p in rounds] == ["2"] and rounds[0].evidence.n == 120 and rounds[0].evidence.helped == 0
    made = candidate_from(rounds[0], spec)
    assert made is not None and made[1].max_rounds == 1 and made[0].operator == "drop_correction_rounds"


def test_a_committee_whose_best_member_suffices_becomes_that_member(engine, tmp_path):
    pool = make_pool(a=("fast", Backend(lambda _p, _n: TOWN)), b=("quality", Backend(lambda p, _n: TOWN if number(p) % 2 else {"town": 1})))
    spec = spec_of(
        [
            {"name": "cheap", "role": "generate", "backend": "a", "corrections": 0},
            {"name": "dear", "role": "generate", "backend": "b", "corrections": 0},
        ],
        pattern="consensus",
    )
    run_and_record(pool, spec, engine, tmp_path, records=120)
    committee = [p for p in proposals_for(spec.key, spec=spec) if p.removal is Removal.committee]
    assert [p.target for p in committee] == ["cheap"] and committee[0].evidence.quality_without == 1.0
    made = candidate_from(committee[0], spec)
    assert made is not None and made[1].pattern == "sequential" and [s.name for s in made[1].stages] == ["cheap"]


def test_a_removal_goes_through_evolution_and_a_rejected_one_is_avoided(engine, tmp_path):
    slow = Backend(lambda _p, _n: TOWN, delay=0.05)  # the idle polish stage costs a call's time
    pool = make_pool(f=("fast", slow))
    live = do_nothing_spec()
    run_and_record(pool, live, engine, tmp_path, records=120)
    tried = asyncio.run(candidates(pool, live, limit=1, ask_model=False))
    removals = [(m, s) for m, s in tried if m.operator == "remove_stage"]
    assert {m.target for m, _ in removals} == {"polish", "check"}
    assert all(WorkflowSpec.model_validate(s.model_dump()) == s and s.version != live.version for _, s in removals)
    without_polish = next((m, s) for m, s in removals if m.target == "polish")
    report = asyncio.run(evolve(pool, live, [without_polish], SHAPE, seeds=list(range(6)), engine=engine))
    assert report.promoted == without_polish[1].key, report
    assert [r.key for r in taken_for("towns")] == [without_polish[1].key]
    add_avoidance(without_polish[0], "shadow run: worse on validity", without_polish[1].key)
    again = asyncio.run(candidates(pool, live, limit=1, ask_model=False))
    assert "polish" not in {m.target for m, _ in again if m.operator == "remove_stage"}


def flow_runs(spec: WorkflowSpec, engine, *, cost: float, validity: float, runs: int = 8) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [
        ExecutionRecord(
            run_id=f"flow-{spec.key}-{i}",
            kind="flow",
            at=start + timedelta(hours=i),
            workflow=spec.name,
            version=spec.version,
            state="Completed",
            records=100,
            valid_records=int(100 * validity),
            validity=validity,
            cost_usd=cost * (1 + 0.01 * i),
        )
        for i in range(runs)
    ]
    assert record_executions(rows, engine=engine)


def test_a_version_that_costs_more_for_no_better_quality_is_retired_and_a_good_one_is_not(engine):
    from apprentice.evolution.mutations import switch_tier

    parent = spec_of([{"name": "write", "role": "generate"}])
    up, dearer = next((m, s) for m, s in switch_tier(parent) if m.change == {"tier": "up"})
    dearer = dearer.model_copy(update={"version": "1.1.0"})
    cheaper = parent.model_copy(update={"version": "1.2.0", "description": "same stages, cheaper backend"})
    register(parent, status=VersionStatus.live, traffic=1.0, engine=engine)
    register(dearer, parent=parent.key, mutation=up, engine=engine)
    register(cheaper, parent=parent.key, mutation=up.model_copy(update={"change": {"tier": "down"}}), engine=engine)
    flow_runs(parent, engine, cost=1.0, validity=0.95)
    flow_runs(dearer, engine, cost=3.0, validity=0.95)  # three times the cost, same validity
    flow_runs(cheaper, engine, cost=0.5, validity=0.95)
    found = retirements("towns", engine=engine)
    assert [r.target for r in found] == [dearer.key] and found[0].evidence.p_value < 0.05
    assert [r.target for r in take_retirements("towns", engine=engine)] == [dearer.key]
    statuses = {v.key: v.status for v in versions("towns", engine)}
    assert statuses[dearer.key] == "retired" and statuses[cheaper.key] == "candidate" and statuses[parent.key] == "live"
    assert [r.key for r in taken_for("towns", engine=engine)] == [dearer.key]


def test_a_recurring_class_gets_a_specialist_and_a_rare_one_does_not(engine):
    parent = spec_of([{"name": "write", "role": "generate"}])
    made = propose_specialists(parent, {"flat-records/short": 25, "deep/rare": 3}, engine=engine)
    assert [(v.workflow, v.parent, v.status) for v in made] == [("towns--flat-records-short", parent.key, "candidate")]


def test_a_batch_carries_its_request_class_into_its_execution_rows():
    from apprentice.dataset import BatchPlan, first_states
    from apprentice.learning.requests import class_of, features_of
    from apprentice.monitor.hooks import stage_rows

    spec = do_nothing_spec()
    states = first_states(spec, SHAPE, BatchPlan(index=0, start=0, count=2, seed=1, total=500), {})
    assert states.request_class == class_of(features_of(SHAPE.json_schema, spec, n=500)) != ""
    rows = stage_rows("task-1", "Completed", (spec.name, spec.version), states, None, "write")
    assert [r.request_class for r in rows] == [states.request_class]
