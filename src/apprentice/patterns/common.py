"""Pieces every pattern shares: the part of a schema a stage fills, answers gathered side by side
(parallel branches, consensus candidates), merging, the final check."""

from __future__ import annotations

from typing import Any

from apprentice.generation import StageMetrics, StageOutcome, produce_valid
from apprentice.records import RecordContext, RecordOutcome
from apprentice.rules import check_rules
from apprentice.shapes.prompts import generate_messages
from apprentice.shapes.schema import Shape
from apprentice.shapes.validate import validate
from apprentice.stages import RecordState, RecordStep, RecordView, StepEnv
from apprentice.workflows import StageRole, StageSpec, WorkflowSpec


def stage_schema(schema: Any, fields: list[str] | None) -> Any:
    """The part of an object schema a stage is responsible for (all of it when `fields` is None)."""
    if not fields or not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return schema
    props = {k: v for k, v in schema["properties"].items() if k in fields}
    required = [k for k in schema.get("required", []) if k in props]
    return {**schema, "properties": props, "required": required}


def generators(spec: WorkflowSpec) -> list[StageSpec]:
    return [s for s in spec.stages if s.role is StageRole.generate]


def side_by_side(name: str, *, own_fields: bool) -> RecordStep:
    """The step in which generate stage `name` answers a record on its own, beside the spec's other
    generate stages: a parallel branch fills its `fields` (`own_fields`), a consensus candidate the
    whole schema. Its answer, valid or not, is kept in `state.branches` for what decides between
    them (the merge, the choice of the best); `gathered` reads them back."""

    async def run(env: StepEnv, state: RecordState) -> None:
        view = env.view(state)
        stage = view.stage(name)
        if stage is None or view.nothing_to_write:
            return
        schema = stage_schema(view.shape.json_schema, stage.fields) if own_fields else view.shape.json_schema
        result = await produce_valid(
            env.pool, stage, schema, generate_messages(schema, instructions=stage.prompt, index=state.index), seed=state.seed
        )
        state.add(result)
        state.branches[name] = result.model_copy(update={"calls": []})  # its calls are on the outcome already

    return run


def gathered(view: RecordView, state: RecordState) -> tuple[list[StageSpec], list[StageOutcome]]:
    """The spec's generate stages and each one's answer kept by `side_by_side` (an invalid
    "not run" outcome for a stage that did not answer, e.g. after a resume without it)."""
    stages = generators(view.spec)
    return stages, [state.branches.get(s.name) or _not_run(s) for s in stages]


def _not_run(stage: StageSpec) -> StageOutcome:
    return StageOutcome(reason="not run", metrics=StageMetrics(stage=stage.name, role=stage.role.value))


def merge_values(record: Any, value: Any) -> Any:
    if value is record:
        return record
    if isinstance(record, dict) and isinstance(value, dict):
        return {**record, **value}
    return value if value is not None else record


def finish(
    outcome: RecordOutcome,
    record: Any,
    shape: Shape,
    spec: WorkflowSpec | None = None,
    context: RecordContext | None = None,
    *,
    already_valid: bool = False,
) -> RecordOutcome:
    """Final strict check: valid only if the record satisfies the whole shape and the spec's rules.

    `already_valid` skips the schema check when the last stage just validated this very record.
    A valid record claims its unique values in the batch.
    """
    rules = spec.rules if spec else []
    issues = [] if already_valid or record is None else validate(record, shape.json_schema)
    if record is not None and rules and not issues:
        issues = check_rules(record, rules, context.unique if context else None)
    outcome.record = record
    outcome.valid = record is not None and not issues
    if outcome.valid and rules and context is not None:
        context.unique.claim(record, rules)
    if not outcome.valid and outcome.reason is None:
        outcome.reason = "; ".join(str(i) for i in issues[:5]) or "no record"
    return outcome
