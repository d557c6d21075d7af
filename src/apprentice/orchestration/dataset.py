"""The dataset flow: N records in cached batches, JSONL out, artifacts, hooks on every task.

A batch task's cache key is its content (spec hash, shape hash, which records, seed), never the
tuning knobs (concurrency, batch timeouts), so rerunning a killed run reuses every finished batch
and produces the same records without duplicates.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext, TaskRunContext
from prefect.futures import PrefectFuture
from prefect.settings import get_current_settings
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from apprentice.backends.ledger import record_calls
from apprentice.config import load_pool_config, load_settings
from apprentice import resume
from apprentice.dataset import (
    BatchIncomplete,
    BatchPlan,
    BatchResult,
    DatasetSummary,
    generate_batch,
    plan_batches,
    plan_presets,
    rejects_path,
    shortfall,
    summarise,
    write_outputs,
)
from apprentice.errors import RunIncomplete
from apprentice.evolution.registry import serving
from apprentice.orchestration.artifacts import publish
from apprentice.orchestration.hooks import on_flow_state, on_task_state
from apprentice.orchestration.monitoring import monitor_run
from apprentice.orchestration.runtime import close_pools, pool_for
from apprentice.preflight import check_fits
from apprentice.shapes.schema import Shape, compile_shape, load_shape
from apprentice.numeric import sample
from apprentice.records import FailureKind, RecordOutcome
from apprentice.variants import load_variants, save_variants, serve, variant_key
from apprentice.workflows import Pattern, WorkflowSpec, default_spec, load_spec, parse_spec


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
    """Generate one batch of records and write its calls to the ledger.

    Records an earlier, incomplete run of this batch made are reused; if backends leave records
    unmade now, the made ones are kept and the task fails (`BatchIncomplete`), so it is never
    cached as completed and its rerun makes exactly the missing records.
    """
    key = plan.cache_key(spec, shape)
    if fresh:
        await asyncio.to_thread(resume.forget, key)
    earlier = await asyncio.to_thread(resume.kept, key)
    pool = pool_for(backends_file)
    result = await generate_batch(pool, spec, shape, plan, concurrency=concurrency, record_attempts=record_attempts, kept=earlier)
    run = TaskRunContext.get()
    await asyncio.to_thread(  # off the event loop, so parallel batches keep their requests flowing
        record_calls,
        [(m.stage, c) for o in result.made_now for m, c in _stage_calls(o)],
        run_id=str(run.task_run.id) if run else f"local-{plan.index}",
        workflow=spec.name,
        version=spec.version,
    )
    if result.not_made:
        await asyncio.to_thread(resume.keep, key, [o for o in result.outcomes if o.failure is not FailureKind.backend])
        raise BatchIncomplete(result)
    if earlier:
        await asyncio.to_thread(resume.forget, key)
    return result


def batch_task(fresh: bool = False):
    """The batch task with its results kept under the apprentice home (not `~/.prefect`, so the
    project's `make clean` clears them), unless a default result storage block is configured
    (shared storage for many machines). `fresh` recomputes every batch instead of reusing it."""
    storage = None if get_current_settings().results.default_storage_block else load_settings().results_dir
    return generate_batch_task.with_options(result_storage=storage, refresh_cache=fresh or None)


async def batch_outcome(state: State) -> BatchResult:
    """A batch's result from its final state. A batch that backends left incomplete gives what it
    made plus its unmade records, marked as such; any other failure (bad configuration, a bug)
    fails the run with its own error."""
    if state.is_failed():
        error = await state.result(raise_on_failure=False)
        if isinstance(error, BatchIncomplete):
            return error.result
    return await state.result()


class RunProgress:
    """What the current dataset run has finished, for a caller that is interrupted mid-run."""

    batches = done = records = 0

    @classmethod
    def reset(cls, batches: int) -> None:
        cls.batches, cls.done, cls.records = batches, 0, 0

    @classmethod
    def finished(cls, result: BatchResult) -> None:
        cls.done += not result.not_made
        cls.records += sum(o.valid for o in result.outcomes)


async def _finished(future: PrefectFuture) -> State:
    """The final state of a future from another task runner, awaited without holding a thread
    (a thread per waiting batch would cap the fan-out at the default executor's size)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    future.add_done_callback(lambda _: loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None)))
    await done
    future.wait()  # done already: this only reads the final state
    return future.state


def _stage_calls(outcome):
    """Pair each call with the stage that made it (stages record their call counts in order)."""
    calls = iter(outcome.calls)
    for metrics in outcome.stages:
        for _ in range(metrics.calls):
            call = next(calls, None)
            if call is not None:
                yield metrics, call


def resolve_shape(shape: str | dict | Shape) -> Shape:
    if isinstance(shape, Shape):
        return shape
    if isinstance(shape, str):
        return load_shape(shape)
    return compile_shape(shape)


def workflow_name(shape: Any) -> str:
    """The default workflow name for a shape: its file's stem, or `inline`."""
    return Path(shape).stem.removesuffix(".schema") if isinstance(shape, str) else "inline"


def resolve_spec(spec: str | dict | WorkflowSpec | None, *, fallback_name: str) -> WorkflowSpec:
    if spec is None:
        return default_spec(fallback_name)
    if isinstance(spec, str):
        return load_spec(spec)
    return parse_spec(spec)


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
    batch_size: int = 10,
    concurrency: int = 4,
    parallel_batches: int = 2,
    record_attempts: int = 3,
    seed: int = 0,
    backends_file: str | None = None,
    monitor: bool = True,
    fresh: bool = False,
) -> DatasetSummary:
    """Generate `n` records valid for `shape` (a file path or an inline example/JSON Schema).

    `spec` is a workflow spec (path or inline; default: generate then validate); once evolution
    has promoted a version of its workflow, the registry's live version (or a canary, by its
    traffic share and the run's seed) serves instead, and every record's meta row names the
    version that made it. Records go to
    `out` (JSONL; default under the apprentice home), rejects with reasons beside it. A record
    that fails is regenerated afresh up to `record_attempts` times before it is rejected.
    With `monitor`, the run is fed to its workflow version's apprenticeship (judged while an
    apprentice, drift-checked once graduated); a run made wholly of reused batches or `$cache`
    variants is not a new execution and is not monitored.

    Batches run inline on the flow's event loop, sharing one backend pool (and so its per-backend
    concurrency limits). Give the flow another task runner — `generate_dataset.with_options(
    task_runner=DaskTaskRunner(...))` — and they are submitted to it instead, each worker process
    with its own pool: `max_concurrency` then holds per worker.

    A run that could not make every record because backends failed, or that made no valid
    record at all, raises `RunIncomplete` after writing what it made, so its flow run ends
    Failed; rerunning it makes only the missing records. `fresh` ignores earlier batches.
    """
    logger = get_run_logger()
    compiled = resolve_shape(shape)
    asked = resolve_spec(spec, fallback_name=workflow_name(shape))
    workflow = await asyncio.to_thread(serving, asked, str(seed))
    if workflow.key != asked.key:
        logger.info("the registry serves %s for %s (promoted or canary)", workflow.key, asked.key)
    await asyncio.to_thread(check_fits, workflow, compiled, load_pool_config(backends_file), load_settings())
    out_path = Path(out) if out else load_settings().home / "out" / f"{workflow.name}-{seed}.jsonl"
    numeric = None
    presets = None
    if workflow.pattern is Pattern.statistics and workflow.statistics is not None:
        presets, numeric = sample(workflow.statistics, n, seed)
        logger.info("statistics path: %d rows drawn, verification %s", n, "passed" if numeric.passed else "FAILED")
    field_plan, presets = plan_presets(workflow, compiled, n, seed, presets)
    if field_plan is not None:
        logger.info("field plan: %s", ", ".join(f"{f.name}={f.source.value}" for f in field_plan.fields))

    generated = 0  # records a model made in this run (not reused from an earlier run or `$cache`)
    distributed = not isinstance(FlowRunContext.get().task_runner, ThreadPoolTaskRunner)
    task = batch_task(fresh)

    async def run_batches(count: int, run_seed: int) -> tuple[list[BatchResult], int]:
        plans = plan_batches(count, batch_size, run_seed, presets if count == n else None)
        logger.info("generating %d records for %s in %d batches", count, workflow.key, len(plans))
        limit = asyncio.Semaphore(max(1, parallel_batches))
        RunProgress.reset(len(plans))
        reused = 0

        async def run(plan: BatchPlan) -> BatchResult:
            nonlocal reused, generated
            async with limit:
                args = (workflow, compiled, plan, concurrency, backends_file, record_attempts, fresh)
                state = await (_finished(task.submit(*args)) if distributed else task(*args, return_state=True))
                reused += state.name == "Cached"
                generated += 0 if state.name == "Cached" else plan.count
                result = await batch_outcome(state)
                RunProgress.finished(result)
                return result

        return list(await asyncio.gather(*(run(p) for p in plans))), reused

    try:
        if compiled.cache_variants:
            batches, made, reused = await _serve_variants(workflow, compiled, n, seed, run_batches)
        else:
            (batches, reused), made = await run_batches(n, seed), []
        summary = summarise(workflow, n, batches, compiled.json_schema)
        summary.field_plan = field_plan.table() if field_plan else None
        fresh_run = not compiled.cache_variants and reused < len(batches) and not summary.not_made
        source = {k: v for k, v in (("shape", shape), ("spec", spec)) if isinstance(v, str)}
        step = await _monitor(workflow, summary, batches, backends_file, source) if monitor and fresh_run and n else None
    finally:
        await close_pools()
    if step is not None:
        logger.info("apprenticeship of %s: %s → %s (%d judge calls)", workflow.key, step.previous.value, step.state.value, step.judge_calls)
    if compiled.cache_variants:  # served variants cost nothing; variants made in this run are its cost
        spent = summarise(workflow, compiled.cache_variants, made)
        summary.per_backend, summary.input_tokens, summary.output_tokens, summary.cost_usd = spent.per_backend, spent.input_tokens, spent.output_tokens, spent.cost_usd
        summary.quality, summary.seconds_per_record = spent.quality, spent.seconds_per_record
    summary.from_cache, summary.generated = (n if compiled.cache_variants else 0), generated
    summary.out, summary.batches_reused, summary.numeric = str(out_path.resolve()), reused, numeric
    summary.rejects = str(rejects_path(out_path)) if summary.invalid else None
    written, _ = (await asyncio.gather(asyncio.to_thread(write_outputs, batches, out_path, numeric), publish(summary, batches)))[0]
    logger.info("wrote %d valid records to %s (%d invalid, %d not made)", summary.records, written, summary.invalid, summary.not_made)
    if failure := shortfall(summary):
        raise RunIncomplete(failure, summary)  # the flow run ends Failed; the records made are written
    return summary


async def _monitor(workflow: WorkflowSpec, summary: DatasetSummary, batches: list[BatchResult], backends_file: str | None, source: dict[str, str]):
    """The apprenticeship step; its failure is logged, never the user's run's failure."""
    state = await monitor_run(workflow, summary, batches, backends_file, source, return_state=True)
    if state.is_completed():
        return await state.result()
    get_run_logger().warning("apprenticeship step failed (%s); the records are unaffected", state.message)
    return None


async def _serve_variants(workflow: WorkflowSpec, shape: Shape, n: int, seed: int, run_batches) -> tuple[list[BatchResult], list[BatchResult], int]:
    """Serve `n` records from the shape's `$cache` variants, generating them first if missing."""
    key = variant_key(workflow, shape)
    variants = await asyncio.to_thread(load_variants, key)
    made: list[BatchResult] = []
    reused = 0
    if len(variants) < shape.cache_variants:
        made, reused = await run_batches(shape.cache_variants, 0)
        if any(b.not_made for b in made):  # an outage: store no variants, report what was not made
            return made, made, reused
        variants = [o.record for b in made for o in sorted(b.outcomes, key=lambda o: o.index) if o.valid]
        await asyncio.to_thread(save_variants, key, workflow.name, variants)
    outcomes = [
        RecordOutcome(index=i, record=r, valid=True, meta={"variant": (seed + i) % max(1, len(variants))})
        for i, r in enumerate(serve(variants, n, seed))
    ]
    served = BatchResult(workflow=workflow.name, version=workflow.version, plan=BatchPlan(index=0, start=0, count=n, seed=seed, total=n), outcomes=outcomes)
    return [served], made, reused
