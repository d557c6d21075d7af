"""Realism of one record, after its schema: deterministic checks (echoed hints, placeholders,
debris, implausible dates, duplicates within the batch), then one targeted correction of the
model-written fields that the defects name. A record that still has a defect is not valid: the
dataset loop regenerates it, and in the end rejects it with the defects as its reason.
"""

from __future__ import annotations

import re
from typing import Any

from apprentice.backends.pool import BackendPool
from apprentice.generation import BACKEND_FAILURES, produce_valid
from apprentice.patterns.given import about_subject, person_lead, without_fields
from apprentice.realism import Defect, DefectKind, check_record, looks_like_code
from apprentice.records import FailureKind, RecordContext, RecordOutcome, failure_of
from apprentice.rules import check_rules
from apprentice.shapes.prompts import correction_messages
from apprentice.shapes.schema import Shape
from apprentice.shapes.validate import ValidationIssue, validate
from apprentice.workflows import StageRole, StageSpec, WorkflowSpec

REALISM_STAGE = StageSpec(name="realism", role=StageRole.correct, corrections=0)


def defects_of(record: Any, shape: Shape, given: dict[str, Any], context: RecordContext, index: int) -> list[Defect]:
    """The record's defects in fields the model wrote (given values were checked when planned).
    The record is valid for its schema here, so a broken constraint is one its own text states
    (an age or a pronoun the other fields contradict)."""
    found = check_record(record, shape.json_schema)
    found += copied_values(record, given, shape.json_schema) + field_names_as_values(record, shape.json_schema)
    found = [d for d in found if _top(d.path) not in given]
    if not found and context.realism is not None:
        found = [d for d in context.realism.add(index, record, record_defects=[]) if _top(d.path) not in given]
    return found


def copied_values(record: Any, given: dict[str, Any], schema: Any = None) -> list[Defect]:
    """A text field (one with a hint) that only repeats a given value (a bio that is the person's
    name): small models told the given values tend to copy the first of them into the text. A
    plain field may rightly equal a given one (`home_country` and `country`)."""
    if not isinstance(record, dict):
        return []
    hinted = {
        k
        for k, sub in (schema.get("properties", {}) if isinstance(schema, dict) else {}).items()
        if isinstance(sub, dict) and sub.get("description")
    }
    known = {str(v).strip().casefold(): k for k, v in given.items() if isinstance(v, str) and v.strip()}
    codes = {str(v).strip().casefold(): k for k, v in given.items() if isinstance(v, str) and looks_like_code(v.strip())}
    found = []
    for name, value in record.items():
        if name in given or (schema is not None and name not in hinted) or not isinstance(value, str):
            continue
        text = value.strip().casefold()
        if text in known:
            message = f"only repeats the value of /{known[text]}; write this field's own content"
        elif copied := next((code for code in codes if re.search(rf"(?<!\w){re.escape(code)}(?!\w)", text)), None):
            message = f"pastes the identifier of /{codes[copied]} ({copied!r}) into the text"
        else:
            continue
        found.append(Defect(kind=DefectKind.ECHO, path=f"/{name}", message=message))
    return found


async def realistic(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    outcome: RecordOutcome,
    *,
    context: RecordContext,
    seed: int | None,
    last_chance: bool,
) -> RecordOutcome:
    """A fresh attempt's outcome, made realistic when it is valid (`make_realistic`); one invalid
    for its content still counts in the run's repair odds, as an attempt that gave nothing."""
    if not spec.realism_checks:
        return outcome
    if outcome.valid:
        return await make_realistic(pool, spec, shape, outcome, context=context, seed=seed, last_chance=last_chance)
    if failure_of(outcome) is FailureKind.content:
        context.repairs.fresh(clean=False, tokens=outcome.tokens)
    return outcome


