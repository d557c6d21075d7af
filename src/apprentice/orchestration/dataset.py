"""The dataset flow: `apprentice.run.generate_async` with Prefect around it — every batch a
subflow named after its pattern (`sequential`, `parallel`, …) whose stages are cached tasks over
the batch's records, hooks on every stage task and the flow, artifacts, and the apprenticeship
task with its events.

A stage task's cache key is the lineage of the states it starts from — the batch's content (spec
hash, shape hash, which records, seed, never the tuning knobs) and each stage that ran cleanly
before it — and its stage, so rerunning a killed run reuses every finished stage of every batch
and produces the same records without duplicates.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

from prefect import Flow, flow, get_run_logger, task
from prefect.context import FlowRunContext, TaskRunContext
from prefect.futures import PrefectFuture
from prefect.settings import get_current_settings
from prefect.states import State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import opaque, quote

from apprentice.config import load_settings
from apprentice.dataset import BatchIncomplete, BatchPlan, BatchResult, DatasetSummary, RecordTotals, kept_step, make_batch
from apprentice.orchestration.artifacts import publish
from apprentice.orchestration.hooks import on_flow_state, on_task_state
from apprentice.orchestration.monitoring import monitor_run
from apprentice.orchestration.runtime import close_pools, pool_for
from apprentice.run import BatchJob, BatchRun, RunProgress, generate_async, resolve_shape, resolve_spec, workflow_name
from apprentice.shapes.schema import Shape
from apprentice.stages import BatchStates, RunStage, StageIncomplete, StageJob, StageRun
from apprentice.workflows import Pattern, WorkflowSpec

__all__ = ["RunProgress", "generate_dataset", "pattern_batch", "resolve_shape", "resolve_spec", "stage_task", "workflow_name"]


def stage_cache_key(_context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """A stage's key: the lineage of the states it starts from (the batch's content, then each
    step that ran cleanly) and the step. A step that left records unmade is never reused."""
    states: BatchStates = parameters["states"]
    return states.step_key(parameters["step"])


# The workflow identity travels in the subflow run's name, not in tags: any tag makes Prefect
# acquire tag-concurrency slots for every task run, which stalls about 2 s on a SQLite-backed server.
@task(
    name="pattern-stage",
    task_run_name="{step}/batch-{plan.index}",
    cache_key_fn=stage_cache_key,
    persist_result=True,
    on_completion=[on_task_state],
    on_failure=[on_task_state],
)
async def stage_task(
    spec: WorkflowSpec,
    shape: Shape,
    plan: BatchPlan,
    step: str,
    states: BatchStates,
    concurrency: int = 4,
    backends_file: str | None = None,
    record_attempts: int = 3,
) -> BatchStates:
    """`dataset.kept_step` as a task: one stage of a batch's pattern over its records, the records
    it finishes kept as they are made, its calls booked under its task run and in the ledger
    before it completes. A stage that left records unmade fails with `StageIncomplete` (carrying every
    record), so it is never cached as completed; the batch goes on with the records it made."""
    run = TaskRunContext.get()
    job = StageJob(spec, shape, plan, step, states, concurrency, record_attempts)
    states = await kept_step(pool_for(backends_file), job, run_id=str(run.task_run.id) if run else None)
    if states.incomplete:
        raise StageIncomplete(states)
    return states


def result_storage() -> Path | None:
    """Results are kept under the apprentice home (not `~/.prefect`, so the project's `make clean`
    clears them), unless a default result storage block is configured (shared storage for many
    machines)."""
    return None if get_current_settings().results.default_storage_block else load_settings().results_dir


async def outcome_of(state: State, carried: type[BatchIncomplete] | type[StageIncomplete]) -> Any:
    """A run's result from its final state. A run that backends left incomplete gives what it
    made (on its `BatchIncomplete` / `StageIncomplete`); any other failure (bad configuration,
    a bug) fails the run with its own error."""
    if state.is_failed():
        error = await state.aresult(raise_on_failure=False)
        if isinstance(error, carried):
            return error.result if isinstance(error, BatchIncomplete) else error.states
    return await state.aresult()


async def _finished(future: PrefectFuture) -> State:
    """The final state of a future from another task runner, awaited without holding a thread
    (a thread per waiting stage would cap the fan-out at the default executor's size)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle() -> None:
        if not done.done():
            done.set_result(None)

    def wake(_: PrefectFuture) -> None:  # on the task runner's thread
        loop.call_soon_threadsafe(settle)

    future.add_done_callback(wake)
    await done
    future.wait()  # done already: this only reads the final state
    return future.state


def stage_tasks(backends_file: str | None, fresh: bool, distributed: bool) -> RunStage:
    """The batch's `run_stage` seam: each step a cached stage task of the pattern's subflow —
    on its event loop, or submitted to its task runner when that is a distributed one."""
    task = stage_task.with_options(result_storage=result_storage(), refresh_cache=fresh or None)  # type: ignore[arg-type]

    async def run_stage(job: StageJob) -> StageRun:
        # Quoted inline: Prefect would otherwise walk every record's state looking for futures. A
        # task submitted to Dask would get the quote itself (as a tuple), so there they go as they are.
        states = job.states if distributed else quote(job.states)
        args: tuple[Any, ...] = (job.spec, job.shape, job.plan, job.step, states, job.concurrency, backends_file, job.record_attempts)
        state = await (_finished(task.submit(*args)) if distributed else task(*args, return_state=True))  # type: ignore[misc]
        return StageRun(await outcome_of(state, StageIncomplete), reused=state.name == "Cached")

    return run_stage


@flow(name="pattern", flow_run_name="{spec.name}@{spec.version}/batch-{plan.index}", persist_result=False, validate_parameters=False)
async def pattern_batch(
    spec: WorkflowSpec,
    shape: Shape,
    plan: BatchPlan,
    concurrency: int = 4,
    backends_file: str | None = None,
    record_attempts: int = 3,
    fresh: bool = False,
) -> BatchResult:
    """One batch as a subflow named after its pattern, each stage of the pattern a task over the
    batch's records (`dataset.make_batch` with stage tasks). An incomplete batch (records
    backends left unmade) fails with `BatchIncomplete`, so its rerun makes exactly the missing
    records; a finished stage is reused by a rerun, so a killed run resumes from it."""
    flow_run = FlowRunContext.get()
    distributed = flow_run is not None and not isinstance(flow_run.task_runner, ThreadPoolTaskRunner)
    result = await make_batch(
        pool_for(backends_file),
        spec,
        shape,
        plan,
        concurrency=concurrency,
        record_attempts=record_attempts,
        fresh=fresh,
        run_stage=stage_tasks(backends_file, fresh, distributed),
    )
    if result.not_made:
        raise BatchIncomplete(result)
    return opaque(result)  # type: ignore[return-value]  # opaque: Prefect would otherwise walk every record looking for futures


_SUBFLOWS: dict[tuple[str, int], Flow] = {}


def pattern_flow(pattern: Pattern, task_runner: TaskRunner[Any] | None) -> Flow:
    """The batch subflow named after `pattern`, with a copy of the dataset flow's task runner when
    that is a distributed one (its stage tasks are submitted there)."""
    if task_runner is not None:
        return pattern_batch.with_options(name=pattern.value, task_runner=cast(Any, subflow_runner(task_runner)))
    key = (pattern.value, 0)
    if key not in _SUBFLOWS:
        _SUBFLOWS[key] = pattern_batch.with_options(name=pattern.value)
    return _SUBFLOWS[key]


def subflow_runner(runner: TaskRunner[Any]) -> TaskRunner[Any]:
    """A copy of the dataset flow's distributed task runner for a batch's subflow. A Dask runner
    that started its own temporary cluster is pointed at that cluster: a copy would start another."""
    cluster = getattr(runner, "_cluster", None)
    if getattr(runner, "address", "") is None and cluster is not None and getattr(cluster, "scheduler_address", None):
        return type(runner)(address=cluster.scheduler_address)  # type: ignore[call-arg]
    return runner.duplicate()


def task_batches():
    """The run's `run_batch` seam: each batch through its pattern's subflow, whose stage tasks
    run inline on the flow's event loop, or on the flow's task runner when it is a distributed one."""
    flow_run = FlowRunContext.get()
    assert flow_run is not None, "task_batches is called inside the dataset flow"
    runner = None if isinstance(flow_run.task_runner, ThreadPoolTaskRunner) else flow_run.task_runner

    async def run_batch(job: BatchJob) -> BatchRun:
        subflow = pattern_flow(job.spec.pattern, runner)
        args = (job.spec, job.shape, job.plan, job.concurrency, job.backends_file, job.record_attempts, job.fresh)
        # An async flow called with return_state=True returns an awaitable of its State; Flow.__call__ types it otherwise.
        state = await subflow(*args, return_state=True)  # type: ignore[misc]
        result = await outcome_of(state, BatchIncomplete)
        result = result.unwrap() if isinstance(result, opaque) else result
        return BatchRun(result, reused=result.reused)

    return run_batch


@flow(
    name="generate-dataset",
    on_completion=[on_flow_state],
    on_failure=[on_flow_state],
    on_crashed=[on_flow_state],
)
async def generate_dataset(
    shape: str | dict[str, Any],
    n: int = 10,
    spec: str | dict[str, Any] | None = None,
    out: str | None = None,
    format: str | None = None,
    batch_size: int | None = None,
    concurrency: int = 4,
    parallel_batches: int = 2,
    record_attempts: int = 3,
    seed: int = 0,
    backends_file: str | None = None,
    monitor: bool = True,
    fresh: bool = False,
) -> DatasetSummary:
    """Generate `n` records valid for `shape` (a file path or an inline example/JSON Schema): see
    `apprentice.run.generate_async` for what the run does and writes (`format`: `jsonl`,
    `parquet` or `csv`; default: what `out`'s name says, else JSONL). With `monitor`, a run made
    wholly now is fed to its workflow version's apprenticeship (judged while an apprentice,
    drift-checked once graduated).

    Batches run inline on the flow's event loop, sharing one backend pool (and so its per-backend
    concurrency limits). Give the flow another task runner — `generate_dataset.with_options(
    task_runner=DaskTaskRunner(...))` — and they are submitted to it instead, each worker process
    with its own pool: `max_concurrency` then holds per worker.

    A run that could not make every record because backends failed, or that made no valid
    record at all, raises `RunIncomplete` after writing what it made, so its flow run ends
    Failed; rerunning it makes only the missing records. `fresh` ignores earlier batches.
    """
    try:
        return await generate_async(
            shape,
            n=n,
            spec=spec,
            out=out,
            format=format,
            batch_size=batch_size,
            concurrency=concurrency,
            parallel_batches=parallel_batches,
            record_attempts=record_attempts,
            seed=seed,
            backends_file=backends_file,
            fresh=fresh,
            run_batch=task_batches(),
            publish=publish,
            monitor=_monitor(backends_file) if monitor else None,
            logger=get_run_logger(),
        )
    finally:
        await close_pools()


def _monitor(backends_file: str | None):
    """The run's `monitor` seam: the apprenticeship task; its failure is logged, never the run's."""

    async def step(workflow: WorkflowSpec, summary: DatasetSummary, records: RecordTotals, source: dict[str, str]):
        # An async task called with return_state=True returns an awaitable of its State; Task.__call__'s
        # overloads type it as the State itself.
        state = await monitor_run(workflow, summary, records, backends_file, source, return_state=True)  # type: ignore[misc]
        if state.is_completed():
            return await state.result()
        get_run_logger().warning("apprenticeship step failed (%s); the records are unaffected", state.message)
        return None

    return step
