"""Every model call is booked: the pool writes a ledger row for each backend it tried (served or
failed, with its HTTP attempts), so for a dataset run, an apprenticeship step and an evolution
run (shadow runs, canary gates, a model-proposed mutation) the HTTP requests the model servers
saw are exactly the attempts in the ledger, each row under the purpose it was made for; records
reused from an earlier run or from `$cache` variants make no call and book none."""

from __future__ import annotations

import asyncio
import json
import random
from itertools import count

import httpx
import pytest
from sqlmodel import select

from apprentice.backends.booking import Purpose, booked_as
from apprentice.backends.ledger import LedgerBook, spend_by_purpose
from apprentice.backends.pool import BackendPool
from apprentice.backends.types import ChatMessage, ModelRequest
from apprentice.dataset import BatchPlan, make_batch
from apprentice.errors import BackendUnavailableError
from apprentice.evolution.mutations import model_proposals
from apprentice.evolution.shadow import evolve
from apprentice.monitor.apprenticeship import ApprenticeshipPolicy, Observation, observe
from apprentice.run import generate_async
from apprentice.shapes.schema import compile_shape
from apprentice.store import CallRecord, engine_for, session
from apprentice.workflows import parse_spec
from tests.unit.fakes import CountingTransports, chat_reply, pool_config
from tests.unit.test_calibration import SAMPLE, sharp_judge
from tests.unit.test_run import SHAPE, SPEC, towns

HI = [ChatMessage(role="user", content="hi")]


async def _no_sleep(_seconds: float) -> None:
    return None


def every_nth_busy(server, n: int = 4):
    """`server`, except that every `n`th request is answered 503 (retried by the pool)."""
    seen = count(1)

    def answer(request: httpx.Request):
        return httpx.Response(503, text="busy") if next(seen) % n == 0 else server(request)

    return answer


def booked_pool(store, servers: CountingTransports, *backends: dict, attempts: int = 3) -> BackendPool:
    config = pool_config(*backends, attempts=attempts, failure_threshold=1000)
    return BackendPool(config, transport_factory=servers, sleep=_no_sleep, book=LedgerBook(store))


def ledger(store) -> list[CallRecord]:
    with session(store) as s:
        return list(s.exec(select(CallRecord)).all())


def attempts_booked(store) -> int:
    return sum(row.attempts for row in ledger(store))


@pytest.fixture(autouse=True)
def own_store(monkeypatch, tmp_path):
    """A store of the test's own for what runs keep there (kept records, `$cache` variants), so
    no other test's run reuses them."""
    monkeypatch.setenv("APPRENTICE_DATABASE_URL", f"sqlite:///{tmp_path}/own.db")


@pytest.fixture
def store(tmp_path):
    return engine_for(f"sqlite:///{tmp_path}/ledger.db")


async def test_every_call_of_a_dataset_run_is_booked_as_generation(store, tmp_path):
    servers = CountingTransports({"local": every_nth_busy(towns(rejected=frozenset({2, 5})))})
    pool = booked_pool(store, servers, {"name": "local"})
    summary = await generate_async(SHAPE, n=8, spec=SPEC, out=tmp_path / "towns.jsonl", batch_size=3, pool=pool, record_attempts=1)
    rows = ledger(store)
    assert summary.records == 6 and servers.seen["local"] > len(rows), "corrections and retries were made"
    assert attempts_booked(store) == servers.requests, "every HTTP request the server saw is in the ledger"
    assert {(r.purpose, r.workflow, r.version, r.stage) for r in rows} == {("generation", "towns", "2", "draft")}
    assert len({r.run_id for r in rows}) == 1 and not rows[0].run_id.startswith("unattributed"), "one run id for the run's batches"
    assert sum(r.cost_usd for r in rows) == pytest.approx(summary.cost_usd)


async def test_every_call_of_an_apprenticeship_step_is_booked_as_monitoring_or_calibration(store):
    servers = CountingTransports({"judge": every_nth_busy(lambda r: chat_reply(json.dumps(sharp_judge(prompt_of(r), 0))), n=3)})
    pool = booked_pool(store, servers, {"name": "judge"})
    obs = Observation(workflow="w", version="1", run_id="run-7", values={"validity": 1.0}, sample=SAMPLE)
    step = await observe(pool, obs, ApprenticeshipPolicy(graduate_after=40, calibration_per_run=4), engine=store, rng=random.Random(1))
    rows = ledger(store)
    assert step.calibration and attempts_booked(store) == servers.requests
    assert {r.purpose for r in rows} == {"monitoring", "calibration"}
    assert {(r.run_id, r.workflow, r.version, r.stage) for r in rows} == {("run-7", "w", "1", "judge")}
    assert sum(r.purpose == "calibration" for r in rows) == len(step.calibration)
    assert step.judge_calls == len(rows), "the step's judge calls are the ledger's rows"


