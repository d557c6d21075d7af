"""Sequential pattern: generate → enrich → validate, each stage's output the next one's input.

A generate stage fills its `fields` (or all of them); an enrich stage completes the record from
what earlier stages produced; a validate stage checks the whole record against the shape and,
when it fails, runs targeted corrections quoting the failing paths.
"""

from __future__ import annotations

from typing import Any

from apprentice.backends.pool import BackendPool
from apprentice.generation import StageMetrics, StageOutcome, produce_valid
from apprentice.patterns.common import finish, merge_values, stage_schema
from apprentice.records import RecordContext, RecordOutcome
from apprentice.shapes.prompts import correction_messages, enrich_messages, generate_messages
from apprentice.shapes.schema import Shape
from apprentice.shapes.validate import validate
from apprentice.workflows import StageRole, StageSpec, WorkflowSpec


async def run_sequential(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    *,
    index: int,
    seed: int | None = None,
    context: RecordContext | None = None,
) -> RecordOutcome:
    """Generate one record by running the spec's stages in order."""
    outcome = RecordOutcome(index=index)
    record: Any = None
    whole_checked = False  # True while `record` is known to validate against the whole shape
    for stage in spec.stages:
        if stage.role is StageRole.judge:
            continue  # judges belong to monitoring, not to producing the record
        if stage.role is StageRole.validate or stage.role is StageRole.correct:
            result = await validate_and_correct(pool, stage, shape, record, index=index, seed=seed, known_valid=whole_checked)
            target = shape.json_schema
        else:
            target = stage_schema(shape.json_schema, stage.fields)
            if stage.role is StageRole.generate or record is None:
                messages = generate_messages(target, instructions=stage.prompt, index=index)
            else:
                messages = enrich_messages(record, target, instructions=stage.prompt)
            result = await produce_valid(pool, stage, target, messages, seed=seed)
        outcome.stages.append(result.metrics)
        outcome.calls.extend(result.calls)
        if result.value is None and record is None:
            outcome.reason = f"stage '{stage.name}': {result.reason}"
            return outcome
        merged = merge_values(record, result.value)
        whole_checked = result.valid and target is shape.json_schema and merged is result.value
        record = merged
    return finish(outcome, record, shape, spec, context, already_valid=whole_checked)


async def validate_and_correct(
    pool: BackendPool, stage: StageSpec, shape: Shape, record: Any, *, index: int, seed: int | None, known_valid: bool = False
) -> StageOutcome:
    """Check the whole record; if it fails, ask the stage's model to fix only the failing paths.
    `known_valid` says an earlier stage already validated this very record against the shape."""
    issues = validate(record, shape.json_schema) if record is not None and not known_valid else []
    if record is not None and not issues:
        metrics = StageMetrics(stage=stage.name, role=stage.role.value, valid=True, output_chars=len(str(record)))
        return StageOutcome(value=record, valid=True, metrics=metrics)
    if record is None:
        messages = generate_messages(shape.json_schema, instructions=stage.prompt, index=index)
    else:
        messages = correction_messages(record, shape.json_schema, issues)
    return await produce_valid(pool, stage, shape.json_schema, messages, seed=seed)
