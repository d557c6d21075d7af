"""A pattern's work over a batch, stage by stage: the states records carry between stages, the
steps a pattern declares, and how a step runs over a batch's records.

A pattern declares a `StagePlan`: phases in order, each of one step (a stage) or of several steps
that run at once on the same records (parallel branches, consensus candidates). A step is an
async function of one record's state; `run_records` runs it over the batch, records concurrently
(at most `concurrency` at a time), each within what is left of its time budget. Between steps the
batch's states are plain pydantic data (`BatchStates`), so the Prefect layer can make each step
a task whose result is persisted: a killed run resumes from the last finished stage of each batch.
Nothing here imports Prefect or a pattern.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, Field

from apprentice.backends.types import CallResult
from apprentice.config import Tier
from apprentice.errors import ApprenticeError
from apprentice.generation import BACKEND_FAILURES, PROGRESS, Progress, StageMetrics, StageOutcome, account
from apprentice.records import FailureKind, RecordContext, RecordOutcome
from apprentice.shapes.validate import ValidationIssue

if TYPE_CHECKING:
    from apprentice.backends.pool import BackendPool
    from apprentice.shapes.schema import Shape
    from apprentice.workflows import StageSpec, WorkflowSpec

FINISH = "finish"
"""A record's last step: the pattern's final check, realism, and regenerating a record that failed
for its content. It runs in the step where the record's pattern ends (so its checks overlap other
records' model calls), and as a step of its own only after steps that ran at once."""


class StepMarks(BaseModel):
    """Where the current step's additions to a record's stage metrics and calls begin."""

    stages: int = 0
    calls: int = 0


class RecordState(BaseModel):
    """One record between two stages: its outcome so far and what its pattern carries on."""

    index: int
    seed: int | None = Field(None, description="the seed of the record's first attempt")
    seed_base: int = Field(0, description="the record's seeds in a batch: attempt k uses seed_base * 7 + k")
    outcome: RecordOutcome
    value: Any = Field(None, description="the record as the pattern's stages have built it so far")
    stopped: bool = Field(False, description="the pattern ended early (a stage or a merge failed): later stages pass it by")
    closed: bool = Field(False, description="the pattern's final check has run (a pattern run whole in one step)")
    final: bool = Field(False, description="kept from an earlier run, or out of time: no step touches it")
    elapsed_s: float = Field(0.0, description="time spent on the record so far, against the spec's record_timeout_s")
    whole_checked: bool = Field(False, description="sequential: `value` is known to validate against the whole shape")
    branches: dict[str, StageOutcome] = Field(default_factory=dict, description="parallel branches / consensus candidates, by stage")
    issues: list[ValidationIssue] = Field(default_factory=list, description="correct loop: what the last attempt left wrong")
    tier: Tier | None = Field(None, description="correct loop: the tier the next round runs on")
    signature: list[str] | None = Field(None, description="correct loop: the previous round's (path, keyword) pairs")
    judged: list[float] | None = Field(None, description="consensus: the judge's score per candidate")
    claimed: bool = Field(False, description="`value` passed the spec's rules and holds its unique values in the batch")
    route: str | None = Field(None, description="routed: the tier of the route the record was sent to")
    marks: StepMarks = Field(default_factory=StepMarks)

    @property
    def active(self) -> bool:
        return not (self.stopped or self.final or self.closed)

    def fork(self) -> RecordState:
        """A copy a step may change without touching the state it came from (several branch steps
        start from the same states); the copy's marks say where this step's additions begin."""
        outcome = self.outcome.model_copy(update={"stages": list(self.outcome.stages), "calls": list(self.outcome.calls)})
        outcome.meta = dict(self.outcome.meta)
        marks = StepMarks(stages=len(outcome.stages), calls=len(outcome.calls))
        return self.model_copy(update={"outcome": outcome, "branches": dict(self.branches), "marks": marks})

    def add(self, result: StageOutcome) -> None:
        """Count a stage's metrics and calls on the record's outcome."""
        self.outcome.stages.append(result.metrics)
        self.outcome.calls.extend(result.calls)

    def new_metrics(self) -> list[StageMetrics]:
        return self.outcome.stages[self.marks.stages :]

    @property
    def clean(self) -> bool:
        """The current step left the record made so far (no backend failed it, it is not out of time)."""
        return not self.outcome.unmade and not _outage(self.new_metrics())

    def new_calls(self) -> Iterator[tuple[StageMetrics, CallResult]]:
        """This step's calls, each with the stage metrics that made it (stages count their calls in order)."""
        calls = iter(self.outcome.calls[self.marks.calls :])
        for metrics in self.new_metrics():
            for _ in range(metrics.calls):
                call = next(calls, None)
                if call is not None:
                    yield metrics, call


