"""Generation patterns: one record at a time (`run_pattern`: pool, spec, shape, index → one
record), and as stage plans over a batch (`stage_plan`).

Each module is one pattern. Sequential, parallel, correct loop, consensus, routed and statistics
declare their steps (`apprentice.stages`), picked by `spec.pattern`; a record alone runs the same
steps in-process (`run_alone`). A route routed again runs whole, record by record, in one step named
after the pattern. Prefect is not imported here: the dataset flow makes each step a task.
"""

from __future__ import annotations

from collections.abc import Callable

from apprentice.backends.pool import BackendPool
from apprentice.patterns.consensus import consensus_plan
from apprentice.patterns.correct_loop import correct_loop_plan
from apprentice.patterns.given import run_with_given, told
from apprentice.patterns.parallel import parallel_plan
from apprentice.patterns.routed import nested, routed_plan, run_whole_route
from apprentice.patterns.sequential import sequential_plan
from apprentice.patterns.statistics import statistics_plan
from apprentice.records import RecordContext, RecordOutcome
from apprentice.shapes.schema import Shape
from apprentice.stages import RecordState, StagePlan, Step, StepEnv, run_one
from apprentice.workflows import Pattern, WorkflowSpec


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
        return await run_alone(pool, spec, shape, index=index, seed=seed, context=context)
    assert context is not None
    return await run_with_given(run_alone, pool, spec, shape, given, index=index, seed=seed, context=context, about=about)


async def run_alone(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    *,
    index: int,
    seed: int | None = None,
    context: RecordContext | None = None,
) -> RecordOutcome:
    """Record number `index` through the spec's pattern alone, in-process (no given values): the
    steps of its stage plan (`stage_plan`, `stages.run_one`), or, for a route that is routed
    again, the chosen route run whole (`routed.run_whole_route`)."""
    if spec.pattern is Pattern.routed and nested(spec):
        return await run_whole_route(pool, spec, shape, index=index, seed=seed, context=context)
    return await run_one(PLANS[spec.pattern](spec), pool, spec, shape, index=index, seed=seed, context=context)


PLANS: dict[Pattern, Callable[[WorkflowSpec], StagePlan]] = {
    Pattern.sequential: sequential_plan,
    Pattern.parallel: parallel_plan,
    Pattern.correct_loop: correct_loop_plan,
    Pattern.consensus: consensus_plan,
    Pattern.routed: routed_plan,
    Pattern.statistics: statistics_plan,
}


def stage_plan(spec: WorkflowSpec, given_fields: frozenset[str] = frozenset()) -> StagePlan:
    """The spec's pattern over a batch. `given_fields` (values every record of the batch has
    given) leave out the stages no record needs, as `told` does per record. A pattern without
    its own plan runs whole, record by record, in one step named after it."""
    if spec.pattern in PLANS and not (spec.pattern is Pattern.routed and nested(spec)):
        return PLANS[spec.pattern](told(spec, dict.fromkeys(given_fields), "") if given_fields else spec)
    return StagePlan(phases=[[Step(spec.pattern.value, _whole)]], close=_closed)


async def _whole(env: StepEnv, state: RecordState) -> None:
    """The record through its whole pattern (given values, final check included)."""
    state.outcome = await run_pattern(env.pool, env.spec, env.shape, index=state.index, seed=state.seed, context=env.context)
    state.closed = True


def _closed(_env: StepEnv, _state: RecordState) -> None:
    """Nothing left to check: `_whole` ran the pattern's own final check."""
