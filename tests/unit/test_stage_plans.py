"""Patterns stage by stage over a batch: the steps each pattern declares, the records they make
(the same as a record made alone), each step's stage metrics, branches at once, and a killed
batch resuming from its last finished stage."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from apprentice.backends.pool import BackendPool
from apprentice.dataset import generate_batch, in_process, plan_batches
from apprentice.monitor.hooks import stage_rows
from apprentice.patterns import run_pattern
from apprentice.records import RecordContext
from apprentice.shapes.schema import Shape, compile_shape
from apprentice.stages import FINISH, BatchStates, StageJob, StageRun
from apprentice.workflows import parse_spec
from tests.unit.fakes import Backend, chat_reply, make_pool, pool_config

PRODUCT = compile_shape({"name": "string", "description": "string", "price": 0.0, "stock": 0})
EVENT = compile_shape({"title": "string", "start": 0, "end": 0})


def seeded(request: httpx.Request, *, late: bool = False) -> dict[str, Any]:
    """Values drawn from the request's seed (so a record's answers do not depend on which
    record the server happened to answer before), restricted to the fields the prompt asks for."""
    body = json.loads(request.content)
    seed, prompt = body.get("seed") or 0, body["messages"][-1]["content"]
    values = {"name": f"Lamp {seed % 997}", "description": f"Brass lamp no. {seed % 89}", "price": seed % 50 + 0.5, "stock": seed % 7}
    values |= {"title": f"Launch {seed % 991}", "start": 1, "end": 0 if late else 5}
    asked = prompt.split("Schema:")[-1]
    return {k: v for k, v in values.items() if f'"{k}"' in asked}


class Server(Backend):
    """A fake model server answering from the request's seed; counts calls and their overlap."""

    def __init__(self, answer=seeded, delay: float = 0.0) -> None:
        super().__init__(answer, delay)

    def reply(self, request: httpx.Request) -> Any:
        """The answer from the whole request (its seed), not only the prompt."""
        return self.answer(request)


def pool_of(**servers: Server) -> BackendPool:
    tiers = {"q": "quality", "p": "premium"}
    tiered: dict[str, Any] = {name: (tiers.get(name, "fast"), server) for name, server in servers.items()}  # Any: not make_pool's `book`
    return make_pool(**tiered)


def stages(*specs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "generate", **s} for s in specs]


SEQUENTIAL = {
    "name": "lamps",
    "pattern": "sequential",
    "stages": stages({"name": "identity", "fields": ["name", "description"]}, {"name": "stocking", "role": "enrich"})
    + [{"name": "check", "role": "validate"}],
}
PARALLEL = {
    "name": "lamps",
    "pattern": "parallel",
    "stages": stages(
        {"name": "details", "backend": "a", "fields": ["name", "description"]},
        {"name": "pricing", "backend": "b", "fields": ["price"]},
        {"name": "inventory", "backend": "c", "fields": ["stock"]},
    ),
}
CORRECT_LOOP = {
    "name": "events",
    "pattern": "correct_loop",
    "max_rounds": 2,
    "rules": [{"kind": "compare", "field": "start", "op": "<", "other": "end"}],
    "stages": stages({"name": "draft"}) + [{"name": "fix", "role": "correct"}],
}
CONSENSUS = {
    "name": "lamps",
    "pattern": "consensus",
    "stages": stages({"name": "one", "backend": "a"}, {"name": "two", "backend": "b"})
    + [{"name": "judge", "role": "judge", "backend": "c"}],
}
ROUTED = {
    "name": "lamps",
    "pattern": "routed",
    "routing": {"quality_from": 1, "premium_from": 99},
    "routes": {
        "fast": {"stages": stages({"name": "quick"})},
        "quality": {
            "pattern": "parallel",
            "stages": stages({"name": "words", "fields": ["name", "description"]}, {"name": "numbers", "fields": ["price", "stock"]}),
        },
    },
}
STATISTICS = {
    "name": "lamps",
    "pattern": "statistics",
    "statistics": {"fields": {"price": {"distribution": "uniform", "low": 1, "high": 50, "decimals": 2}}},
    "stages": stages({"name": "words"}),
}
CASES: dict[str, tuple[dict[str, Any], Shape, list[list[str]]]] = {
    "sequential": (SEQUENTIAL, PRODUCT, [["identity"], ["stocking"], ["check"]]),
    "parallel": (PARALLEL, PRODUCT, [["details", "pricing", "inventory"], ["merge"]]),
    "correct_loop": (CORRECT_LOOP, EVENT, [["draft"], ["fix-1"]]),  # every correction lands: no second round, no premium pass
    "consensus": (CONSENSUS, PRODUCT, [["one", "two"], ["judge"]]),
    "statistics": (STATISTICS, PRODUCT, [["sampling"], ["words"]]),
    "routed": (ROUTED, PRODUCT, [["route"], ["quality/words", "quality/numbers"], ["quality/merge"]]),  # the fast route: no record
}


