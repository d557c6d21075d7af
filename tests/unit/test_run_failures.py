"""A run that made nothing never looks green: a dead embedded server is named and restarted once,
records no backend could make are marked and resumed, short runs fail in one line."""

from __future__ import annotations

import asyncio
import pickle
import sys
import time

import httpx
import pytest

from apprentice import resume
from apprentice.backends import local
from apprentice.backends.pool import BackendPool
from apprentice.backends.types import ChatMessage, ModelRequest
from apprentice.dataset import BatchIncomplete, generate_batch, plan_batches, shortfall, summarise
from apprentice.errors import BackendUnavailableError
from apprentice.records import FailureKind
from apprentice.shapes.schema import compile_shape
from apprentice.store import engine_for
from apprentice.workflows import default_spec

from .fakes import Script, chat_reply, pool_config, transports

REQUEST = ModelRequest(messages=[ChatMessage(role="user", content="hi")], stage="s")
EMBEDDED = {"name": "local", "embedded": True, "base_url": "http://127.0.0.1:9/v1"}


class FakeSupervisor:
    def __init__(self, *recoveries: local.Recovery) -> None:
        self.recoveries = list(recoveries)
        self.calls = 0

    async def recover(self, backend):
        self.calls += 1
        return self.recoveries.pop(0)


async def _no_sleep(_seconds: float) -> None:
    return None


def make_pool(config, script, supervisor=None) -> BackendPool:
    return BackendPool(config, transport_factory=transports({"local": script}), supervisor=supervisor, sleep=_no_sleep)


def test_a_death_by_signal_is_named_with_the_signal_and_the_log():
    death = local.ServerDeath(returncode=132, log_tail="Fatal Python error: Illegal instruction")
    assert death.describe() == "the local model server died (SIGILL, illegal instruction): Fatal Python error: Illegal instruction"
    assert local.ServerDeath(returncode=1).describe() == "the local model server died (exit code 1)"


def test_a_launched_server_that_dies_leaves_its_exit_status_and_log_behind(tmp_path):
    server = local.LocalServer(port=9, home=tmp_path)
    crash = "import os, signal; print('Fatal Python error: Illegal instruction', flush=True); os.kill(os.getpid(), signal.SIGILL)"
    process = local.launch(server, [sys.executable, "-c", crash])
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while local.death(server) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    death = local.death(server)
    assert death is not None and death.signal_number == 4
    assert "SIGILL" in death.describe() and "Fatal Python error: Illegal instruction" in death.describe()


async def test_a_dead_embedded_server_is_restarted_and_the_call_succeeds():
    script = Script(httpx.ConnectError("refused"), chat_reply('{"a": 1}'))
    supervisor = FakeSupervisor(local.Recovery(restarted=True, cause="the local model server died (SIGILL, illegal instruction)"))
    pool = make_pool(pool_config(EMBEDDED), script, supervisor)
    result = await pool.complete(REQUEST)
    assert result.text == '{"a": 1}'
    assert supervisor.calls == 1


async def test_a_server_that_stays_dead_is_the_reason_the_user_sees_even_with_the_circuit_open():
    cause = "the local model server died (SIGILL, illegal instruction); it was restarted once already"
    script = Script(httpx.ConnectError("refused"))
    supervisor = FakeSupervisor(*[local.Recovery(cause=cause)] * 10)
    pool = make_pool(pool_config(EMBEDDED, failure_threshold=2), script, supervisor)
    for _ in range(3):
        with pytest.raises(BackendUnavailableError) as failure:
            await pool.complete(REQUEST)
        assert "SIGILL" in str(failure.value)
    assert "circuit open after: the local model server died (SIGILL" in str(failure.value)


async def test_the_supervisor_restarts_a_dead_server_once_then_gives_up(tmp_path, monkeypatch):
    from apprentice.config import Settings

    settings = Settings(home=tmp_path, local_port=9)
    server = local.LocalServer.from_settings(settings)
    server.exit_file.write_text("132\n")
    started: list[int] = []
    monkeypatch.setattr(local, "is_listening", lambda *_a, **_k: False)

    def fake_start(s, **_k) -> int:
        started.append(s.port)
        return 1

    monkeypatch.setattr(local, "start", fake_start)
    supervisor = local.EmbeddedSupervisor(settings)
    backend = pool_config(EMBEDDED).backends[0]
    first = await supervisor.recover(backend)
    assert first.restarted and "SIGILL" in (first.cause or "")
    second = await supervisor.recover(backend)
    assert not second.restarted and "restarted once already" in (second.cause or "")
    assert started == [9]


SHAPE = compile_shape({"city": "string", "population": 0})


