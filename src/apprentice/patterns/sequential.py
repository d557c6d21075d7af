"""Sequential pattern: generate → enrich → validate, each stage's output the next one's input.

A generate stage fills its `fields` (or all of them); an enrich stage completes the record from
what earlier stages produced; a validate stage checks the whole record against the shape and,
when it fails, runs targeted corrections quoting the failing paths. Over a batch, each stage is
one step (`sequential_plan`): every record goes through a stage before any starts the next.
"""

from __future__ import annotations

from typing import Any

from apprentice.backends.pool import BackendPool
from apprentice.generation import StageMetrics, StageOutcome, produce_valid
from apprentice.patterns.common import finish, merge_values, stage_schema
from apprentice.shapes.prompts import correction_messages, enrich_messages, generate_messages
from apprentice.shapes.schema import Shape
from apprentice.shapes.validate import validate
from apprentice.stages import RecordState, RecordStep, StagePlan, Step, StepEnv
from apprentice.workflows import StageRole, StageSpec, WorkflowSpec


def sequential_plan(spec: WorkflowSpec) -> StagePlan:
    """A step per stage (judges belong to monitoring, not to producing the record), in order."""
    return StagePlan(phases=[[Step(s.name, _stage_step(s.name))] for s in spec.stages if s.role is not StageRole.judge], close=_close)


def _stage_step(name: str) -> RecordStep:
    async def run(env: StepEnv, state: RecordState) -> None:
        """One stage on one record: its output merged into what the earlier stages built."""
        view = env.view(state)
        stage = view.stage(name)
        if stage is None or view.nothing_to_write:
            return
        result, target = await run_stage(
            env.pool, stage, view.shape, state.value, index=state.index, seed=state.seed, known_valid=state.whole_checked
        )
        state.add(result)
        if result.value is None and state.value is None:
            state.outcome.reason = f"stage '{stage.name}': {result.reason}"
            state.stopped = True
            return
        merged = merge_values(state.value, result.value)
        result.metrics.changed = None if state.value is None else merged != state.value
        state.whole_checked = result.valid and target is view.shape.json_schema and merged is result.value
        state.value = merged

    return run


def _close(env: StepEnv, state: RecordState) -> None:
    view = env.view(state)
    finish(state.outcome, state.value, view.shape, view.spec, view.context, already_valid=state.whole_checked)


async def run_stage(
    pool: BackendPool, stage: StageSpec, shape: Shape, record: Any, *, index: int, seed: int | None, known_valid: bool
) -> tuple[StageOutcome, Any]:
    """One stage's outcome for a record, and the schema it was held to: a checking stage checks
    (and corrects) the whole record, a generate stage writes its fields, an enrich stage
    completes the record from what earlier stages made."""
    if stage.role is StageRole.validate or stage.role is StageRole.correct:
        return await validate_and_correct(pool, stage, shape, record, index=index, seed=seed, known_valid=known_valid), shape.json_schema
    target = stage_schema(shape.json_schema, stage.fields)
    if stage.role is StageRole.generate or record is None:
        messages = generate_messages(target, instructions=stage.prompt, index=index)
    else:
        messages = enrich_messages(record, target, instructions=stage.prompt)
    return await produce_valid(pool, stage, target, messages, seed=seed), target


async def validate_and_correct(
    pool: BackendPool, stage: StageSpec, shape: Shape, record: Any, *, index: int, seed: int | None, known_valid: bool = False
) -> StageOutcome:
    """Check the whole record; if it fails, ask the stage's model to fix only the failing paths.
    `known_valid` says an earlier stage already validated this very record against the shape."""
    issues = validate(record, shape.json_schema) if record is not None and not known_valid else []
    if record is not None and not issues:
        metrics = StageMetrics(stage=stage.name, role=stage.role.value, valid=True, output_chars=len(str(record)), entered_valid=True)
        return StageOutcome(value=record, valid=True, metrics=metrics)
    if record is None:
        messages = generate_messages(shape.json_schema, instructions=stage.prompt, index=index)
    else:
        messages = correction_messages(record, shape.json_schema, issues)
    outcome = await produce_valid(pool, stage, shape.json_schema, messages, seed=seed)
    if record is not None and outcome.metrics.calls:  # what a correction made of a failing record (an outage measures nothing)
        outcome.metrics.entered_valid = False
    return outcome