def judge_or_seeded(request: httpx.Request) -> dict[str, Any]:
    """The judge's scores when asked for them, else a seeded record (a late event on odd seeds,
    so some records need correction rounds)."""
    body = json.loads(request.content)
    if "Rate how realistic" in body["messages"][-1]["content"]:
        return {"scores": [0.4, 0.9]}
    seed = body.get("seed") or 0
    return seeded(request, late=seed % 2 == 1 and "Fix" not in body["messages"][-1]["content"])


def servers() -> dict[str, Server]:
    return {name: Server(judge_or_seeded) for name in ("a", "b", "c")}


class Recorder:
    """The `run_stage` seam in-process, noting each step as it starts and ends."""

    def __init__(self, pool: BackendPool) -> None:
        self.inner = in_process(pool)
        self.started: list[str] = []
        self.ended: list[str] = []
        self.runs: list[StageRun] = []

    async def __call__(self, job: StageJob) -> StageRun:
        self.started.append(job.step)
        run = await self.inner(job)
        self.ended.append(job.step)
        self.runs.append(run)
        return run


@pytest.mark.parametrize("pattern", list(CASES))
def test_a_batch_made_stage_by_stage_has_the_records_each_would_have_alone(pattern):
    raw, shape, _ = CASES[pattern]
    spec = parse_spec({**raw, "realism_checks": False})
    (plan,) = plan_batches(4, 4, seed=3)
    pool = pool_of(**servers())
    batch = asyncio.run(generate_batch(pool, spec, shape, plan, concurrency=2, record_attempts=1))
    alone = [
        asyncio.run(run_pattern(pool, spec, shape, index=i, seed=(3 * 1_000_003 + i) * 7, context=RecordContext(n=4))) for i in range(4)
    ]
    assert [o.record for o in batch.outcomes] == [o.record for o in alone]
    assert [o.valid for o in batch.outcomes] == [o.valid for o in alone] == [True] * 4
    assert [[m.stage for m in o.stages] for o in batch.outcomes] == [[m.stage for m in o.stages] for o in alone]


@pytest.mark.parametrize("pattern", list(CASES))
def test_each_step_runs_over_the_whole_batch_and_adds_its_own_stage_metrics(pattern):
    raw, shape, phases = CASES[pattern]
    spec = parse_spec({**raw, "realism_checks": False})
    (plan,) = plan_batches(4, 4, seed=3)
    pool = pool_of(**servers())
    recorder = Recorder(pool)
    asyncio.run(generate_batch(pool, spec, shape, plan, concurrency=2, record_attempts=1, run_stage=recorder))
    steps = [s for phase in phases for s in phase]
    assert sorted(recorder.started) == sorted(steps)  # each record is finished in the step where its pattern ends
    for earlier, later in zip(phases, phases[1:], strict=False):  # a phase ends on every record before the next starts
        assert max(recorder.ended.index(s) for s in earlier) < min(recorder.started.index(s) for s in later)
    for run in recorder.runs:
        step = run.states.step
        if step.endswith("merge") or step in ("route", "sampling"):
            continue
        stage = "fix" if step.startswith("fix-") else step.split("/")[-1]  # every round is `fix` again; a route's steps are its own
        assert {m.stage for m in run.states.new_metrics()} == {stage}, step
        assert all(len(r.new_metrics()) <= 1 for r in run.states.records)  # one stage's metrics per record and step


def test_the_branches_of_a_parallel_batch_run_at_once_then_merge():
    shared = Server(delay=0.05)
    pool = pool_of(a=shared, b=shared, c=shared)
    spec = parse_spec({**PARALLEL, "realism_checks": False})
    (plan,) = plan_batches(2, 2, seed=1)
    recorder = Recorder(pool)
    batch = asyncio.run(generate_batch(pool, spec, PRODUCT, plan, concurrency=1, record_attempts=1, run_stage=recorder))
    assert all(o.valid for o in batch.outcomes)
    assert shared.peak == 3  # one record of each branch in flight together
    assert recorder.started == ["details", "pricing", "inventory", "merge"]
    assert [b["branch"] for b in batch.outcomes[0].meta["branches"]] == ["details", "pricing", "inventory"]


def test_a_correction_round_no_record_needs_is_not_run():
    spec = parse_spec({**CORRECT_LOOP, "realism_checks": False})
    pool = pool_of(a=Server(lambda r: seeded(r, late=False)))
    recorder = Recorder(pool)
    (plan,) = plan_batches(3, 3, seed=2)
    batch = asyncio.run(generate_batch(pool, spec, EVENT, plan, concurrency=3, record_attempts=1, run_stage=recorder))
    assert all(o.valid for o in batch.outcomes)
    assert recorder.started == ["draft"]


class Killed(Exception):
    pass