def prompt_of(request: httpx.Request) -> str:
    return json.loads(request.content)["messages"][-1]["content"]


async def test_every_call_of_an_evolution_run_is_booked_as_shadow_canary_or_proposal(store):
    shape = compile_shape({"city": "string", "population": 0})
    city = lambda _r: chat_reply(json.dumps({"city": "Oslo", "population": 700_000}))  # noqa: E731
    proposal = {"mutations": [{"stage": "g", "field": "tier", "value": "fast", "reason": "the quality tier answers badly"}]}
    servers = CountingTransports(
        {
            "fast": every_nth_busy(city),
            "quality": lambda r: chat_reply(json.dumps(proposal)) if "Propose" in prompt_of(r) else chat_reply('{"town": "Oslo"}'),
        }
    )
    pool = booked_pool(store, servers, {"name": "fast", "tier": "fast"}, {"name": "quality", "tier": "quality"})
    stage = {"name": "g", "role": "generate", "tier": "quality", "corrections": 0}
    live = parse_spec({"name": "towns", "version": "1.0.0", "stages": [stage]})
    with booked_as(Purpose.proposal, workflow=live.name, version=live.version, run_id="evolution-1"):  # what the evolution flow sets
        [(mutation, candidate)] = await model_proposals(pool, live, {"validity": 0.0})
        candidate = candidate.model_copy(update={"version": "1.1.0"})
        report = await evolve(pool, live, [(mutation, candidate)], shape, seeds=list(range(6)), engine=store)
    rows = ledger(store)
    assert report.promoted == candidate.key and len(report.ramp) == 3
    assert attempts_booked(store) == servers.requests
    assert {r.run_id for r in rows} == {"evolution-1"}
    assert {(r.purpose, r.version) for r in rows} == {("proposal", "1.0.0"), ("shadow", "1.0.0"), ("shadow", "1.1.0"), ("canary", "1.1.0")}
    assert sum(r.purpose == "canary" for r in rows) == 3 * 6, "each ramp step gates on six fresh records"


async def test_a_failed_call_is_booked_with_its_error_kind_and_every_attempt(store):
    servers = CountingTransports({"a": lambda _r: httpx.Response(500, text="down"), "b": lambda _r: chat_reply("{}")})
    pool = booked_pool(store, servers, {"name": "a"}, {"name": "b", "tier": "quality"})
    alone = booked_pool(store, servers, {"name": "a"})
    with booked_as(Purpose.generation, workflow="w", version="1", run_id="r"):
        served = await pool.complete(ModelRequest(messages=HI, stage="s"), backend="a")
        with pytest.raises(BackendUnavailableError):
            await alone.complete(ModelRequest(messages=HI, stage="s"))
    await pool.aclose()
    await alone.aclose()
    rows = sorted(ledger(store), key=lambda r: r.id or 0)
    assert served.backend == "b" and served.failed_over_from == ["a"]
    assert [(r.backend, r.error, r.attempts, r.failed_over_from) for r in rows] == [
        ("a", "http_status", 3, ""),
        ("b", "", 1, "a"),
        ("a", "http_status", 3, ""),
    ]
    assert attempts_booked(store) == servers.requests == 7
    [generation] = spend_by_purpose("w", store)
    assert (generation.calls, generation.failed, generation.attempts) == (3, 2, 7)


async def test_a_call_outside_any_booked_run_is_booked_as_unattributed(store):
    servers = CountingTransports({"a": lambda _r: chat_reply("{}")})
    pool = booked_pool(store, servers, {"name": "a"})
    await pool.complete(ModelRequest(messages=HI, stage="forgotten"))
    await pool.aclose()
    assert [(r.purpose, r.run_id, r.stage) for r in ledger(store)] == [("unattributed", "unattributed", "forgotten")]


async def test_records_resumed_from_an_incomplete_batch_book_no_call(store):
    spec, shape = parse_spec(SPEC), compile_shape(SHAPE)
    plan = BatchPlan(index=0, start=0, count=4, seed=1, total=4)
    outage = CountingTransports({"local": towns(down=frozenset({3}))})
    first = await make_batch(booked_pool(store, outage, {"name": "local"}, attempts=1), spec, shape, plan, run_id="first")
    assert len(first.not_made) == 1 and attempts_booked(store) == outage.requests
    servers = CountingTransports({"local": towns()})
    second = await make_batch(booked_pool(store, servers, {"name": "local"}), spec, shape, plan, run_id="second")
    assert second.kept == [0, 1, 2] and servers.requests == 1, "only the missing record is made"
    assert [(r.run_id, r.attempts) for r in ledger(store) if r.run_id == "second"] == [("second", 1)]


