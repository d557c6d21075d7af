"""Datasets: N records in batches with bounded concurrency, written as JSONL, summarised.

Plain Python; files are written by `output.py` (its names are re-exported here); `run.py` runs a
whole dataset from these pieces. A batch runs stage by stage (`generate_batch`, steps from
`patterns.stage_plan`) through the `run_stage` seam: in-process by default, and in
`orchestration/dataset.py` a cached Prefect task per stage inside a subflow per batch, so that a
killed run resumes from the last finished stage of each batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from apprentice import resume
from apprentice.backends.booking import Purpose, booked_as
from apprentice.backends.pool import BackendPool
from apprentice.errors import ApprenticeError
from apprentice.fieldplan import RecordPlan, plan_fields, sample_record
from apprentice.generation import StageMetrics
from apprentice.learning.requests import class_of, features_of
from apprentice.numeric import NumericReport
from apprentice.output import meta_path, rejects_path, write_outputs  # noqa: F401  (importable from here, as before)
from apprentice.patterns import run_pattern, stage_plan
from apprentice.patterns.given import record_view, with_given
from apprentice.realism import DatasetChecker, RealismReport
from apprentice.realistic import realistic
from apprentice.records import FailureKind, RecordContext, RecordOutcome, RepairOdds, failure_of
from apprentice.seeddata import ABOUT, seed_rows, split_row
from apprentice.shapes.schema import Shape
from apprentice.stages import (
    FINISH,
    BatchStates,
    RecordState,
    RunStage,
    StageJob,
    StagePlan,
    StageRun,
    Step,
    StepEnv,
    combine,
    run_records,
    timed_out,  # noqa: F401  (importable from here, as before)
)
from apprentice.workflows import Pattern, WorkflowSpec

RUN_REALISM: ContextVar[DatasetChecker | None] = ContextVar("apprentice_run_realism", default=None)
"""The run's realism index (`realism_index`) while `run.generate_async` runs: its batches share
it, so a batch does not write an identifier or a near-duplicate text that another batch of the
run already wrote. Batches in another process (a Dask worker) check within themselves."""


RUN_REPAIRS: ContextVar[RepairOdds | None] = ContextVar("apprentice_run_repairs", default=None)
"""The run's `RepairOdds`, shared by its batches like `RUN_REALISM`."""


@contextmanager
def run_scope(shape: Shape, presets: Iterable[dict[str, Any]] | None) -> Iterator[None]:
    """What a run's batches share while it runs in this process: its realism index and its
    repair odds."""
    realism, repairs = RUN_REALISM.set(realism_index(shape, presets)), RUN_REPAIRS.set(RepairOdds())
    try:
        yield
    finally:
        RUN_REPAIRS.reset(repairs)
        RUN_REALISM.reset(realism)


def realism_index(shape: Shape, presets: Iterable[dict[str, Any]] | None) -> DatasetChecker | None:
    """A checker for a run's or a batch's records; given fields (sampled from lists, so a job
    title may well repeat) are left out of the near-duplicate check."""
    if not isinstance(shape.json_schema, dict):
        return None
    given_fields = {k for p in presets or [] for k in p if k != ABOUT}
    return DatasetChecker(shape.json_schema, no_near_duplicates=given_fields)


