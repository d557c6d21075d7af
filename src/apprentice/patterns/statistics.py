"""Statistics path (hybrid): numeric fields come from `apprentice.numeric` (sampled by numpy from
the spec, verified with KS / χ² / R²), the model writes only the remaining fields, told the
numbers so the text agrees with them. The numbers are drawn for the whole dataset before any
record is made (verification needs the whole sample) and handed to each record as a preset.
Over a batch (`statistics_plan`), a sampling step gives each record its numbers, then a fill step
has the model write the rest.
"""

from __future__ import annotations

import functools
import json
from typing import Any, NamedTuple

from apprentice.backends.booking import Purpose
from apprentice.backends.pool import BackendPool
from apprentice.backends.types import ChatMessage, ModelRequest
from apprentice.config import Tier
from apprentice.generation import produce_valid
from apprentice.learning.library import LibraryMatch, MatchKind, SolutionLibrary, current_library
from apprentice.learning.requests import features_of
from apprentice.numeric import NumericSpec, sample
from apprentice.patterns.common import finish, stage_schema
from apprentice.shapes.prompts import SYSTEM, generate_messages
from apprentice.shapes.repair import RepairCounts, Unparseable, parse_json
from apprentice.stages import RecordState, StagePlan, Step, StepEnv
from apprentice.workflows import StageRole, StageSpec, WorkflowSpec

TEXT_STAGE = StageSpec(name="text", role=StageRole.generate)


def text_fields(schema: Any, numeric: NumericSpec) -> list[str]:
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    return [name for name in props if name not in numeric.fields]


SAMPLING = "sampling"


def statistics_plan(spec: WorkflowSpec) -> StagePlan:
    """The sampling step (each record takes its drawn numbers), then the text stage fills the rest."""
    stage = _text_stage(spec)
    return StagePlan(phases=[[Step(SAMPLING, _sampling)], [Step(stage.name, _fill)]], close=_close)


def _text_stage(spec: WorkflowSpec) -> StageSpec:
    return next((s for s in spec.stages if s.role is StageRole.generate), TEXT_STAGE)


async def _sampling(env: StepEnv, state: RecordState) -> None:
    """The record's numbers: drawn for the whole dataset before any batch (its preset), or, for a
    record made alone, drawn now from its seed."""
    spec = env.view(state).spec
    assert spec.statistics is not None  # guaranteed by WorkflowSpec validation
    preset = env.context.given(state.index) or sample(spec.statistics, 1, state.seed or state.index)[0][0]
    state.value = dict(preset)
    state.outcome.meta["numeric"] = preset


async def _fill(env: StepEnv, state: RecordState) -> None:
    """The model writes the fields not drawn, told the numbers so the text agrees with them."""
    view = env.view(state)
    assert view.spec.statistics is not None
    preset = state.outcome.meta.get("numeric") or {}
    fields = [f for f in text_fields(view.shape.json_schema, view.spec.statistics) if f not in preset]  # sampled fields come preset too
    if not fields:
        return
    stage = _text_stage(view.spec)
    target = stage_schema(view.shape.json_schema, fields)
    hint = f"These values of the record are fixed: {json.dumps(preset)}. Write the other fields so they agree with them."
    messages = generate_messages(target, instructions=f"{stage.prompt or ''}\n{hint}".strip(), index=state.index)
    result = await produce_valid(env.pool, stage, target, messages, seed=state.seed)
    state.add(result)
    if not result.valid:
        state.outcome.reason = f"text fields: {result.reason}"
    if isinstance(result.value, dict):
        state.value = {**result.value, **preset}


def _close(env: StepEnv, state: RecordState) -> None:
    view = env.view(state)
    schema, record = view.shape.json_schema, state.value if isinstance(state.value, dict) else {}
    props = list(schema.get("properties", {})) if isinstance(schema, dict) else []
    record = {k: record[k] for k in props if k in record} | {k: v for k, v in record.items() if k not in props}
    finish(state.outcome, record, view.shape, view.spec, view.context)


class ProposedSpec(NamedTuple):
    """A statistics spec for a sentence, and what the solution library had for it."""

    spec: NumericSpec
    match: LibraryMatch


async def propose_numeric_spec(
    pool: BackendPool, request: str, *, tier=None, backend: str | None = None, library: SolutionLibrary | None = None
) -> NumericSpec:
    """Turn a plain-language request ("ages normal, mean 35, sd 12…") into a `NumericSpec`, through
    the solution library (`propose_numeric_solution`)."""
    return (await propose_numeric_solution(pool, request, tier=tier, backend=backend, library=library)).spec


async def propose_numeric_solution(
    pool: BackendPool, request: str, *, tier=None, backend: str | None = None, library: SolutionLibrary | None = None
) -> ProposedSpec:
    """A `NumericSpec` for a sentence, through the solution library (default: the store's): the
    same request again reuses the stored spec without a model call; a similar one has a model
    edit the stored spec (validated before use, else written afresh); anything else is written by
    a model as structured JSON, validated, and stored. Whoever verifies the numbers tells the
    library how a reuse or an adaptation went (`SolutionLibrary.learn`)."""
    library = library or current_library()
    features = features_of(None, instructions=request)
    match = library.lookup(features, request)
    if match.kind is MatchKind.reuse and match.solution is not None and match.solution.statistics is not None:
        return ProposedSpec(NumericSpec.model_validate(match.solution.statistics), match)
    if match.kind is MatchKind.adapt:
        adapted = await library.adapt(pool, match, request, "statistics", NumericSpec, tier=Tier.quality)
        if adapted is not None:
            library.store(features, request, statistics=adapted.model_dump(mode="json"))
            return ProposedSpec(adapted, match)
        match = match.model_copy(update={"kind": MatchKind.novel, "reason": f"{match.reason}; the adapted spec did not validate"})
    example = match.solution.statistics if match.kind is MatchKind.start_from_pattern and match.solution else None
    spec = await _written_numeric_spec(pool, request, tier=tier, backend=backend, example=example)
    library.store(features, request, statistics=spec.model_dump(mode="json"))
    return ProposedSpec(spec, match)


@functools.cache
def numeric_spec_schema() -> dict[str, Any]:
    """`NumericSpec`'s JSON Schema, made once (pydantic builds it afresh on every call)."""
    return NumericSpec.model_json_schema()


async def _written_numeric_spec(
    pool: BackendPool, request: str, *, tier=None, backend: str | None = None, example: dict[str, Any] | None = None
) -> NumericSpec:
    """Ask a model to write the `NumericSpec` as structured JSON, validated; never as code; shown
    a related request's spec as an `example` where the library has one. The call is booked as a
    proposal, under the caller's booked run."""
    messages = [
        ChatMessage(role="system", content=SYSTEM),
        ChatMessage(
            role="user",
            content=(
                "Turn this request for numeric test data into a JSON document valid for the schema below. "
                f"Request: {request}\nSchema: {json.dumps(numeric_spec_schema())}"
                + (f"\nA related request was answered with: {json.dumps(example)}" if example else "")
            ),
        ),
    ]
    asked = ModelRequest(
        messages=messages, json_schema=numeric_spec_schema(), temperature=0.0, purpose=Purpose.proposal, stage="numeric_spec"
    )
    call = await pool.complete(asked, backend=backend, tier=tier)
    try:
        return NumericSpec.model_validate(parse_json(call.text, RepairCounts()))
    except (Unparseable, ValueError) as exc:
        from apprentice.errors import ShapeError

        raise ShapeError(f"the model's statistics spec is not usable: {str(exc).splitlines()[0]}") from None
