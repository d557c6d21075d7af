"""Choosing a sampler for one field, and checking the choice before trusting it.

The candidates come from the field's name, format and type, best first (`_candidates`); each is
trial-drawn a few times against the field's subschema (`_trial`) and the first whose draws all
validate wins (`_choose`). A field no sampler fits stays with the model, with the reason said so a
person reading the plan table understands it (`_model_reason`, or the broken constraint).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from apprentice.fieldplan.context import _Ctx
from apprentice.fieldplan.plan import FieldPlan, FieldSource, RecordPlan
from apprentice.fieldplan.samplers import SAMPLERS
from apprentice.fieldplan.subschema import _bounds, _constraint, _fit
from apprentice.fieldplan.vocabulary import FORMAT_SAMPLERS, HOBBY_FIELDS, MEASURE_UNITS, NAME_SAMPLERS, SUFFIX_SAMPLERS
from apprentice.shapes.fields import snake_case
from apprentice.shapes.validate import declared_types, field_issues

_TRIALS = ((0, 0), (0, 1), (1, 2), (7, 41), (3, 99), (11, 100), (5, 5077), (2, 123_456))


_PERSON_ROLES = (
    "person|user|customer|client|employee|athlete|player|author|student|patient|contact|driver|"
    "passenger|guest|attendee|applicant|candidate|teacher|doctor|manager|speaker"
)
_NAMES_A_PERSON = re.compile(
    rf"^(the\s+)?(full\s+)?name\s+of\s+(the\s+|an?\s+)?({_PERSON_ROLES})\.?$|^(the\s+)?({_PERSON_ROLES})'s\s+(full\s+)?name\.?$",
    re.IGNORECASE,
)
"""A name field's hint that says whose name it is ("The name of the customer", "Athlete's name"):
told to write it, SmolLM2 wrote the hint back."""


def names_a_person(sub: dict[str, Any]) -> bool:
    hint = sub.get("description")
    return isinstance(hint, str) and bool(_NAMES_A_PERSON.match(hint.strip()))


def _name_samplers(snake: str, person: bool) -> tuple[str, ...]:
    if snake == "name":
        return ("full_name",) if person else ()
    if snake in NAME_SAMPLERS:
        return NAME_SAMPLERS[snake]
    return next((samplers for suffix, samplers in SUFFIX_SAMPLERS if snake.endswith(suffix)), ())


def _candidates(name: str, sub: dict[str, Any], person: bool) -> list[tuple[str, str]]:
    """Samplers that could fill the field, best first, each with the reason it was chosen."""
    if "const" in sub:
        return [("const", "const value")]
    if "enum" in sub:
        return [("enum", f"enum of {len(sub['enum'])} values")]
    types, fmt = declared_types(sub), sub.get("format")
    if types == {"array"} and snake_case(name) in HOBBY_FIELDS and person and declared_types(sub.get("items") or {}) == {"string"}:
        return [("hobbies", f"field name {name!r}: a list of a person's hobbies")]
    if types and types <= {"object", "array", "null"}:
        return []
    suffix = f" + format {fmt}" if isinstance(fmt, str) else ""
    out = [(s, f"field name {name!r}{suffix}") for s in _name_samplers(snake_case(name), person or names_a_person(sub))]
    if types and not types & {"integer", "number"} and snake_case(name) in MEASURE_UNITS:
        out = [(s, why) for s, why in out if s != "count"]
    if isinstance(fmt, str) and fmt in FORMAT_SAMPLERS:
        out.append((FORMAT_SAMPLERS[fmt], f"format {fmt}"))
    if types == {"boolean"}:
        out.append(("boolean", "boolean"))
    numeric = "integer" if "integer" in types else "number" if "number" in types else None
    low, high, _, _ = _bounds(sub)
    if numeric and low is not None and high is not None:
        out.append((numeric, f"bounded {numeric} {low}..{high}"))
    unique: dict[str, str] = {}
    for sampler, why in out:
        unique.setdefault(sampler, why)
    return list(unique.items())


def _model_reason(name: str, sub: dict[str, Any], person: bool) -> str:
    """Why no sampler was tried: said so a person reading the plan table understands it."""
    types = declared_types(sub)
    if types and types <= {"object", "array", "null"}:
        return f"nested {'/'.join(sorted(types - {'null'}))}: left to the model"
    if snake_case(name) == "name" and not (person or names_a_person(sub)):
        return "'name' without person fields (a product, a place?): left to the model"
    if "pattern" in sub:
        return f"pattern {sub['pattern']}: no sampler, left to the model"
    if types & {"integer", "number"}:
        return "unbounded number: left to the model"
    if sub.get("description"):
        return "free text with a hint: left to the model"
    return "free text: left to the model"


def _trial(fp: FieldPlan, schema: Any, sub: dict[str, Any], locale: str, anchor: date) -> str | None:
    """Draw the sampler a few times; the first broken constraint, or None when all validate."""
    for seed, index in _TRIALS:
        try:
            value = _fit(SAMPLERS[fp.sampler or ""](_Ctx(seed, index, locale, anchor), sub, fp), sub)
        except (KeyError, ValueError, TypeError) as exc:
            return f"the field ({exc if isinstance(exc, ValueError) else 'no ' + str(exc) if isinstance(exc, KeyError) else exc})"
        issues = field_issues(schema, fp.name, value)
        if issues:
            return _constraint(issues[0], sub)
    return None


def _choose(fp: FieldPlan, options: list[tuple[str, str]], schema: Any, sub: dict[str, Any], plan: RecordPlan) -> FieldPlan:
    """The first option whose trial draws validate, as a sampled plan; else the model, with the
    first option's broken constraint as the reason."""
    failure = None
    for sampler, why in options:
        trial = fp.model_copy(update={"source": FieldSource.SAMPLED, "sampler": sampler, "reason": why})
        problem = _trial(trial, schema, sub, plan.locale, plan.anchor)
        if problem is None:
            return trial
        failure = failure or f"{'override ' if fp.reason == 'override' else ''}sampler {sampler} cannot meet {problem}"
    return fp.model_copy(update={"source": FieldSource.MODEL, "sampler": None, "reason": failure or fp.reason})