class BatchPlan(BaseModel):
    """Which records a batch produces. Its key depends on content only, never on tuning knobs
    (concurrency, `record_timeout_s`)."""

    index: int
    start: int
    count: int
    seed: int
    total: int = Field(0, description="records in the whole dataset (routing looks at N)")
    presets: list[dict[str, Any]] | None = Field(None, description="fixed values per record (statistics path)")

    def cache_key(self, spec: WorkflowSpec, shape: Shape) -> str:
        presets = json.dumps(self.presets, sort_keys=True) if self.presets else ""
        raw = f"{spec.records_hash}:{shape.fingerprint}:{self.start}:{self.count}:{self.seed}:{self.total}:{presets}"
        return "batch-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def plan_presets(
    spec: WorkflowSpec, shape: Shape, n: int, seed: int, numeric: list[dict[str, Any]] | None = None
) -> tuple[RecordPlan | None, list[dict[str, Any]] | None]:
    """The run's field plan and every record's given values: the fields a library samples or
    derives (names, emails, dates, enums...), then the record's seed row (its columns that are
    fields, and what the record is about), then the statistics path's numbers. They are drawn
    before any batch from (seed, index), so they are part of each batch's cache key and a rerun
    makes the same records."""
    plan = plan_fields(shape.json_schema, spec.fields) if spec.sampling and isinstance(shape.json_schema, dict) else None
    layers: list[list[dict[str, Any]]] = []
    if plan is not None and plan.filled_fields() and isinstance(shape.json_schema, dict):  # a plan implies a dict schema
        layers.append([sample_record(plan, shape.json_schema, seed=seed, index=i) for i in range(n)])
    if spec.seed_data is not None:
        layers.append([split_row(row, shape.json_schema) for row in seed_rows(spec.seed_data, n, seed)])
    if numeric:
        layers.append(numeric)
    if not layers:
        return plan, None
    return plan, [{k: v for layer in layers for k, v in layer[i].items()} for i in range(n)]


BATCHES_PER_LANE = 2
BATCH_SIZE_RANGE = (10, 500)