async def make_realistic(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    outcome: RecordOutcome,
    *,
    context: RecordContext,
    seed: int | None,
    last_chance: bool = True,
) -> RecordOutcome:
    """Check a valid record's realism; correct the fields its defects name once, unless the run
    has found that a fresh attempt mends records for fewer tokens (`RepairOdds`) and this is not
    the `last_chance`; re-check."""
    given = context.given(outcome.index)
    defects = defects_of(outcome.record, shape, given, context, outcome.index)
    context.repairs.fresh(clean=not defects, tokens=outcome.tokens)
    if not defects:
        return outcome
    context.unique.release(outcome.record, spec.rules)  # claimed by the schema check; re-claimed if it passes
    if not last_chance and not context.repairs.should_correct():
        return _refused(outcome, defects, outage=False)
    return await _correct(pool, spec, shape, outcome, defects, given=given, context=context, seed=seed)


async def _correct(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    outcome: RecordOutcome,
    defects: list[Defect],
    *,
    given: dict[str, Any],
    context: RecordContext,
    seed: int | None,
) -> RecordOutcome:
    """One correction prompt for the model-written fields the defects name; the record is kept
    if the corrected one is valid, keeps its rules and has no defect left."""
    lead = None if context.about(outcome.index) else person_lead(given, seed or outcome.index, outcome.index)
    rest = about_subject(without_fields(shape.json_schema, given), given, lead)  # a correction is steered as the first draft was
    part = {k: v for k, v in outcome.record.items() if k not in given} if isinstance(outcome.record, dict) else outcome.record
    issues = [ValidationIssue(path=d.path, message=f"{d.kind.value}: {d.message}", keyword=d.kind.value) for d in defects]
    stage = next((s for s in reversed(spec.stages) if s.role in (StageRole.generate, StageRole.enrich)), REALISM_STAGE)
    fixed = await produce_valid(pool, stage.model_copy(update={"corrections": 0}), rest, correction_messages(part, rest, issues), seed=seed)
    outcome.stages.append(fixed.metrics)
    outcome.calls.extend(fixed.calls)
    record = {**fixed.value, **given} if fixed.valid and isinstance(fixed.value, dict) else None
    broken = record is None or validate(record, shape.json_schema) or check_rules(record, spec.rules, context.unique)
    remaining = defects if broken else defects_of(record, shape, given, context, outcome.index)
    context.repairs.corrected(clean=not remaining, tokens=fixed.metrics.input_tokens + fixed.metrics.output_tokens)
    if remaining:
        return _refused(outcome, remaining, outage=fixed.metrics.error_class in BACKEND_FAILURES)
    assert record is not None  # no record is `broken`, and a broken correction returned above
    context.unique.claim(record, spec.rules)
    order = list(outcome.record) if isinstance(outcome.record, dict) else []
    outcome.record = {k: record[k] for k in order if k in record} | {k: v for k, v in record.items() if k not in order}
    outcome.meta["realism_corrected"] = sorted({d.kind.value for d in defects})
    return outcome


def _refused(outcome: RecordOutcome, defects: list[Defect], *, outage: bool) -> RecordOutcome:
    outcome.valid, outcome.failure = False, FailureKind.backend if outage else FailureKind.content
    outcome.reason = "realism: " + "; ".join(f"{d.path} {d.kind.value}: {d.message}" for d in defects[:3])
    outcome.meta["realism_defects"] = sorted({d.kind.value for d in defects})
    return outcome


def field_names_as_values(record: Any, schema: Any) -> list[Defect]:
    """Strings that are only one of the shape's own field names (`country:` as an interest)."""
    names = {n.casefold() for n in (schema.get("properties", {}) if isinstance(schema, dict) else {})}
    found = []
    for name, value in record.items() if isinstance(record, dict) else []:
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, str) and item.strip().rstrip(":,").strip().casefold() in names - {name.casefold()}:
                path = f"/{name}/{i}" if isinstance(value, list) else f"/{name}"
                found.append(Defect(kind=DefectKind.PLACEHOLDER, path=path, message=f"is the name of another field ({item!r})"))
    return found


def _top(path: str) -> str:
    return path.split("/")[1] if path.count("/") >= 1 else ""