class Cache:
    """Prefect's task cache in miniature: a step's states kept under the key of the states it
    started from, never for a step that left records unmade."""

    def __init__(self, pool: BackendPool, *, die_at: str | None = None) -> None:
        self.inner, self.die_at = in_process(pool), die_at
        self.kept: dict[str, BatchStates] = {}
        self.ran: list[str] = []

    async def __call__(self, job: StageJob) -> StageRun:
        key = job.states.step_key(job.step)
        if key in self.kept:
            return StageRun(self.kept[key], reused=True)
        if job.step == self.die_at:
            raise Killed(job.step)
        run = await self.inner(job)
        self.ran.append(job.step)
        if not run.states.incomplete:
            self.kept[key] = run.states
        return run


def test_a_killed_batch_resumes_from_its_last_finished_stage():
    server = Server()
    pool = pool_of(a=server)
    spec = parse_spec({**SEQUENTIAL, "realism_checks": False})
    (plan,) = plan_batches(3, 3, seed=5)
    cache = Cache(pool, die_at="check")
    with pytest.raises(Killed):
        asyncio.run(generate_batch(pool, spec, PRODUCT, plan, record_attempts=1, run_stage=cache))
    calls_before = server.calls
    cache.die_at = None
    batch = asyncio.run(generate_batch(pool, spec, PRODUCT, plan, record_attempts=1, run_stage=cache))
    assert cache.ran == ["identity", "stocking", "check"]  # identity and stocking ran once, before the kill
    assert server.calls == calls_before  # the check stage found every record valid: no model call left to make
    assert all(o.valid for o in batch.outcomes) and not batch.reused
    again = asyncio.run(generate_batch(pool, spec, PRODUCT, plan, record_attempts=1, run_stage=cache))
    assert again.reused and [o.record for o in again.outcomes] == [o.record for o in batch.outcomes]


def test_a_stage_that_left_records_unmade_is_never_reused():
    answers = iter([httpx.Response(503)])  # the first record's first stage finds the server down
    flaky = Server(lambda r: next(answers, None) or chat_reply(json.dumps(seeded(r))))
    pool = BackendPool(
        pool_config({"name": "a", "tier": "fast"}, attempts=1, failure_threshold=50),
        transport_factory=lambda cfg: httpx.MockTransport(flaky),
    )
    spec = parse_spec({**SEQUENTIAL, "realism_checks": False})
    (plan,) = plan_batches(2, 2, seed=5)
    cache = Cache(pool)
    first = asyncio.run(generate_batch(pool, spec, PRODUCT, plan, concurrency=1, record_attempts=1, run_stage=cache))
    assert [o.index for o in first.not_made] == [0]
    second = asyncio.run(generate_batch(pool, spec, PRODUCT, plan, concurrency=1, record_attempts=1, run_stage=cache))
    assert not second.not_made and all(o.valid for o in second.outcomes)
    assert cache.ran.count("identity") == 2


def test_a_stage_task_writes_an_execution_row_per_stage_it_ran():
    spec = parse_spec({**PARALLEL, "realism_checks": False})
    pool = pool_of(**servers())
    recorder = Recorder(pool)
    (plan,) = plan_batches(3, 3, seed=1)
    asyncio.run(generate_batch(pool, spec, PRODUCT, plan, record_attempts=1, run_stage=recorder))
    pricing = next(r.states for r in recorder.runs if r.states.step == "pricing")
    (row,) = stage_rows("task-1", "Completed", ("lamps", "1.0.0"), pricing, None, "pricing")
    assert (row.run_id, row.stage, row.records, row.valid_records) == ("task-1:pricing", "pricing", 3, 3)
    merge = next(r.states for r in recorder.runs if r.states.step == "merge")
    (row,) = stage_rows("task-2", "Completed", ("lamps", "1.0.0"), merge, None, "merge")
    assert (row.stage, row.records) == ("merge", 0)


def test_candidates_without_a_judge_are_chosen_from_in_a_finish_step_of_their_own():
    spec = parse_spec({**CONSENSUS, "stages": CONSENSUS["stages"][:2], "realism_checks": False})
    pool = pool_of(**servers())
    recorder = Recorder(pool)
    (plan,) = plan_batches(2, 2, seed=1)
    batch = asyncio.run(generate_batch(pool, spec, PRODUCT, plan, record_attempts=1, run_stage=recorder))
    assert recorder.started == ["one", "two", FINISH]
    assert all(o.valid and o.meta["consensus"]["chosen"] == "one" for o in batch.outcomes)


def test_a_branch_whose_fields_every_record_has_given_is_not_run():
    spec = parse_spec({**PARALLEL, "realism_checks": False})
    pool = pool_of(**servers())
    recorder = Recorder(pool)
    (plan,) = plan_batches(2, 2, seed=1, presets=[{"price": 9.99}, {"price": 19.99}])
    batch = asyncio.run(generate_batch(pool, spec, PRODUCT, plan, record_attempts=1, run_stage=recorder))
    assert recorder.started == ["details", "inventory", "merge"]
    assert [o.record["price"] for o in batch.outcomes] == [9.99, 19.99] and all(o.valid for o in batch.outcomes)
