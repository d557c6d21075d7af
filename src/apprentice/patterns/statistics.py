"""Statistics path (hybrid): numeric fields come from `apprentice.numeric` (sampled by numpy from
the spec, verified with KS / χ² / R²), the model writes only the remaining fields, told the
numbers so the text agrees with them. The numbers are drawn for the whole dataset before any
record is made (verification needs the whole sample) and handed to each record as a preset.
"""

from __future__ import annotations

import json
from typing import Any

from apprentice.backends.booking import Purpose
from apprentice.backends.pool import BackendPool
from apprentice.backends.types import ChatMessage, ModelRequest
from apprentice.generation import produce_valid
from apprentice.numeric import NumericSpec, sample
from apprentice.patterns.common import finish, stage_schema
from apprentice.records import RecordContext, RecordOutcome
from apprentice.shapes.prompts import SYSTEM, generate_messages
from apprentice.shapes.repair import RepairCounts, Unparseable, parse_json
from apprentice.shapes.schema import Shape
from apprentice.workflows import StageRole, StageSpec, WorkflowSpec

TEXT_STAGE = StageSpec(name="text", role=StageRole.generate)


def text_fields(schema: Any, numeric: NumericSpec) -> list[str]:
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    return [name for name in props if name not in numeric.fields]


async def run_statistics(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    *,
    index: int,
    seed: int | None = None,
    context: RecordContext | None = None,
) -> RecordOutcome:
    """One record: its preset numbers plus model-written text fields consistent with them."""
    assert spec.statistics is not None  # guaranteed by WorkflowSpec validation
    preset = context.given(index) if context else None
    if not preset:
        preset = sample(spec.statistics, 1, seed or index)[0][0]
    schema = shape.json_schema
    outcome = RecordOutcome(index=index, meta={"numeric": preset})
    fields = [f for f in text_fields(schema, spec.statistics) if f not in preset]  # sampled fields come preset too
    record: dict[str, Any] = dict(preset)
    if fields:
        stage = next((s for s in spec.stages if s.role is StageRole.generate), TEXT_STAGE)
        target = stage_schema(schema, fields)
        hint = f"These values of the record are fixed: {json.dumps(preset)}. Write the other fields so they agree with them."
        messages = generate_messages(target, instructions=f"{stage.prompt or ''}\n{hint}".strip(), index=index)
        result = await produce_valid(pool, stage, target, messages, seed=seed)
        outcome.stages.append(result.metrics)
        outcome.calls.extend(result.calls)
        if not result.valid:
            outcome.reason = f"text fields: {result.reason}"
        if isinstance(result.value, dict):
            record = {**result.value, **preset}
    props = list(schema.get("properties", {})) if isinstance(schema, dict) else []
    record = {k: record[k] for k in props if k in record} | {k: v for k, v in record.items() if k not in props}
    return finish(outcome, record, shape, spec, context)


async def propose_numeric_spec(pool: BackendPool, request: str, *, tier=None, backend: str | None = None) -> NumericSpec:
    """Ask a model to turn a plain-language request ("ages normal, mean 35, sd 12…") into a
    `NumericSpec`, answered as structured JSON and validated; never as code. The call is booked
    as a proposal, under the caller's booked run."""
    messages = [
        ChatMessage(role="system", content=SYSTEM),
        ChatMessage(
            role="user",
            content=(
                "Turn this request for numeric test data into a JSON document valid for the schema below. "
                f"Request: {request}\nSchema: {json.dumps(NumericSpec.model_json_schema())}"
            ),
        ),
    ]
    asked = ModelRequest(
        messages=messages, json_schema=NumericSpec.model_json_schema(), temperature=0.0, purpose=Purpose.proposal, stage="numeric_spec"
    )
    call = await pool.complete(asked, backend=backend, tier=tier)
    try:
        return NumericSpec.model_validate(parse_json(call.text, RepairCounts()))
    except (Unparseable, ValueError) as exc:
        from apprentice.errors import ShapeError

        raise ShapeError(f"the model's statistics spec is not usable: {str(exc).splitlines()[0]}") from None