class BatchStates(BaseModel):
    """A batch's records between two steps: what a stage task takes and returns."""

    workflow: str
    version: str
    batch: int
    step: str = Field("", description="the step that made these states ('' before the first)")
    lineage: str = Field(description="the history of these states: the batch's content key, then each step that ran cleanly")
    incomplete: bool = Field(False, description="the step left records that no backend could make")
    request_class: str = Field("", description="the run's request class (`learning.requests.class_of`), for its execution rows")
    records: list[RecordState]

    def step_key(self, step: str) -> str:
        """The cache key of running `step` on these states: same states, same step, same result."""
        return "stage-" + hashlib.sha256(f"{self.lineage}:{step}".encode()).hexdigest()[:24]

    def new_metrics(self) -> list[StageMetrics]:
        """The stage metrics the last step added, over every record (its execution rows)."""
        return [m for record in self.records for m in record.new_metrics()]

    def outcomes(self) -> list[RecordOutcome]:
        return [record.outcome for record in self.records]


class StageIncomplete(ApprenticeError):
    """Raised by a stage task that left records no backend could make, so that Prefect does not
    cache it as completed; `states` holds every record, and the batch goes on with them."""

    def __init__(self, states: BatchStates) -> None:
        missing = sum(r.outcome.unmade or _outage(r.new_metrics()) for r in states.records)
        super().__init__(f"stage '{states.step}' of batch {states.batch}: {missing} record(s) not made")
        self.states = states

    def __reduce__(self):  # pickled into Prefect's state and across Dask workers
        return (type(self), (self.states,))


def _outage(metrics: list[StageMetrics]) -> bool:
    return any(m.error_class in BACKEND_FAILURES for m in metrics)


@dataclass
class RecordView:
    """What a record's pattern works on: the spec, the shape (the part left after its given values)
    and the context its checks use."""

    spec: WorkflowSpec
    shape: Shape
    context: RecordContext
    given: dict[str, Any] = field(default_factory=dict)
    about: dict[str, Any] = field(default_factory=dict)
    nothing_to_write: bool = False

    def stage(self, name: str) -> StageSpec | None:
        return next((s for s in self.spec.stages if s.name == name), None)


@dataclass
class StepEnv:
    """What a step's records share: the pool, the spec and shape, the batch's context, and each
    record's view (see `patterns.given.record_view`), made once per record and step."""

    pool: BackendPool
    spec: WorkflowSpec
    shape: Shape
    context: RecordContext
    make_view: Callable[[StepEnv, RecordState], RecordView]
    record_attempts: int = 3
    close: Close | None = None
    """The pattern's final check, for the finish step."""
    views: dict[int, RecordView] = field(default_factory=dict)

    def view(self, state: RecordState) -> RecordView:
        if state.index not in self.views:
            self.views[state.index] = self.make_view(self, state)
        return self.views[state.index]


RecordStep = Callable[[StepEnv, RecordState], Awaitable[None]]
"""One step on one record: changes the record's state (a fork, see `RecordState.fork`)."""


@dataclass(frozen=True)
class Step:
    """A named step of a pattern. `wanted` says which records it works on (default: those whose
    pattern is still going); a step no record wants is not run at all."""

    name: str
    run: RecordStep
    wanted: Callable[[RecordState], bool] | None = None

    def wants(self, state: RecordState) -> bool:
        return state.active and (self.wanted is None or self.wanted(state))


Close = Callable[[StepEnv, RecordState], None]
"""The pattern's final check of a record whose stages all ran (in the finish step)."""


@dataclass(frozen=True)
class StagePlan:
    """A pattern over a batch: phases in order, each of one step or of steps run at once."""

    phases: list[list[Step]]
    close: Close

    def step(self, name: str) -> Step | None:
        return next((s for phase in self.phases for s in phase if s.name == name), None)

    def ends_after(self, name: str, state: RecordState) -> bool:
        """Whether a record's pattern ends with step `name`: no step of a later phase wants it.
        Never within a phase of steps run at once (their results are joined in the next phase)."""
        at = next(i for i, phase in enumerate(self.phases) if any(s.name == name for s in phase))
        if len(self.phases[at]) > 1:
            return False
        return not any(s.wants(state) for phase in self.phases[at + 1 :] for s in phase)


class StageJob(NamedTuple):
    """One step over one batch: what a stage task is called with."""

    spec: WorkflowSpec
    shape: Shape
    plan: Any  # dataset.BatchPlan (imported there: this module sits below dataset)
    step: str
    states: BatchStates
    concurrency: int = 4
    record_attempts: int = 3


class StageRun(NamedTuple):
    """A step's states, and whether they came from an earlier run's finished stage."""

    states: BatchStates
    reused: bool = False


RunStage = Callable[[StageJob], Awaitable[StageRun]]
"""Runs one step over a batch. The Prefect layer passes one that runs it as a cached task."""


