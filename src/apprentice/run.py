"""A dataset run as one library call: `generate(shape, n=...)` → `DatasetSummary`.

It resolves the shape and the spec, asks the version registry which version serves, checks the
run fits, draws the statistics path's numbers and the field plan's given values, runs the batches
with bounded parallelism, serves `$cache` variants, writes the outputs and says why a short run
failed (`RunIncomplete`). Everything Prefect adds — cached batch tasks, hooks, artifacts, the
apprenticeship task, events — comes in through three seams: `run_batch`, `publish`, `monitor`.
Without them a batch is `dataset.make_batch` on one backend pool shared by the whole run.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, ParamSpec, TypeVar

from apprentice.backends.booking import Purpose, booked_as
from apprentice.backends.ledger import LedgerBook
from apprentice.backends.local import EmbeddedSupervisor, ensure_embedded
from apprentice.backends.pool import BackendPool
from apprentice.config import load_pool_config, load_settings
from apprentice.dataset import (
    RUN_REALISM,
    BatchPlan,
    BatchResult,
    DatasetSummary,
    RecordTotals,
    RunTotals,
    batch_plans,
    batch_size_for,
    make_batch,
    plan_presets,
    run_scope,
    shortfall,
    summarise,
)
from apprentice.errors import RunIncomplete
from apprentice.evolution.registry import serving
from apprentice.fieldplan import RecordPlan
from apprentice.formats import Format
from apprentice.numeric import NumericReport, sample
from apprentice.output import DatasetWriter, rejects_path
from apprentice.preflight import check_fits
from apprentice.progress import batch_finished
from apprentice.records import RecordOutcome
from apprentice.shapes.schema import Shape, compile_shape, load_shape
from apprentice.variants import load_variants, save_variants, serve, variant_key
from apprentice.workflows import Pattern, WorkflowSpec, default_spec, load_spec, parse_spec

Logger = logging.Logger | logging.LoggerAdapter
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class BatchJob:
    """One batch to make: what (spec, shape, plan) and how (the tuning knobs, never in its key)."""

    spec: WorkflowSpec
    shape: Shape
    plan: BatchPlan
    concurrency: int = 4
    record_attempts: int = 3
    backends_file: str | None = None
    fresh: bool = False


class BatchRun(NamedTuple):
    """A finished batch, and whether it was reused from an earlier run rather than made now."""

    result: BatchResult
    reused: bool = False


RunBatch = Callable[[BatchJob], Awaitable[BatchRun]]
"""Makes one batch. The Prefect flow passes one that runs its cached batch task."""
Publish = Callable[[DatasetSummary, list[RecordOutcome]], Awaitable[None]]
"""Shows a finished run somewhere, with its first outcomes (the flow publishes Prefect artifacts)."""
Monitor = Callable[[WorkflowSpec, DatasetSummary, RecordTotals, dict[str, str]], Awaitable[Any]]
"""Feeds a freshly made run (its summary and its records' running totals) to its version's
apprenticeship, with the run's shape/spec references."""
MakeBatch = Callable[[BatchPlan], Awaitable[BatchRun]]


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
        batch_finished(result)  # a live display's listener (progress.py)


def resolve_shape(shape: str | Path | dict | Shape) -> Shape:
    if isinstance(shape, Shape):
        return shape
    if isinstance(shape, (str, Path)):
        return load_shape(shape)
    return compile_shape(shape)


def workflow_name(shape: Any) -> str:
    """The default workflow name for a shape: its file's stem, or `inline`."""
    return Path(shape).stem.removesuffix(".schema") if isinstance(shape, (str, Path)) else "inline"


def resolve_spec(spec: str | Path | dict | WorkflowSpec | None, *, fallback_name: str) -> WorkflowSpec:
    if spec is None:
        return default_spec(fallback_name)
    if isinstance(spec, (str, Path)):
        return load_spec(spec)
    return parse_spec(spec)


def open_pool(backends_file: str | None = None) -> BackendPool:
    """A backend pool for the backend file (default: settings); starts the embedded local server
    if the file needs it and it is down. Its calls are booked in the store's ledger."""
    config, settings = load_pool_config(backends_file), load_settings()
    ensure_embedded(config.backends, settings)
    return BackendPool(config, supervisor=EmbeddedSupervisor(settings), book=LedgerBook())


@dataclass
class _Run:
    """A run once resolved: the serving version, the shape, where it writes, and what was drawn
    for it before any batch."""

    workflow: WorkflowSpec
    shape: Shape
    n: int
    seed: int
    out: Path
    batch_size: int
    parallel_batches: int
    numeric: NumericReport | None
    field_plan: RecordPlan | None
    presets: list[dict[str, Any]] | None
    log: Logger
    fmt: Format = Format.jsonl
    generated: int = 0
    """Records a model made in this run (not reused from an earlier run or `$cache`)."""


async def _resolve(
    shape: str | Path | dict | Shape,
    spec: Any,
    n: int,
    seed: int,
    out: str | Path | None,
    fmt: str | None,
    backends_file: str | None,
    log: Logger,
) -> _Run:
    chosen = Format.choose(fmt, Path(out) if out else None)
    compiled = resolve_shape(shape)
    asked = resolve_spec(spec, fallback_name=workflow_name(shape))
    workflow = await asyncio.to_thread(serving, asked, str(seed))
    if workflow.key != asked.key:
        log.info("the registry serves %s for %s (promoted or canary)", workflow.key, asked.key)
    await asyncio.to_thread(check_fits, workflow, compiled, load_pool_config(backends_file), load_settings())
    out_path = Path(out) if out else load_settings().home / "out" / f"{workflow.name}-{seed}.{chosen.value}"
    numeric = presets = None
    if workflow.pattern is Pattern.statistics and workflow.statistics is not None:
        presets, numeric = sample(workflow.statistics, n, seed)
        log.info("statistics path: %d rows drawn, verification %s", n, "passed" if numeric.passed else "FAILED")
    field_plan, presets = plan_presets(workflow, compiled, n, seed, presets)
    if field_plan is not None:
        log.info("field plan: %s", ", ".join(f"{f.name}={f.source.value}" for f in field_plan.fields))
    return _Run(workflow, compiled, n, seed, out_path, 0, 0, numeric, field_plan, presets, log, chosen)


class _InOrder:
    """Finished batches handed to `handle` in index order, then dropped. A batch starts only
    within `window` batches of the next one due, so at most `window` finished batches wait."""

    def __init__(self, handle: Callable[[BatchResult], None], window: int) -> None:
        self.handle, self.window = handle, window
        self.pending: dict[int, BatchResult] = {}
        self.due = 0
        self.moved = asyncio.Condition()

    async def turn(self, index: int) -> None:
        async with self.moved:
            await self.moved.wait_for(lambda: index < self.due + self.window)

    async def add(self, result: BatchResult) -> None:
        self.pending[result.plan.index] = result
        async with self.moved:
            while self.due in self.pending:
                await asyncio.to_thread(self.handle, self.pending.pop(self.due))  # file writes off the event loop
                self.due += 1
            self.moved.notify_all()


async def _run_batches(run: _Run, count: int, run_seed: int, make: MakeBatch, handle: Callable[[BatchResult], None]) -> tuple[int, int]:
    """`count` records in batches, `parallel_batches` at a time, each handed to `handle` in index
    order as it finishes; returns how many batches there were and how many were reused."""
    plans = batch_plans(count, run.batch_size, run_seed, run.presets if count == run.n else None)
    total = -(-count // run.batch_size)
    run.log.info("generating %d records for %s in %d batches", count, run.workflow.key, total)
    workers = max(1, run.parallel_batches)
    order = _InOrder(handle, window=2 * workers)
    RunProgress.reset(total)
    reused = 0

    async def worker() -> None:
        nonlocal reused
        for plan in plans:  # one iterator shared by the workers: each plan is taken once, in order
            await order.turn(plan.index)
            result, was_reused = await make(plan)
            if was_reused:
                _known_to_later_batches(result)
            reused += was_reused
            run.generated += 0 if was_reused else plan.count
            RunProgress.finished(result)
            await order.add(result)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return total, reused


async def _serve_variants(run: _Run, make: MakeBatch, handle: Callable[[BatchResult], None]) -> tuple[list[BatchResult], int]:
    """Serve `n` records from the shape's `$cache` variants, generating them first if missing;
    returns the batches made for them (this run's cost) and how many were reused."""
    workflow, shape, n, seed = run.workflow, run.shape, run.n, run.seed
    key = variant_key(workflow, shape)
    variants = await asyncio.to_thread(load_variants, key)
    made: list[BatchResult] = []
    reused = 0
    if len(variants) < shape.cache_variants:
        _, reused = await _run_batches(run, shape.cache_variants, 0, make, made.append)
        if any(b.not_made for b in made):  # an outage: store no variants, report what was not made
            for batch in made:
                await asyncio.to_thread(handle, batch)
            return made, reused
        variants = [o.record for b in made for o in sorted(b.outcomes, key=lambda o: o.index) if o.valid]
        await asyncio.to_thread(save_variants, key, workflow.name, variants)
    records = serve(variants, n, seed)
    for plan in batch_plans(n, run.batch_size, seed):
        outcomes = [
            RecordOutcome(index=i, record=records[i], valid=True, meta={"variant": (seed + i) % max(1, len(variants))})
            for i in range(plan.start, plan.start + plan.count)
        ]
        await asyncio.to_thread(handle, BatchResult(workflow=workflow.name, version=workflow.version, plan=plan, outcomes=outcomes))
    return made, reused


def _cost_of_variants(summary: DatasetSummary, run: _Run, made: list[BatchResult]) -> None:
    """Served variants cost nothing; the variants made in this run are its cost."""
    spent = summarise(run.workflow, run.shape.cache_variants, made)
    summary.per_backend, summary.input_tokens, summary.output_tokens, summary.cost_usd = (
        spent.per_backend,
        spent.input_tokens,
        spent.output_tokens,
        spent.cost_usd,
    )
    summary.quality, summary.seconds_per_record = spent.quality, spent.seconds_per_record


async def generate_async(
    shape: str | Path | dict[str, Any] | Shape,
    *,
    n: int = 10,
    spec: str | Path | dict[str, Any] | WorkflowSpec | None = None,
    out: str | Path | None = None,
    format: str | Format | None = None,
    batch_size: int | None = None,
    concurrency: int = 4,
    parallel_batches: int = 2,
    record_attempts: int = 3,
    seed: int = 0,
    backends_file: str | None = None,
    fresh: bool = False,
    pool: BackendPool | None = None,
    run_batch: RunBatch | None = None,
    publish: Publish | None = None,
    monitor: Monitor | None = None,
    logger: Logger | None = None,
) -> DatasetSummary:
    """Generate `n` records valid for `shape` (a file path, an inline example or JSON Schema, or
    a compiled `Shape`) and write them to `out` (default under the apprentice home), the rejects
    with reasons and every record's meta row (with the version that made it) beside it, as JSONL.
    `format` (`jsonl`, `parquet`, `csv`; default: what `out`'s name says, else JSONL) is how the
    records are written: see `apprentice.formats` for the columns a JSON Schema gives.

    `spec` is a workflow spec (path, inline or parsed; default: generate then validate); once
    evolution has promoted a version of its workflow, the registry's live version (or a canary,
    by its traffic share and the seed) serves instead. A record that fails is regenerated afresh
    up to `record_attempts` times before it is rejected. Records a batch could not make because
    backends failed are kept, so a rerun makes only those; `fresh` forgets them.

    `batch_size` records make a batch (default: `dataset.batch_size_for`, two batches per
    parallel lane, 10–500). Finished batches are written as they finish, in index order, and dropped: memory is bounded
    by the batches in flight, not by `n`. The files appear only when the run ends (see `output`).

    `pool` (default: one built from `backends_file`, closed at the end) serves every batch unless
    `run_batch` makes batches another way. `monitor` gets a run made wholly now (not reused, not
    served from `$cache`); `publish` gets every run. A run with records missing because backends
    failed, or with no valid record, raises `RunIncomplete` after writing what it made.
    `logger` (default: this module's) hears what the run does.
    """
    run = await _resolve(shape, spec, n, seed, out, format, backends_file, logger or logging.getLogger(__name__))
    run.batch_size, run.parallel_batches = batch_size or batch_size_for(n, parallel_batches), parallel_batches
    owned = open_pool(backends_file) if pool is None and run_batch is None else None
    pool = owned if owned is not None else pool

    async def make(plan: BatchPlan) -> BatchRun:
        job = BatchJob(run.workflow, run.shape, plan, concurrency, record_attempts, backends_file, fresh)
        if run_batch is not None:
            return await run_batch(job)
        assert pool is not None  # without run_batch, the pool is the caller's or our own
        return BatchRun(
            await make_batch(pool, job.spec, job.shape, plan, concurrency=concurrency, record_attempts=record_attempts, fresh=fresh)
        )

    writer, totals = DatasetWriter(run.out, run.fmt, run.shape.json_schema), RunTotals(run.workflow, run.n, run.shape.json_schema)
    try:
        # one run id for the run's batches, unless a batch has its own (a Prefect task run's)
        with run_scope(run.shape, run.presets), booked_as(Purpose.generation, workflow=run.workflow.name, version=run.workflow.version):
            summary = await _produce(run, make, _recorder(writer, totals), totals, (shape, spec), monitor)
    except BaseException:
        writer.discard()
        raise
    finally:
        if owned is not None:
            await owned.aclose()
    writes: list[Awaitable[Any]] = [asyncio.to_thread(writer.commit, run.numeric)] + ([publish(summary, totals.sample)] if publish else [])
    written, _ = (await asyncio.gather(*writes))[0]
    run.log.info("wrote %d valid records to %s (%d invalid, %d not made)", summary.records, written, summary.invalid, summary.not_made)
    if failure := shortfall(summary):
        raise RunIncomplete(failure, summary)  # the records made are written
    return summary


def _known_to_later_batches(batch: BatchResult) -> None:
    """A batch reused from an earlier run joins the run's realism index, so the batches made now
    do not repeat its identifiers or texts."""
    index = RUN_REALISM.get()
    if index is None:
        return
    for outcome in batch.outcomes:
        if outcome.valid:
            index.add(outcome.index, outcome.record, record_defects=[])


def _recorder(writer: DatasetWriter, totals: RunTotals) -> Callable[[BatchResult], None]:
    """What happens to a finished batch, in index order: its rows are written, it is counted."""

    def record(batch: BatchResult) -> None:
        writer.write(sorted(batch.outcomes, key=lambda o: o.index), f"{batch.workflow}@{batch.version}")
        totals.add(batch)

    return record


async def _produce(
    run: _Run, make: MakeBatch, handle, totals: RunTotals, source: tuple[Any, Any], monitor: Monitor | None
) -> DatasetSummary:
    """Run the batches (or serve `$cache` variants), summarise them and monitor a fresh run."""
    variants = bool(run.shape.cache_variants)
    if variants:
        made, reused = await _serve_variants(run, make, handle)
        batches = 0
    else:
        (batches, reused), made = await _run_batches(run, run.n, run.seed, make, handle), []
    summary = totals.result()
    summary.field_plan = run.field_plan.table() if run.field_plan else None
    if monitor is not None and not variants and reused < batches and not summary.not_made and run.n:
        references = {k: str(v) for k, v in zip(("shape", "spec"), source, strict=True) if isinstance(v, (str, Path))}
        step = await monitor(run.workflow, summary, totals.records, references)
        if step is not None:
            run.log.info(
                "apprenticeship of %s: %s → %s (%d judge calls)", run.workflow.key, step.previous.value, step.state.value, step.judge_calls
            )
    if variants:
        _cost_of_variants(summary, run, made)
    summary.from_cache, summary.generated = (run.n if variants else 0), run.generated
    summary.out, summary.batches_reused, summary.numeric = str(run.out.resolve()), reused, run.numeric
    summary.rejects = str(rejects_path(run.out)) if summary.invalid else None
    return summary


def _blocking(function: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The coroutine function as a plain one, same signature, for code without an event loop."""

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return asyncio.run(function(*args, **kwargs))

    return call


generate = _blocking(generate_async)
generate.__name__ = generate.__qualname__ = "generate"