async def test_records_served_from_cache_variants_book_no_call(store, tmp_path):
    servers = CountingTransports({"local": lambda _r: chat_reply(json.dumps({"city": "Oslo", "population": 700_000}))})
    pool = booked_pool(store, servers, {"name": "local"})
    shape = {**SHAPE, "$cache": 3}
    await generate_async(shape, n=5, spec=SPEC, out=tmp_path / "a.jsonl", pool=pool, seed=1)
    made = len(ledger(store))
    await generate_async(shape, n=20, spec=SPEC, out=tmp_path / "b.jsonl", pool=pool, seed=2)
    assert made == 3 == servers.requests and len(ledger(store)) == made, "served variants made and booked nothing"


async def test_a_call_cut_short_by_a_records_time_budget_is_booked_as_cancelled(store):
    async def answer(request: httpx.Request) -> httpx.Response:
        prompt = prompt_of(request)
        if "record number" not in prompt:  # the correction the second record asks for outlives its budget
            await asyncio.sleep(30)
        broken = "record number 2" in prompt
        return chat_reply(json.dumps({"town": "?"} if broken else {"city": "Oslo", "population": 700_000}))

    servers = CountingTransports({"local": answer})
    spec = parse_spec({**SPEC, "record_timeout_s": 1.0})
    plan = BatchPlan(index=0, start=0, count=2, seed=1, total=2)
    batch = await make_batch(booked_pool(store, servers, {"name": "local"}), spec, compile_shape(SHAPE), plan, concurrency=1)
    assert [o.failure for o in batch.outcomes] == [None, "timed_out"]
    assert [r.error for r in ledger(store)] == ["", "", "cancelled"] and attempts_booked(store) == servers.requests == 3


def test_status_and_the_artifacts_show_what_calls_cost_by_purpose(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from apprentice.backends.booking import BookedRun, call_row
    from apprentice.backends.ledger import write_call_rows
    from apprentice.cli import app
    from apprentice.dataset import DatasetSummary
    from apprentice.monitor.apprenticeship import load_state
    from apprentice.monitor.status import spend_markdown, status_markdown
    from apprentice.orchestration.artifacts import summary_markdown

    run = BookedRun("r1", "towns", "1", Purpose.generation)
    calls = [
        (None, 2, 10, 0.25, ""),
        (None, 1, 10, 0.25, ""),
        (Purpose.monitoring, 1, 10, 0.125, ""),
        (Purpose.canary, 3, 0, 0.0, "timeout"),
    ]
    booked = [
        call_row(
            run, purpose=p, stage="s", backend="b", model="m", tier="fast", latency_s=0.1, attempts=a, input_tokens=t, cost_usd=c, error=e
        )
        for p, a, t, c, e in calls
    ]
    write_call_rows(booked)
    shown = CliRunner().invoke(app, ["status", "towns"], env={"COLUMNS": "200"}).stdout
    table = [[cell.strip() for cell in line.strip("│ ").split("│")] for line in shown.splitlines() if line.startswith("│")]
    assert table == [
        ["generation", "2", "0", "3", "20 in / 0 out", "0.5000"],
        ["monitoring", "1", "0", "1", "10 in / 0 out", "0.1250"],
        ["canary", "1", "1", "3", "0 in / 0 out", "0.0000"],
    ], shown
    assert "| canary | 1 | 1 | 3 | 0 in / 0 out | 0.0000 |" in status_markdown(load_state("towns", "1")), "the status artifact"
    run_artifact = summary_markdown(DatasetSummary(workflow="towns", version="1", requested=1), spend_markdown("towns"))
    assert "| generation | 2 | 0 | 3 | 20 in / 0 out | 0.5000 |" in run_artifact


def test_a_flush_waits_for_what_was_booked_before_it_not_for_what_others_keep_booking():
    import threading
    import time

    from apprentice.store.writer import BatchedWriter

    written: list[tuple[str, int]] = []

    def write(items: list[tuple[str, int]]) -> None:  # a store that takes 50 ms a transaction
        time.sleep(0.05)
        written.extend(items)

    writer: BatchedWriter[tuple[str, int]] = BatchedWriter(write, name="test-writer", batch_size=100_000, linger_s=5.0)
    stop, put = threading.Event(), [("mine", 0)]

    def another_batch_still_making_calls() -> None:
        for i in count():
            if stop.wait(0.001):
                return
            writer.put(("other", i))
            put.append(("other", i))

    producer = threading.Thread(target=another_batch_still_making_calls)
    producer.start()
    try:
        writer.put(("mine", 0))
        flushing = threading.Thread(target=writer.flush)
        flushing.start()
        flushing.join(timeout=3.0)  # well under the writer's 5 s linger
        assert not flushing.is_alive() and ("mine", 0) in written, "a batch's end does not wait for the other batch to end"
    finally:
        stop.set()
        producer.join()
        writer.close()
    assert sorted(written) == sorted(put), "close wrote everything, once"
