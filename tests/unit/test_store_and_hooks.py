"""The store under concurrent writers (SQLite, and PostgreSQL when reachable), and hooks that
must never fail the user's run."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from sqlmodel import create_engine, select

from apprentice.backends.booking import BookedRun, Purpose, call_row
from apprentice.backends.ledger import spend_by_backend, write_call_rows
from apprentice.monitor.hooks import record_executions
from apprentice.orchestration.hooks import on_task_state
from apprentice.store import ExecutionRecord, engine_for, session


def call(run_id: str) -> dict:
    """A ledger row of one served call, as the pool books it."""
    run = BookedRun(run_id, "w", "1", Purpose.generation)
    return call_row(
        run,
        purpose=None,
        stage="s",
        backend="b",
        model="m",
        tier="fast",
        latency_s=0.1,
        attempts=1,
        input_tokens=3,
        output_tokens=2,
        cost_usd=0.01,
    )


def row(i: int, run: str = "r") -> ExecutionRecord:
    return ExecutionRecord(run_id=f"{run}-{i}", kind="task", workflow="w", version="1", state="Completed")


def hammer(engine) -> None:
    def work(i: int) -> None:
        assert record_executions([row(i)], engine=engine)
        write_call_rows([call(f"t{i}") for _ in range(5)], engine=engine)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(40)))
    with session(engine) as s:
        assert len(s.exec(select(ExecutionRecord)).all()) == 40
    (backend, purpose, calls, tokens, cost) = spend_by_backend("w", engine)[0]
    assert (backend, purpose, calls, tokens) == ("b", "generation", 200, 1000)
    assert cost == pytest.approx(2.0)


def test_sqlite_store_takes_concurrent_writers_without_losing_rows(tmp_path):
    hammer(engine_for(f"sqlite:///{tmp_path}/store.db"))


@pytest.mark.postgres
def test_postgres_store_takes_concurrent_writers():
    psycopg = pytest.importorskip("psycopg")
    admin = "postgresql://root@127.0.0.1:5432/test"
    name = f"apprentice_store_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    engine = engine_for(f"postgresql+psycopg://root@127.0.0.1:5432/{name}")
    try:
        hammer(engine)
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_same_run_recorded_twice_is_one_row(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path}/twice.db")
    record_executions([row(1)], engine=engine)
    record_executions([row(1).model_copy(update={"state": "Failed"})], engine=engine)
    with session(engine) as s:
        rows = s.exec(select(ExecutionRecord)).all()
    assert [r.state for r in rows] == ["Failed"]


def test_unwritable_store_spools_and_the_next_write_drains(tmp_path):
    broken = create_engine(f"sqlite:///{tmp_path}/no-such-dir/store.db")
    spool = tmp_path / "spool.jsonl"
    assert record_executions([row(1, "lost")], engine=broken, spool=spool) is False
    assert spool.is_file()
    good = engine_for(f"sqlite:///{tmp_path}/good.db")
    assert record_executions([row(2, "next")], engine=good, spool=spool)
    with session(good) as s:
        assert {r.run_id for r in s.exec(select(ExecutionRecord))} == {"lost-1", "next-2"}
    assert not spool.exists()


class ExplodingState:
    name = "Completed"

    def is_completed(self) -> bool:
        return True

    def result(self, **_):
        raise RuntimeError("result storage is gone")


def test_a_hook_that_cannot_read_its_state_does_not_raise():
    task_run = SimpleNamespace(id=uuid.uuid4(), tags=["workflow:w", "version:1"])
    on_task_state(task=None, task_run=task_run, state=ExplodingState())
    on_task_state(task=None, task_run=None, state=ExplodingState())  # even a malformed call


def test_execution_rows_carry_a_first_pass_quality_score():
    from apprentice.dataset import BatchPlan, BatchResult
    from apprentice.generation import StageMetrics
    from apprentice.monitor.hooks import batch_rows
    from apprentice.records import RecordOutcome

    def outcome(i: int, valid: bool, corrections: int) -> RecordOutcome:
        return RecordOutcome(index=i, valid=valid, stages=[StageMetrics(stage="g", role="generate", valid=valid, corrections=corrections)])

    result = BatchResult(
        workflow="w",
        version="1",
        plan=BatchPlan(index=0, start=0, count=3, seed=0),
        outcomes=[outcome(0, True, 0), outcome(1, True, 1), outcome(2, False, 2)],
    )
    (row,) = batch_rows("run", "Completed", ("w", "1"), result, None)
    assert row.quality == pytest.approx((1 + 0.5 + 0) / 3) and row.validity == pytest.approx(2 / 3)


def test_flow_rows_carry_the_runs_quality_and_time_per_record_for_the_trend_flow(tmp_path, monkeypatch):
    from apprentice.dataset import BatchPlan, BatchResult, summarise
    from apprentice.generation import StageMetrics
    from apprentice.orchestration.hooks import on_flow_state
    from apprentice.records import RecordOutcome
    from apprentice.trends import daily_series
    from apprentice.workflows import default_spec

    monkeypatch.setenv("APPRENTICE_DATABASE_URL", f"sqlite:///{tmp_path}/trends.db")
    stages = [
        StageMetrics(stage="g", role="generate", valid=True, latency_s=1.0),
        StageMetrics(stage="g", role="generate", valid=True, latency_s=3.0, corrections=1),
    ]
    outcomes = [RecordOutcome(index=i, valid=True, stages=[m]) for i, m in enumerate(stages)]
    summary = summarise(
        default_spec("w"), 2, [BatchResult(workflow="w", version="1", plan=BatchPlan(index=0, start=0, count=2, seed=0), outcomes=outcomes)]
    )
    made = summary.model_copy(update={"generated": 2})
    reused = summary.model_copy(update={"generated": 0, "quality": 1.0, "seconds_per_record": 0.0})  # e.g. served from `$cache`

    def finish(result) -> str:
        run_id = uuid.uuid4()
        state = SimpleNamespace(name="Completed", is_completed=lambda: True, result=lambda **_: result)
        on_flow_state(
            flow=SimpleNamespace(name="generate-dataset"), flow_run=SimpleNamespace(id=run_id, tags=[], parameters={}), state=state
        )
        return str(run_id)

    finish(made)
    with session() as s:
        row = s.get(ExecutionRecord, finish(reused))
        assert row is not None and row.state == "Cached"

    series = daily_series(30)[(summary.workflow, summary.version)]
    assert series["quality"] == [pytest.approx((1 + 0.5) / 2)]  # first-pass quality, one correction halves it
    assert series["latency_s"] == [pytest.approx((1.0 + 3.0) / 2)]  # mean seconds per record; the reuse is not a second data point


def test_a_store_from_an_older_apprentice_gains_new_columns_and_keeps_its_rows(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # `workflow_states` as it was before `source_json` existed
        old.execute("CREATE TABLE workflow_states (key VARCHAR PRIMARY KEY, version VARCHAR, state VARCHAR)")
        old.execute("INSERT INTO workflow_states VALUES ('w@1', '1', 'graduated')")
    engine = engine_for(f"sqlite:///{path}")

    from apprentice.store import WorkflowState

    with session(engine) as s:
        kept = s.get(WorkflowState, "w@1")
    assert kept is not None
    assert (kept.state, kept.source_json, kept.recent_json) == ("graduated", "{}", "[]")
    assert kept.updated_at is not None  # a default factory (utcnow) fills old rows too
    from sqlalchemy import inspect

    assert "ix_workflow_states_workflow" in {i["name"] for i in inspect(engine).get_indexes("workflow_states")}, (
        "an added indexed column gets its index"
    )
    assert record_executions([row(1)], engine=engine)  # tables the old store never had are created too


def test_a_fresh_store_opened_by_many_threads_at_once_is_created_once(tmp_path):
    """Parallel batches write their ledgers at once; on a new store that raced to create tables."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with ThreadPoolExecutor(8) as pool:
        engines = list(pool.map(lambda _: engine_for(url), range(16)))
    assert len({id(e) for e in engines}) == 1


class ServerGone(Exception):
    """What a PostgreSQL driver raises while the server restarts (not an sqlite3 error)."""


def test_a_store_write_and_read_wait_for_a_restarting_server(tmp_path):
    from sqlalchemy.exc import OperationalError

    from apprentice.store import read, write

    engine = engine_for(f"sqlite:///{tmp_path}/store.db")
    tries: list[int] = []

    def flaky(_session) -> str:
        tries.append(1)
        if len(tries) % 3:  # the first two tries of each call find the server shutting down
            raise OperationalError("INSERT ...", {}, ServerGone("FATAL: the database system is shutting down"))
        return "done"

    assert write(flaky, engine) == "done" and len(tries) == 3
    assert read(flaky, engine) == "done" and len(tries) == 6


def test_a_store_error_that_would_answer_the_same_is_not_tried_again(tmp_path):
    from sqlalchemy.exc import IntegrityError

    from apprentice.store import write

    tries: list[int] = []

    def duplicate(_session) -> None:
        tries.append(1)
        raise IntegrityError("INSERT ...", {}, ServerGone("duplicate key"))

    with pytest.raises(IntegrityError):
        write(duplicate, engine_for(f"sqlite:///{tmp_path}/store.db"))
    assert len(tries) == 1