async def test_records_no_backend_could_make_are_marked_and_a_rerun_makes_only_them(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    spec = default_spec("cities")
    plan = plan_batches(4, 4, seed=1)[0]
    down = Script(httpx.ConnectError("refused"))
    config = pool_config({"name": "local"}, attempts=1, failure_threshold=100)
    pool = BackendPool(config, transport_factory=transports({"local": down}), sleep=_no_sleep)
    first = await generate_batch(pool, spec, SHAPE, plan, kept={})
    assert [o.failure for o in first.outcomes] == [FailureKind.backend] * 4
    summary = summarise(spec, 4, [first])
    assert (summary.records, summary.invalid, summary.not_made) == (0, 0, 4)
    assert "made 0 of 4 records; 4 were not made because backends failed" in (shortfall(summary) or "")
    carried = pickle.loads(pickle.dumps(BatchIncomplete(first)))  # as Prefect and Dask carry it
    assert carried.result == first and "4 of 4 records not made" in str(carried)

    made = first.outcomes[0].model_copy(update={"valid": True, "record": {"city": "Oslo", "population": 700000}, "failure": None})
    key = plan.cache_key(spec, SHAPE)
    resume.keep(key, [made], engine)
    up = Script(chat_reply('{"city": "Bergen", "population": 285000}'))
    pool = BackendPool(config, transport_factory=transports({"local": up}), sleep=_no_sleep)
    second = await generate_batch(pool, spec, SHAPE, plan, kept=resume.kept(key, engine))
    assert [o.valid for o in second.outcomes] == [True] * 4
    assert second.outcomes[0].record == {"city": "Oslo", "population": 700000}  # kept as made, not made again
    assert second.kept == [0] and [o.index for o in second.made_now] == [1, 2, 3]
    assert len(up.requests) == 3
    resume.forget(key, engine)
    assert resume.kept(key, engine) == {}


def test_a_run_whose_records_were_all_rejected_for_content_fails_and_a_partial_one_does_not():
    spec = default_spec("cities")
    from apprentice.dataset import BatchResult
    from apprentice.records import RecordOutcome

    def run(valid: list[bool]):
        outcomes = [
            RecordOutcome(index=i, valid=v, failure=None if v else FailureKind.content, reason=None if v else "bad")
            for i, v in enumerate(valid)
        ]
        return summarise(
            spec, len(valid), [BatchResult(workflow="c", version="1", plan=plan_batches(len(valid), 10, 0)[0], outcomes=outcomes)]
        )

    assert "every one was rejected for its content" in (shortfall(run([False, False])) or "")
    assert shortfall(run([True, False])) is None
    assert shortfall(run([True, True])) is None


def test_doctor_reads_the_builds_cpu_features_and_names_what_this_cpu_lacks(tmp_path):
    from apprentice import doctor

    info = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | F16C = 0 | LLAMAFILE = 1 |"
    assert doctor.build_features(info) == ["SSE3", "AVX", "AVX2", "AVX512", "AMX_INT8"]
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor: 0\nflags\t\t: fpu sse pni avx avx2 fma\n")
    flags = doctor.machine_flags(cpuinfo)
    assert flags is not None and {doctor.CPU_FLAGS[f] for f in ["AVX512", "AMX_INT8"]} - flags == {"avx512f", "amx_int8"}


def test_doctor_says_a_build_that_dies_on_a_real_prompt_dies_by_sigill_and_how_to_fix_it(tmp_path, monkeypatch):
    from apprentice import doctor

    crash = (
        "import json, os, signal\n"
        "print(json.dumps({'system_info': 'CPU : AVX = 1 | AVX2 = 1 | AVX512 = 1 |'}), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGILL)\n"
    )
    monkeypatch.setattr(doctor, "_CHILD", crash)
    check = doctor.check_build(tmp_path / "model.gguf")
    assert not check.ok
    assert "dies with SIGILL (illegal instruction) on a multi-token prompt; build uses AVX AVX2 AVX512" in check.detail
    assert check.fix == doctor.REBUILD


def test_a_record_past_its_time_budget_is_not_made_in_time_and_the_batch_goes_on():
    import asyncio

    from apprentice.workflows import parse_spec
    from tests.unit.fakes import Backend
    from tests.unit.fakes import make_pool as pool_of

    shape = compile_shape({"city": "string", "population": 0})

    def answer(_prompt, n):  # the second record's first answer is broken, so it needs a correction
        return {"city": "Oslo", "population": 700_000} if n != 2 else {"town": "?"}

    slow = Backend(answer, delay=0.2)
    spec = parse_spec(
        {
            "name": "towns",
            "record_timeout_s": 0.3,
            "sampling": False,
            "realism_checks": False,
            "stages": [{"name": "draft", "role": "generate", "corrections": 2}],
        }
    )
    (plan,) = plan_batches(2, 2, 1)
    batch = asyncio.run(generate_batch(pool_of(local=("fast", slow)), spec, shape, plan, concurrency=1))
    made, stopped = batch.outcomes
    assert made.valid and made.failure is None
    assert stopped.failure is FailureKind.timed_out and not stopped.valid
    assert stopped.reason is not None
    assert "timed out after 0.3 s" in stopped.reason and "stage 'draft'" in stopped.reason and "after 1 model calls" in stopped.reason
    assert len(stopped.calls) == 1 and stopped.stages[0].calls == 1, "the calls it made are still booked"
    assert batch.not_made == [stopped], "not made in time: the batch is unfinished, so a rerun makes the record"
    summary = summarise(spec, 2, [batch])
    assert (summary.records, summary.invalid, summary.not_made) == (1, 0, 1), "a timed-out record is a resumable gap, not a reject"
    assert summary.not_made_reason is not None and "record_timeout_s" in summary.not_made_reason
    assert "1 were not made in time (timed out after 0.3 s" in (shortfall(summary) or "")


async def test_the_rerun_with_a_larger_record_timeout_keeps_the_records_made_and_makes_only_the_rest():
    """What the out-of-time message asks for: raise `record_timeout_s` and run again. The batch
    key does not depend on it, so the record made in the first run is not made again."""
    import uuid

    from apprentice.dataset import make_batch
    from apprentice.workflows import parse_spec
    from tests.unit.fakes import Backend
    from tests.unit.fakes import make_pool as pool_of

    shape = compile_shape({"city": "string", "population": 0})
    prompts: list[int] = []

    def answer(_prompt, n):  # the second record's answers are broken until its budget is spent
        prompts.append(n)
        return {"city": "Oslo", "population": 700_000} if n not in (2, 3) else {"town": "?"}

    body = {"name": "towns", "sampling": False, "realism_checks": False}
    body["stages"] = [{"name": "draft", "role": "generate", "corrections": 2}]
    (plan,) = plan_batches(2, 2, uuid.uuid4().int % 10**6)  # a key no other test's batch has
    short, longer = parse_spec({**body, "record_timeout_s": 0.5}), parse_spec({**body, "record_timeout_s": 30})
    assert plan.cache_key(short, shape) == plan.cache_key(longer, shape)
    first = await make_batch(pool_of(local=("fast", Backend(answer, delay=0.2))), short, shape, plan, concurrency=1)
    assert [o.valid for o in first.outcomes] == [True, False] and len(first.not_made) == 1
    calls_before = len(prompts)
    rerun = await make_batch(pool_of(local=("fast", Backend(answer, delay=0.2))), longer, shape, plan, concurrency=1)
    assert [o.valid for o in rerun.outcomes] == [True, True] and not rerun.not_made
    assert rerun.outcomes[0].record == first.outcomes[0].record
    assert len(prompts) - calls_before == 1, "one call, for the record not made; the made one is kept"


async def test_a_batch_keeps_its_records_while_it_runs_so_the_rerun_of_a_killed_run_makes_only_the_rest():
    """Each record is kept as each stage leaves it (here the generate stage, which the kill cuts
    short), so the rerun makes only the records the killed run had not made."""
    import uuid

    from apprentice.dataset import first_states, make_batch

    spec = default_spec(f"killed-{uuid.uuid4().hex[:8]}")
    plan = plan_batches(4, 4, seed=3)[0]
    key = plan.cache_key(spec, SHAPE)
    release, answered = asyncio.Event(), []

    async def two_then_hang(_request: httpx.Request) -> httpx.Response:
        answered.append(1)
        if len(answered) > 2:
            await release.wait()  # the last two records are in flight when the run dies
        return chat_reply('{"city": "Bergen", "population": 285000}')

    config = pool_config({"name": "local"})
    pool = BackendPool(config, transport_factory=lambda _cfg: httpx.MockTransport(two_then_hang), sleep=_no_sleep)
    batch = asyncio.create_task(make_batch(pool, spec, SHAPE, plan, concurrency=4))
    generate = first_states(spec, SHAPE, plan, {}).step_key("generate")
    deadline = time.monotonic() + 10
    while len(resume.kept_states(generate)) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert sorted(resume.kept_states(generate)) == [0, 1], "the records made are kept while the batch still runs"
    batch.cancel()  # the run dies here; a SIGKILL would keep nothing more either
    with pytest.raises(asyncio.CancelledError):
        await batch

    up = Script(chat_reply('{"city": "Oslo", "population": 700000}'))
    rerun = await make_batch(BackendPool(config, transport_factory=transports({"local": up}), sleep=_no_sleep), spec, SHAPE, plan)
    assert len(up.requests) == 2, "the rerun makes only the rest"
    assert [o.record["city"] for o in rerun.outcomes] == ["Bergen", "Bergen", "Oslo", "Oslo"]
    assert resume.kept(key) == {} and resume.kept_states(generate) == {}, "a complete batch's kept records are dropped"


async def test_records_made_while_a_slow_store_keeps_the_last_ones_are_kept_too(monkeypatch):
    from apprentice.dataset import RecordKeeper
    from apprentice.records import RecordOutcome

    kept: list[int] = []

    def slow_keep(_key, outcomes, _engine=None) -> int:
        time.sleep(0.3)  # a PostgreSQL restarting under the store
        kept.extend(o.index for o in outcomes)
        return len(outcomes)

    monkeypatch.setattr(resume, "keep", slow_keep)
    keeper = RecordKeeper("batch-key", every_s=0.01)
    async with keeper.open():
        keeper.add(RecordOutcome(index=0, record={"city": "Oslo"}, valid=True))
        await asyncio.sleep(0.1)  # its keeping is being written
        keeper.add(RecordOutcome(index=1, record={"city": "Bergen"}, valid=True))
    assert kept == [0, 1]
