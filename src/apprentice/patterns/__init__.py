"""Pattern building blocks: plain async functions that turn (pool, spec, shape, index) into a record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from apprentice.backends.pool import BackendPool
from apprentice.errors import ConfigError
from apprentice.patterns.sequential import run_sequential
from apprentice.records import RecordOutcome
from apprentice.shapes.schema import Shape
from apprentice.workflows import Pattern, WorkflowSpec

PatternRunner = Callable[..., Awaitable[RecordOutcome]]

RUNNERS: dict[Pattern, PatternRunner] = {Pattern.sequential: run_sequential}


async def run_pattern(
    pool: BackendPool, spec: WorkflowSpec, shape: Shape, *, index: int, seed: int | None = None
) -> RecordOutcome:
    """Produce record number `index` with the spec's pattern."""
    runner = RUNNERS.get(spec.pattern)
    if runner is None:
        available = ", ".join(p.value for p in RUNNERS)
        raise ConfigError(f"pattern '{spec.pattern.value}' is not available yet (available: {available})")
    return await runner(pool, spec, shape, index=index, seed=seed)
