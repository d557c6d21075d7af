"""Filling a record from its plan: each filled field drawn in order, redrawn until it validates.

`sample_record` draws record `index`'s sampled and derived fields, sources before the fields
derived from them, each checked against its subschema and redrawn deterministically a few times;
a value that still breaks it is left out, so the model fills that field. The planner uses the
same fill (`_fill`) for its trial records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apprentice.fieldplan.context import _Ctx
from apprentice.fieldplan.derive import _MISSING, DERIVERS
from apprentice.fieldplan.plan import FieldPlan, FieldSource, RecordPlan
from apprentice.fieldplan.samplers import SAMPLERS
from apprentice.fieldplan.subschema import _constraint, _fit, _properties
from apprentice.shapes.validate import field_issues

_NO_SOURCE = "a source field has no value"


def _draw_one(ctx: _Ctx, fp: FieldPlan, sub: dict[str, Any], values: Mapping[str, Any]) -> Any:
    """One value of a filled field, or _MISSING when a source has none (or is unusable)."""
    if fp.source is FieldSource.SAMPLED:
        return _fit(SAMPLERS[fp.sampler or ""](ctx, sub, fp), sub)
    sources = [values.get(s, _MISSING) for s in fp.derived_from]
    if any(v is _MISSING for v in sources):
        return _MISSING
    try:
        value = DERIVERS[fp.sampler or ""](ctx, sub, fp, sources)
    except (ValueError, TypeError, OverflowError):
        return _MISSING
    return value if value is _MISSING else _fit(value, sub)


def _draw_valid(ctx: _Ctx, fp: FieldPlan, schema: Any, sub: dict[str, Any], values: Mapping[str, Any], attempts: int) -> tuple[Any, str]:
    """A value that validates, redrawn (deterministically) up to `attempts` times; else
    (_MISSING, the broken constraint)."""
    problem = _NO_SOURCE
    try:
        for attempt in range(attempts):
            ctx.attempt = attempt
            value = _draw_one(ctx, fp, sub, values)
            if value is _MISSING:
                return _MISSING, _NO_SOURCE
            issues = field_issues(schema, fp.name, value)
            if not issues:
                return value, ""
            problem = _constraint(issues[0], sub)
    finally:
        ctx.attempt = 0
    return _MISSING, problem


def _fill(
    plan: RecordPlan, schema: Any, props: dict[str, dict[str, Any]], seed: int, index: int, attempts: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """Values of the filled fields of one record, and why the missing ones are missing."""
    ctx = _Ctx(seed, index, plan.locale, plan.anchor)
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for fp in plan.fill_order():
        if fp.name not in props:
            continue
        value, problem = _draw_valid(ctx, fp, schema, props[fp.name], values, attempts)
        if value is _MISSING:
            problems[fp.name] = problem
        else:
            values[fp.name] = value
    return values, problems


def sample_record(plan: RecordPlan, schema: dict[str, Any], *, seed: int, index: int) -> dict[str, Any]:
    """Values of every sampled and derived field of record `index`, deterministic in (seed,
    index). Each value validates against its field's subschema; a value that still breaks it
    after a few redraws is left out, so the model fills that field."""
    props = _properties(schema)
    values, _ = _fill(plan, schema, props, seed, index, attempts=4)
    return {name: values[name] for name in props if name in values}