async def run_records(
    env: StepEnv,
    states: BatchStates,
    name: str,
    work: RecordStep,
    wanted: Callable[[RecordState], bool],
    limit: int,
    out_of_time: Callable[[RecordState], None] | None = None,
) -> BatchStates:
    """`work` on every record `wanted` picks, at most `limit` at once, each within the rest of
    its time budget (`out_of_time` hears of a record whose budget ran out, see `timed_out`); the
    others pass through unchanged. The states that come back say whether the step left a record
    unmade (no backend could make it, or not in time: `incomplete`) and carry the step in their
    lineage."""
    gate = asyncio.Semaphore(limit)
    budget = env.spec.record_timeout_s
    unmade: list[int] = []

    async def one(state: RecordState) -> RecordState:
        if not wanted(state):
            return state.fork()
        state = await _within_budget(state)
        if not state.clean:
            unmade.append(state.index)
        return state

    async def _within_budget(state: RecordState) -> RecordState:
        async with gate:
            state = state.fork()
            progress = Progress(calls=list(state.outcome.calls))
            PROGRESS.set(progress)  # this record's own asyncio task: its stages report here
            started = time.perf_counter()
            try:
                async with asyncio.timeout(budget - state.elapsed_s):
                    await work(env, state)
            except TimeoutError:
                state.outcome, state.final = timed_out(state.index, budget, progress, made=state.outcome), True
                state.marks.stages = 0
                if out_of_time is not None:
                    out_of_time(state)
            state.elapsed_s += time.perf_counter() - started
            return state

    records = list(await asyncio.gather(*(one(s) for s in states.records)))
    incomplete = bool(unmade)
    lineage = f"{states.lineage}:{name}" + (f":{uuid.uuid4()}" if incomplete else "")  # an incomplete step is never reused
    return BatchStates(
        workflow=states.workflow,
        version=states.version,
        batch=states.batch,
        step=name,
        lineage=lineage,
        incomplete=incomplete,
        request_class=states.request_class,
        records=records,
    )


def join(start: RecordState, branches: list[RecordState]) -> RecordState:
    """A record after steps that ran at once from `start`: every branch's stage metrics, calls
    and branch results in the plan's order, and the longest branch's time."""
    merged = start.fork()
    for branch in branches:
        if branch.final and not merged.final:  # out of time in this branch: the record is timed out
            merged = branch.model_copy()
            continue
        merged.outcome.stages.extend(branch.outcome.stages[len(start.outcome.stages) :])
        merged.outcome.calls.extend(branch.outcome.calls[len(start.outcome.calls) :])
        merged.outcome.meta.update(branch.outcome.meta)
        merged.branches.update(branch.branches)
        merged.elapsed_s = max(merged.elapsed_s, branch.elapsed_s)
    return merged


def combine(before: BatchStates, branches: list[BatchStates]) -> BatchStates:
    """The states after steps that ran at once from `before` (see `join`)."""
    records = [join(start, [states.records[i] for states in branches]) for i, start in enumerate(before.records)]
    lineage = hashlib.sha256(":".join(s.lineage for s in branches).encode()).hexdigest()
    return before.model_copy(update={"records": records, "lineage": lineage, "step": "+".join(s.step for s in branches)})


def timed_out(index: int, budget_s: float, progress: Progress, made: RecordOutcome | None = None) -> RecordOutcome:
    """A record that used up its time budget: not made, with where it stopped and every call it
    made. A record already `made` valid for its schema but refused for realism, whose budget ran
    out while it was being made again, was judged on its merits: it stays rejected with its
    defects (in the rejects file), so a slow model does not lose it as unmade."""
    metrics = StageMetrics(
        stage=progress.stage or "start", role="timed_out", error_class="TimedOut", latency_s=sum(c.latency_s for c in progress.calls)
    )
    for call in progress.calls:
        account(metrics, call)
    if made is not None and made.refused_for_realism:
        return made.model_copy(
            update={
                "reason": f"{made.reason}; then out of time ({budget_s:g} s, the spec's record_timeout_s) making it again",
                "stages": [metrics],
                "calls": list(progress.calls),
                "failure": FailureKind.content,
                "meta": {**made.meta, "timed_out": True},
            }
        )
    where = f"in stage '{progress.stage}'" if progress.stage else "before its first stage"
    return RecordOutcome(
        index=index,
        reason=f"timed out after {budget_s:g} s (the spec's record_timeout_s) {where}, after {len(progress.calls)} model calls",
        stages=[metrics],
        calls=list(progress.calls),
        failure=FailureKind.timed_out,
        meta={"timed_out": True},
    )


def plain_view(env: StepEnv, _state: RecordState) -> RecordView:
    """The record's view when its pattern runs on the spec and shape it was given."""
    return RecordView(env.spec, env.shape, env.context)


async def run_one(
    plan: StagePlan, pool: BackendPool, spec: WorkflowSpec, shape: Shape, *, index: int, seed: int | None, context: RecordContext | None
) -> RecordOutcome:
    """One record through a stage plan, in-process: what a pattern does for a single record
    (a regenerated record, a route, a mock API request). Steps of a phase run at once."""
    env = StepEnv(pool, spec, shape, context or RecordContext(), make_view=plain_view)
    state = RecordState(index=index, seed=seed, outcome=RecordOutcome(index=index))
    for phase in plan.phases:
        steps = [s for s in phase if s.wants(state)]
        if len(phase) == 1 and steps:
            await steps[0].run(env, state)
        elif steps:
            forks = [state.fork() for _ in steps]
            await asyncio.gather(*(s.run(env, f) for s, f in zip(steps, forks, strict=True)))
            state = join(state, forks)
    if not state.stopped:
        plan.close(env, state)
    return state.outcome
