"""The dataset flow: `apprentice.run.generate_async` with Prefect around it — every batch a cached
task, hooks on every task and the flow, artifacts, and the apprenticeship task with its events.

A batch task's cache key is its content (spec hash, shape hash, which records, seed), never the
tuning knobs (concurrency, batch timeouts), so rerunning a killed run reuses every finished batch
and produces the same records without duplicates.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext, TaskRunContext
from prefect.futures import PrefectFuture
from prefect.settings import get_current_settings
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from apprentice.config import load_settings
from apprentice.dataset import BatchIncomplete, BatchPlan, BatchResult, DatasetSummary, RecordTotals, make_batch
from apprentice.orchestration.artifacts import publish
from apprentice.orchestration.hooks import on_flow_state, on_task_state
from apprentice.orchestration.monitoring import monitor_run
from apprentice.orchestration.runtime import close_pools, pool_for
from apprentice.run import BatchJob, BatchRun, RunProgress, generate_async, resolve_shape, resolve_spec, workflow_name
from apprentice.shapes.schema import Shape
from apprentice.workflows import WorkflowSpec

__all__ = ["RunProgress", "batch_task", "generate_batch_task", "generate_dataset", "resolve_shape", "resolve_spec", "workflow_name"]


def batch_cache_key(_context: TaskRunContext, parameters: dict[str, Any]) -> str:
    plan: BatchPlan = parameters["plan"]
    return plan.cache_key(parameters["spec"], parameters["shape"])


# The workflow identity travels in the task run name, not in tags: any tag makes Prefect acquire
# tag-concurrency slots for every task run, which stalls about 2 s on a SQLite-backed server.
@task(
    name="generate-batch",
    task_run_name="{spec.name}@{spec.version}/batch-{plan.index}",
    cache_key_fn=batch_cache_key,
    persist_result=True,
    on_completion=[on_task_state],
    on_failure=[on_task_state],
)
async def generate_batch_task(
    spec: WorkflowSpec,
    shape: Shape,
    plan: BatchPlan,
    concurrency: int = 4,
    backends_file: str | None = None,
    record_attempts: int = 3,
    fresh: bool = False,
) -> BatchResult:
    """`dataset.make_batch` as a task: an incomplete batch (records backends left unmade) fails
    with `BatchIncomplete`, so it is never cached as completed and its rerun makes exactly the
    missing records."""
    run = TaskRunContext.get()
    result = await make_batch(
        pool_for(backends_file),
        spec,
        shape,
        plan,
        concurrency=concurrency,
        record_attempts=record_attempts,
        fresh=fresh,
        run_id=str(run.task_run.id) if run else None,
    )
    if result.not_made:
        raise BatchIncomplete(result)
    return result


def batch_task(fresh: bool = False):
    """The batch task with its results kept under the apprentice home (not `~/.prefect`, so the
    project's `make clean` clears them), unless a default result storage block is configured
    (shared storage for many machines). `fresh` recomputes every batch instead of reusing it."""
    storage = None if get_current_settings().results.default_storage_block else load_settings().results_dir
    # Task() takes None for both (its own defaults); with_options' annotations leave None out.
    return generate_batch_task.with_options(result_storage=storage, refresh_cache=fresh or None)  # type: ignore[arg-type]


async def batch_outcome(state: State) -> BatchResult:
    """A batch's result from its final state. A batch that backends left incomplete gives what it
    made plus its unmade records, marked as such; any other failure (bad configuration, a bug)
    fails the run with its own error."""
    if state.is_failed():
        error = await state.aresult(raise_on_failure=False)
        if isinstance(error, BatchIncomplete):
            return error.result
    return await state.aresult()


async def _finished(future: PrefectFuture) -> State:
    """The final state of a future from another task runner, awaited without holding a thread
    (a thread per waiting batch would cap the fan-out at the default executor's size)."""
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


def task_batches(fresh: bool):
    """The run's `run_batch` seam: each batch through the cached task — inline on the flow's
    event loop, or submitted to the flow's task runner when it is a distributed one."""
    task = batch_task(fresh)
    flow_run = FlowRunContext.get()
    assert flow_run is not None, "task_batches is called inside the dataset flow"
    distributed = not isinstance(flow_run.task_runner, ThreadPoolTaskRunner)

    async def run_batch(job: BatchJob) -> BatchRun:
        args = (job.spec, job.shape, job.plan, job.concurrency, job.backends_file, job.record_attempts, job.fresh)
        state = await (_finished(task.submit(*args)) if distributed else task(*args, return_state=True))
        return BatchRun(await batch_outcome(state), reused=state.name == "Cached")

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
    batch_size: int = 10,
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
            run_batch=task_batches(fresh),
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
