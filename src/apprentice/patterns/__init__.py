"""Generation patterns as plain async functions: (pool, spec, shape, index) → one record.

Each module is one pattern; `run_pattern` dispatches on `spec.pattern`. Prefect is not imported
here: the dataset flow runs these inside its batch tasks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from apprentice.backends.pool import BackendPool
from apprentice.patterns.consensus import run_consensus
from apprentice.patterns.correct_loop import run_correct_loop
from apprentice.patterns.given import run_with_given
from apprentice.patterns.parallel import run_parallel
from apprentice.patterns.routed import run_routed
from apprentice.patterns.sequential import run_sequential
from apprentice.patterns.statistics import run_statistics
from apprentice.records import RecordContext, RecordOutcome
from apprentice.shapes.schema import Shape
from apprentice.workflows import Pattern, WorkflowSpec

PatternRunner = Callable[..., Awaitable[RecordOutcome]]

RUNNERS: dict[Pattern, PatternRunner] = {
    Pattern.sequential: run_sequential,
    Pattern.parallel: run_parallel,
    Pattern.correct_loop: run_correct_loop,
    Pattern.routed: run_routed,
    Pattern.consensus: run_consensus,
    Pattern.statistics: run_statistics,
}


async def run_pattern(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    *,
    index: int,
    seed: int | None = None,
    context: RecordContext | None = None,
) -> RecordOutcome:
    """Produce record number `index` with the spec's pattern. Values given in advance for this
    record (sampled, derived or drawn: `context.presets`) are fixed and the pattern writes the rest;
    the statistics path handles its own."""
    given = context.given(index) if context else {}
    about = context.about(index) if context else {}
    if not (given or about) or spec.pattern is Pattern.statistics:
        return await RUNNERS[spec.pattern](pool, spec, shape, index=index, seed=seed, context=context)
    assert context is not None
    return await run_with_given(RUNNERS[spec.pattern], pool, spec, shape, given, index=index, seed=seed, context=context, about=about)