def batch_size_for(n: int, parallel_batches: int) -> int:
    """The default records per batch: `n` split into two batches per parallel lane, within 10–500.

    Each batch is a Prefect subflow, and starting one writes to the Prefect server: about 0.1 s,
    and on the SQLite-backed server (the embedded default) about 2 s more whenever that write
    collides with the server recording the previous batch's stage tasks (it answers 503 and
    Prefect's client retries after 2 s). So fewer, larger batches are cheaper. A larger batch
    loses nothing to a killed run (records are kept one by one as they are made), and 500
    records bound a batch's memory."""
    low, high = BATCH_SIZE_RANGE
    return max(low, min(high, -(-n // (BATCHES_PER_LANE * max(1, parallel_batches)))))


def plan_batches(n: int, batch_size: int, seed: int, presets: list[dict[str, Any]] | None = None) -> list[BatchPlan]:
    return list(batch_plans(n, batch_size, seed, presets))


def batch_plans(n: int, batch_size: int, seed: int, presets: list[dict[str, Any]] | None = None) -> Iterator[BatchPlan]:
    """The batches of `n` records, in index order, made as they are asked for (a run of many
    batches never holds them all)."""
    if n < 0 or batch_size < 1:
        raise ValueError("n must be >= 0 and batch_size >= 1")
    for i, start in enumerate(range(0, n, batch_size)):
        count = min(batch_size, n - start)
        yield BatchPlan(index=i, start=start, count=count, seed=seed, total=n, presets=presets[start : start + count] if presets else None)


class BackendUsage(BaseModel):
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0


class BatchResult(BaseModel):
    workflow: str
    version: str
    plan: BatchPlan
    outcomes: list[RecordOutcome]
    kept: list[int] = Field(default_factory=list, description="records taken from an earlier, incomplete run of this batch")
    reused: bool = Field(False, description="every step came from an earlier run's finished stages (Prefect's cache): nothing was made now")

    @property
    def not_made(self) -> list[RecordOutcome]:
        """Records not made (no backend could, or not in time): a batch with any is incomplete and
        must not be cached."""
        return [o for o in self.outcomes if o.unmade]

    @property
    def made_now(self) -> list[RecordOutcome]:
        kept = set(self.kept)
        return [o for o in self.outcomes if o.index not in kept]


class BatchIncomplete(ApprenticeError):
    """Raised by a batch task whose records backends failed to make, so that Prefect does not
    cache it as completed; `result` holds every outcome, made or not."""

    def __init__(self, result: BatchResult) -> None:
        missing = result.not_made
        super().__init__(
            f"batch {result.plan.index}: {len(missing)} of {result.plan.count} records not made: {missing[0].reason if missing else '?'}"
        )
        self.result = result

    def __reduce__(self):  # pickled into Prefect's state and across Dask workers
        return (type(self), (self.result,))


class DatasetSummary(BaseModel):
    """What a dataset run produced: counts, cost, time per backend, and where the files are."""

    workflow: str
    version: str
    requested: int
    records: int = 0
    invalid: int = Field(0, description="records rejected for their content (in NAME.rejects.jsonl)")
    not_made: int = Field(0, description="records not made (no backend could, or not within record_timeout_s); a rerun makes them")
    not_made_reason: str | None = None
    timed_out: int = Field(0, description="of the records not made, those not made within the spec's record_timeout_s")
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    per_backend: dict[str, BackendUsage] = Field(default_factory=dict)
    out: str | None = None
    rejects: str | None = None
    batches_reused: int = 0
    from_cache: int = Field(0, description="records served from `$cache` variants without a model call")
    numeric: NumericReport | None = Field(None, description="statistics path: the sample's verification")
    field_plan: list[dict[str, str]] | None = Field(None, description="each field's source (sampled, derived, model) and why")
    realism: RealismReport | None = Field(
        None, description="the written records' realism: clean share, defects by kind and field, distinct ratios"
    )
    generated: int = Field(0, description="records a model made in this run; 0 when all were reused or served from `$cache`")
    quality: float | None = Field(None, description="mean first-pass quality of the records (see `records.first_pass_quality`)")
    seconds_per_record: float | None = Field(None, description="mean model and repair time per record, all stages")
    request_class: str = Field("", description="the request's class (`learning.requests.class_of`)")
    routing: dict[str, int] = Field(
        default_factory=dict,
        description="routed pattern: records by the policy and tier of their last route (`learned/quality`), and `escalated`",
    )


async def generate_batch(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    plan: BatchPlan,
    *,
    concurrency: int = 4,
    record_attempts: int = 3,
    kept: dict[int, RecordOutcome] | None = None,
    run_stage: RunStage | None = None,
    on_record: Callable[[RecordOutcome], None] | None = None,
) -> BatchResult:
    """Produce the batch's records stage by stage: the pattern's steps (`patterns.stage_plan`)
    in order, each over every record of the batch (at most `concurrency` in flight), the steps
    of a phase at once; a step no record needs is not run.

    A record is finished in the step where its pattern ends (or in a finish step of its own after
    steps that ran at once): the pattern's final check and the realism checks; a record invalid for
    its content is regenerated from scratch with a new seed, up to `record_attempts` times, and
    every attempt's calls and stage metrics stay on the outcome. A record no backend could make
    is not tried again here (the outage would answer the same); it is marked
    `FailureKind.backend`. `kept` holds records an earlier, incomplete run of this batch already
    made: they are reused as they are, so a rerun makes only the missing ones. `run_stage`
    (default: in-process, on `pool`, `on_record` hearing of each record as soon as it is made)
    runs each step; the Prefect layer makes each a task.
    """
    kept = kept or {}
    run_stage = run_stage or in_process(pool, on_record)
    _known_to_the_run(kept.values())
    states = first_states(spec, shape, plan, kept)
    runs: list[StageRun] = []
    for phase in batch_stage_plan(spec, plan).phases:
        steps = [s for s in phase if any(s.wants(r) for r in states.records)]  # a step no record needs is not run
        if not steps:
            continue
        done = await asyncio.gather(*(run_stage(StageJob(spec, shape, plan, s.name, states, concurrency, record_attempts)) for s in steps))
        runs += done
        states = _after(states, list(done), kept)
    if any(not r.final for r in states.records):
        runs.append(await run_stage(StageJob(spec, shape, plan, FINISH, states, concurrency, record_attempts)))
        states = _after(states, runs[-1:], kept)
    reused = bool(runs) and all(r.reused for r in runs)
    return BatchResult(workflow=spec.name, version=spec.version, plan=plan, outcomes=states.outcomes(), kept=sorted(kept), reused=reused)


def _after(before: BatchStates, done: list[StageRun], kept: dict[int, RecordOutcome]) -> BatchStates:
    """The batch's states after a phase's steps: joined if they ran at once; records kept from an
    earlier run stay as they were kept (a step reused from a run before they were kept made them
    again); records a reused step finished join the run's realism index."""
    states = done[0].states if len(done) == 1 else combine(before, [d.states for d in done])
    if any(d.reused for d in done):
        _known_to_the_run(new.outcome for old, new in zip(before.records, states.records, strict=True) if new.final and not old.final)
    if kept:
        records = [r if r.index not in kept else r.model_copy(update={"outcome": kept[r.index], "final": True}) for r in states.records]
        states = states.model_copy(update={"records": records})
    return states


def _known_to_the_run(outcomes: Iterable[RecordOutcome]) -> None:
    """Records made before (kept, or finished by a reused step) join the run's realism index, so
    the records made now do not repeat their identifiers or texts."""
    index = RUN_REALISM.get()
    if index is None:
        return
    for outcome in outcomes:
        if outcome.valid:
            index.add(outcome.index, outcome.record, record_defects=[])


def first_states(spec: WorkflowSpec, shape: Shape, plan: BatchPlan, kept: dict[int, RecordOutcome]) -> BatchStates:
    """The batch's records before any step: fresh ones, and the ones kept from an earlier run
    (final as they are). Their lineage is the batch's content only: a step's result is reused
    whatever was kept since, and kept records are laid over it (see `_after`)."""
    records = []
    for index in range(plan.start, plan.start + plan.count):
        base = plan.seed * 1_000_003 + index
        outcome = kept.get(index)
        records.append(
            RecordState(
                index=index, seed=base * 7, seed_base=base, outcome=outcome or RecordOutcome(index=index), final=outcome is not None
            )
        )
    lineage = plan.cache_key(spec, shape)
    request_class = request_class_of(shape.json_schema, spec, plan.total or plan.count)
    return BatchStates(
        workflow=spec.name, version=spec.version, batch=plan.index, lineage=lineage, request_class=request_class, records=records
    )


def request_class_of(schema: Any, spec: WorkflowSpec, n: int) -> str:
    """The class of a run's request, as its execution rows are kept under (none for a schema that is not an object)."""
    return class_of(features_of(schema, spec, n=n)) if isinstance(schema, dict) else ""


def batch_stage_plan(spec: WorkflowSpec, plan: BatchPlan) -> StagePlan:
    """The pattern's steps for this batch: stages whose fields every record has given are left out."""
    given = [frozenset(k for k in p if k != ABOUT) for p in plan.presets or []]
    common = frozenset.intersection(*given) if given and spec.pattern is not Pattern.statistics else frozenset()
    return stage_plan(spec, common)


def batch_context(spec: WorkflowSpec, shape: Shape, plan: BatchPlan, states: BatchStates) -> RecordContext:
    """What the batch's records share in a step: the given values, the dataset size, and the
    values (unique fields, realism's duplicates) its finished records already hold. The realism
    index is the run's (`RUN_REALISM`) where the step runs in the run's process."""
    presets = {plan.start + i: p for i, p in enumerate(plan.presets or [])}
    shared = RUN_REALISM.get()  # the run's, which knows its finished records already; else the batch's own
    checker = shared if shared is not None else realism_index(shape, presets.values())
    repairs = RUN_REPAIRS.get() or RepairOdds()
    context = RecordContext(n=plan.total or plan.count, presets=presets, realism=checker, repairs=repairs)
    for earlier in (r.outcome for r in states.records if r.final and r.outcome.valid):  # new records must not collide with these
        context.unique.claim(earlier.record, spec.rules)
        if checker is not None and shared is None:
            checker.add(earlier.index, earlier.record, record_defects=[])
    for going in (r for r in states.records if r.claimed and not r.final):  # nor with values a pattern already claimed
        context.unique.claim(going.value, spec.rules)
    return context


async def run_step(
    pool: BackendPool, job: StageJob, *, on_record: Callable[[RecordOutcome], None] | None = None, run_id: str | None = None
) -> BatchStates:
    """One step of a batch's pattern (or its finish step) over the batch's records; `on_record`
    hears of each record the step finishes, as soon as it is finished. With `run_id`, the step's
    calls are booked as generation under it and in the ledger before the step returns (a stage
    task's result may be reused by a rerun, which then books nothing)."""
    if run_id is None:
        return await _step(pool, job, on_record)
    try:
        with booked_as(Purpose.generation, workflow=job.spec.name, version=job.spec.version, run_id=run_id):
            return await _step(pool, job, on_record)
    finally:
        await pool.flush_calls()


async def _step(pool: BackendPool, job: StageJob, on_record: Callable[[RecordOutcome], None] | None) -> BatchStates:
    spec, shape, plan = job.spec, job.shape, job.plan
    pattern = batch_stage_plan(spec, plan)
    env = StepEnv(pool, spec, shape, batch_context(spec, shape, plan, job.states), record_view, job.record_attempts, close=pattern.close)
    step = pattern.step(job.step) if job.step != FINISH else Step(FINISH, _finish_record, lambda r: True)
    if step is None:
        raise ValueError(f"the {spec.pattern.value} pattern of {spec.key} has no step {job.step!r}")

    key = job.states.step_key(step.name)
    earlier = await asyncio.to_thread(resume.kept_states, key)  # records a run of this stage cut short had finished
    keeper = RecordKeeper(key, store=resume.keep_states)

    def keep(state: RecordState) -> None:
        if state.final and on_record is not None:
            on_record(state.outcome)
        if state.clean:
            keeper.add(state)

    async def work(env: StepEnv, state: RecordState) -> None:
        await step.run(env, state)
        if step.name != FINISH and pattern.ends_after(step.name, state):  # finished here, while others still wait for their models
            await _finish_record(env, state)
        keep(state)

    def out_of_time(state: RecordState) -> None:
        if not state.outcome.unmade:  # judged before its time ran out (`stages.timed_out`): kept like any reject
            keep(state)

    wants = step.wants if step.name != FINISH else lambda r: not r.final
    async with keeper.open():
        states = await run_records(
            env, job.states, step.name, work, lambda r: wants(r) and r.index not in earlier, job.concurrency, out_of_time
        )
    if earlier:
        states = states.model_copy(update={"records": [earlier.get(r.index, r) for r in states.records]})
    if not states.incomplete and (earlier or keeper.kept):
        await asyncio.to_thread(resume.forget, key)  # the stage is done: its result is the record of it now
    return states


def in_process(pool: BackendPool, on_record: Callable[[RecordOutcome], None] | None = None) -> RunStage:
    """The `run_stage` seam without Prefect: each step runs here, on `pool`, its calls booked
    under the enclosing booked run; `on_record` hears of each record as soon as it is made."""

    async def run(job: StageJob) -> StageRun:
        return StageRun(await run_step(pool, job, on_record=on_record))

    return run


async def kept_step(pool: BackendPool, job: StageJob, run_id: str | None) -> BatchStates:
    """`run_step` in a process of its own (a Prefect stage task): the records it finishes are kept
    as they are made under the batch's content key (`RecordKeeper`), its calls booked under `run_id`."""
    keeper = RecordKeeper(job.plan.cache_key(job.spec, job.shape))
    async with keeper.open():
        return await run_step(pool, job, on_record=keeper.add, run_id=run_id)


async def make_batch(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    plan: BatchPlan,
    *,
    concurrency: int = 4,
    record_attempts: int = 3,
    fresh: bool = False,
    run_id: str | None = None,
    run_stage: RunStage | None = None,
) -> BatchResult:
    """Generate one batch with record-level resume, its calls booked as generation under `run_id`
    (default: the enclosing booked run's, else a new local id) and flushed to the ledger before
    it returns.

    Records an earlier run of this batch made are reused (`fresh` forgets them). Each record made
    now is kept under the batch's content key within moments of being made (`RecordKeeper`), so
    the rerun of a run that ended short, was interrupted or was killed outright makes exactly the
    missing records. A complete batch's kept records are dropped (its stages' results are cached).
    `run_stage` (default: in-process) runs each step; the Prefect layer's stage tasks keep and book
    their own records and calls. The caller decides what an incomplete batch means (the Prefect
    subflow raises `BatchIncomplete` so that it is not taken as completed).
    """
    key = plan.cache_key(spec, shape)
    if fresh:
        await asyncio.to_thread(resume.forget, key)
    earlier = await asyncio.to_thread(resume.kept, key)
    keeper = RecordKeeper(key)
    try:
        with booked_as(Purpose.generation, workflow=spec.name, version=spec.version, run_id=run_id):
            async with keeper.open():
                result = await generate_batch(
                    pool,
                    spec,
                    shape,
                    plan,
                    concurrency=concurrency,
                    record_attempts=record_attempts,
                    kept=earlier,
                    run_stage=run_stage,
                    on_record=keeper.add,
                )
    finally:
        await pool.flush_calls()  # a batch taken as done has its calls in the ledger
    if not result.not_made and (earlier or keeper.kept or (run_stage is not None and not result.reused)):
        await asyncio.to_thread(resume.forget, key)
    return result


class RecordKeeper:
    """A batch's records kept as they are made, not when the batch ends: every `every_s` the
    records made since go to `kept_records` (`resume.keep`) in one transaction, off the event
    loop. A batch cut short by a kill loses only the records of its last moments, and its rerun
    reuses the rest (the pool books their calls as they are made). Records not made (no backend
    could, or not in time) are not kept, so the rerun makes them."""

    def __init__(self, batch_key: str, every_s: float = 0.25, store: Callable[[str, list[Any]], int] | None = None) -> None:
        self.batch_key, self.every_s, self.store = batch_key, every_s, store
        self.pending: list[Any] = []
        self.kept = 0

    def add(self, made: RecordOutcome | RecordState) -> None:
        """A record made (an outcome), or left by a stage (its state, with `store=resume.keep_states`)."""
        self.pending.append(made)

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[RecordKeeper]:
        """Keep every `every_s` while the batch runs, and what is left when it ends (also when it
        is cancelled: an interrupted run keeps what it made)."""
        done = asyncio.Event()
        keeping = asyncio.create_task(self._every(done))
        try:
            yield self
        finally:
            done.set()
            await keeping

    async def _every(self, done: asyncio.Event) -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.every_s)
            await self.flush()
        await self.flush()  # what was made while the last keeping was being written (a slow store)

    async def flush(self) -> None:
        outcomes, self.pending = self.pending, []
        made = [o for o in outcomes if not (isinstance(o, RecordOutcome) and o.unmade)]
        if made:
            self.kept += len(made)
            await asyncio.to_thread(self.store or resume.keep, self.batch_key, made)


async def _finish_record(env: StepEnv, state: RecordState) -> None:
    """A record's finish: its pattern's final check, its given values merged, realism checked and
    corrected, and, if it is invalid for its content, regenerated afresh; then it is final."""
    if not state.closed:  # a pattern run whole (`patterns._whole`) closed the record itself
        view = env.view(state)
        if not state.stopped and not view.nothing_to_write and env.close is not None:
            env.close(env, state)
        if view.given or view.about:
            state.outcome = with_given(state.outcome, view, env.shape, env.spec, env.context)
    last_chance = env.record_attempts <= 1
    outcome = await realistic(env.pool, env.spec, env.shape, state.outcome, context=env.context, seed=state.seed, last_chance=last_chance)
    outcome.failure = outcome.failure or failure_of(outcome)
    outcome.meta["record_attempts"] = 1
    state.outcome = outcome  # a record refused for realism is kept if the budget runs out making it again
    if outcome.failure is FailureKind.content and env.record_attempts > 1:
        outcome = await _attempts(
            env.pool,
            env.spec,
            env.shape,
            state.index,
            seed_base=state.seed_base,
            attempts=env.record_attempts,
            context=env.context,
            spent=outcome,
        )
    state.outcome, state.final = outcome, True


async def _attempts(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    index: int,
    *,
    seed_base: int,
    attempts: int,
    context: RecordContext,
    spent: RecordOutcome | None = None,
) -> RecordOutcome:
    """Attempts at a record after the `spent` ones (each from scratch, with its own seed),
    until one is valid, no backend could make it, or `attempts` are used up. A record that stays
    rejected is the last one valid for its schema and refused only for realism, if any was: the
    rejects file shows the nearest miss."""
    outcome = spent or RecordOutcome(index=index)
    nearest = spent if spent is not None and spent.refused_for_realism else None
    for attempt in range(int(spent.meta.get("record_attempts", 1)) if spent else 0, max(1, attempts)):
        seed = seed_base * 7 + attempt
        outcome = await run_pattern(pool, spec, shape, index=index, seed=seed, context=context)
        outcome = await realistic(pool, spec, shape, outcome, context=context, seed=seed, last_chance=attempt + 1 >= attempts)
        outcome.failure = outcome.failure or failure_of(outcome)
        if spent is not None:
            outcome.stages = spent.stages + outcome.stages
            outcome.calls = spent.calls + outcome.calls
        outcome.meta["record_attempts"] = attempt + 1
        if outcome.failure in (None, FailureKind.backend):
            return outcome
        spent = outcome
        nearest = outcome if outcome.refused_for_realism else nearest
    if nearest is not None and nearest is not outcome:
        meta = {**nearest.meta, "record_attempts": outcome.meta["record_attempts"]}
        return nearest.model_copy(update={"stages": outcome.stages, "calls": outcome.calls, "meta": meta})
    return outcome


class StageFigures(BaseModel):
    """One stage's running totals over a run's records: each time it ran for a record (a
    correction round or a regenerated record runs it again), its time, tokens and whether what
    it gave back was valid."""

    runs: int = 0
    latency_s: float = 0.0
    tokens: int = 0
    valid: int = 0

    def add(self, metrics: StageMetrics) -> None:
        self.runs += 1
        self.latency_s += metrics.latency_s
        self.tokens += metrics.input_tokens + metrics.output_tokens
        self.valid += metrics.valid


class RecordTotals(BaseModel):
    """What the apprenticeship observes of a run's records (`monitor.observe.observation`), kept
    as running totals so that no record is held: how many outcomes and valid records there were,
    the valid records' total JSON size, each stage's totals, and the first valid records as they were."""

    outcomes: int = 0
    valid: int = 0
    output_chars: int = Field(0, description="sum of the valid records' `json.dumps` lengths")
    stages: dict[str, StageFigures] = Field(default_factory=dict, description="per stage of the pattern, by name")
    first_valid: list[Any] = Field(default_factory=list, description="the first valid records, in index order")

    KEPT: ClassVar[int] = 3

    def add(self, outcome: RecordOutcome) -> None:
        """Count one outcome (fed in index order)."""
        self.outcomes += 1
        for metrics in outcome.stages:
            self.stages.setdefault(metrics.stage, StageFigures()).add(metrics)
        if outcome.valid:
            self.valid += 1
            self.output_chars += len(json.dumps(outcome.record))
            if len(self.first_valid) < self.KEPT:
                self.first_valid.append(outcome.record)


class RunTotals:
    """A run's summary built batch by batch — fed in index order — from running totals, so a run
    holds no finished record: counts, usage per backend, quality and time sums, the realism
    checker (which keeps per record only small hashes, see `realism.DatasetChecker`), what the
    apprenticeship observes (`records`) and the first outcomes for a sample table."""

    def __init__(self, spec: WorkflowSpec, requested: int, shape_schema: Any = None, *, sample_size: int = 20) -> None:
        self.summary = DatasetSummary(
            workflow=spec.name, version=spec.version, requested=requested, request_class=request_class_of(shape_schema, spec, requested)
        )
        self.usage: dict[str, BackendUsage] = defaultdict(BackendUsage)
        self.quality = self.seconds = 0.0
        self.checker = DatasetChecker(shape_schema) if isinstance(shape_schema, dict) else None
        self.report_realism = shape_schema is not None
        self.records = RecordTotals()
        self.sample: list[RecordOutcome] = []
        self.sample_size = sample_size

    def add(self, batch: BatchResult) -> None:
        for outcome in sorted(batch.outcomes, key=lambda o: o.index):
            self._count(outcome)
            for call in outcome.calls:
                u = self.usage[call.backend]
                u.calls, u.input_tokens, u.output_tokens = (
                    u.calls + 1,
                    u.input_tokens + call.input_tokens,
                    u.output_tokens + call.output_tokens,
                )
                u.cost_usd, u.seconds = u.cost_usd + call.cost_usd, u.seconds + call.latency_s
            self.records.add(outcome)
            if outcome.valid and self.checker is not None:
                self.checker.add(outcome.index, outcome.record)
            if len(self.sample) < self.sample_size:
                self.sample.append(outcome)

    def _count(self, outcome: RecordOutcome) -> None:
        summary = self.summary
        summary.records += outcome.valid
        summary.invalid += not outcome.valid and not outcome.unmade
        if outcome.unmade:
            summary.not_made += 1
            summary.timed_out += outcome.failure is FailureKind.timed_out
            summary.not_made_reason = summary.not_made_reason or outcome.reason
        self.quality += outcome.quality
        self.seconds += outcome.seconds
        if route := outcome.meta.get("routing"):
            path = f"{route.get('policy', 'static')}/{route.get('tier')}"
            summary.routing[path] = summary.routing.get(path, 0) + 1
            summary.routing["escalated"] = summary.routing.get("escalated", 0) + bool(route.get("tried"))

    def result(self) -> DatasetSummary:
        """The summary so far."""
        summary = self.summary.model_copy(update={"routing": dict(self.summary.routing)})
        summary.per_backend = {name: u.model_copy() for name, u in self.usage.items()}
        summary.input_tokens = sum(u.input_tokens for u in self.usage.values())
        summary.output_tokens = sum(u.output_tokens for u in self.usage.values())
        summary.cost_usd = sum(u.cost_usd for u in self.usage.values())
        if made := summary.records + summary.invalid + summary.not_made:
            summary.quality, summary.seconds_per_record = self.quality / made, self.seconds / made
        summary.realism = (self.checker.report() if self.checker is not None else None) if self.report_realism else None
        return summary


def summarise(spec: WorkflowSpec, requested: int, batches: list[BatchResult], shape_schema: Any = None) -> DatasetSummary:
    """The summary of finished batches (a run builds it batch by batch with `RunTotals`)."""
    totals = RunTotals(spec, requested, shape_schema)
    for batch in sorted(batches, key=lambda b: b.plan.start):
        totals.add(batch)
    return totals.result()


def realism_report(schema: Any, outcomes: list[RecordOutcome]) -> RealismReport | None:
    """Realism of the records a run writes, in index order (what a person opening the file sees)."""
    if not isinstance(schema, dict):
        return None
    checker = DatasetChecker(schema)
    for outcome in sorted(outcomes, key=lambda o: o.index):
        checker.add(outcome.index, outcome.record)
    return checker.report()


def shortfall(summary: DatasetSummary) -> str | None:
    """Why a run must not look successful, in one line, or None when it delivered.

    A run fails when backends left records unmade (a rerun resumes it) or when nothing at all was
    valid; records rejected for their content beside valid ones are reported, not a failure.
    """
    if summary.not_made:
        return (
            f"made {summary.records} of {summary.requested} records; {summary.not_made} were not made {_why_not_made(summary)}; "
            "run the same command again to make the rest"
        )
    if summary.requested and not summary.records:
        return f"made 0 of {summary.requested} records: every one was rejected for its content (reasons in {summary.rejects})"
    return None


def _why_not_made(summary: DatasetSummary) -> str:
    if not summary.timed_out:
        return f"because backends failed ({summary.not_made_reason})"
    if summary.timed_out == summary.not_made:
        return f"in time ({summary.not_made_reason}; a larger record_timeout_s gives slow backends longer)"
    return f"because backends failed or ran out of time ({summary.timed_out} of them; {summary.not_made_reason})"
