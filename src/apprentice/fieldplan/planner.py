"""The planner: `plan_fields` decides, for each top-level field, who fills it and why.

It applies the spec's overrides, lets each remaining field choose its sampler (`choice`), turns
fields that follow from others into derivations (`derive`), gives product and event records their
fields (`subjects`), then trial-draws whole records and demotes any derivation that breaks its
field's schema. The steps live in the modules named after them; this one puts them in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from apprentice.fieldplan.choice import _TRIALS, _candidates, _choose, _model_reason
from apprentice.fieldplan.dates import _aware
from apprentice.fieldplan.derive import _derive
from apprentice.fieldplan.fill import _NO_SOURCE, _fill
from apprentice.fieldplan.plan import FieldOverride, FieldPlan, FieldPlanError, FieldSource, RecordPlan
from apprentice.fieldplan.samplers import SAMPLERS
from apprentice.fieldplan.subjects import _PLACE_SAMPLERS, _about_places, _event_fields, _product_fields, is_about_a_person
from apprentice.fieldplan.subschema import _properties


def _auto(name: str, sub: dict[str, Any], schema: Any, person: bool, places: bool, plan: RecordPlan) -> FieldPlan:
    """The planner's own choice for a field nobody overrode."""
    fp = FieldPlan(name=name, source=FieldSource.MODEL, reason=_model_reason(name, sub, person))
    options = _candidates(name, sub, person)
    if places and options and options[0][0] in _PLACE_SAMPLERS:
        return fp.model_copy(update={"reason": "the record describes places, more than the city table holds: left to the model"})
    return _choose(fp, options, schema, sub, plan)


def _overridden(name: str, sub: dict[str, Any], ov: FieldOverride, schema: Any, person: bool, plan: RecordPlan) -> FieldPlan:
    """A field as its override says; a derived one gets its derivation in `_derive`."""
    fp = FieldPlan(name=name, source=ov.source, reason="override", after=_aware(ov.after), before=_aware(ov.before))
    if ov.source is FieldSource.MODEL:
        return fp
    if ov.source is FieldSource.DERIVED:
        return fp.model_copy(update={"sampler": ov.sampler, "derived_from": ov.sources})
    if ov.sampler is not None and ov.sampler not in SAMPLERS:
        raise FieldPlanError(f"field {name!r}: unknown sampler {ov.sampler!r} (known: {', '.join(sorted(SAMPLERS))})")
    options = [(ov.sampler, "override")] if ov.sampler else [(s, f"override; {why}") for s, why in _candidates(name, sub, person)]
    if not options:
        raise FieldPlanError(f"field {name!r}: no sampler fits it; name one with `sampler:`")
    return _choose(fp, options, schema, sub, plan)


def _check_derived(plan: RecordPlan, schema: Any, props: dict[str, dict[str, Any]], base: Mapping[str, FieldPlan]) -> RecordPlan:
    """Trial-draw whole records; a derivation that breaks its field's schema goes back to the
    field's own sampler (or, for an override, to the model) with the reason."""
    for _ in range(len(plan.fields) + 1):
        broken: dict[str, str] = {}
        for seed, index in _TRIALS:
            for name, problem in _fill(plan, schema, props, seed, index, attempts=1)[1].items():
                fp = plan.field(name)
                if fp is not None and fp.source is FieldSource.DERIVED and problem != _NO_SOURCE:
                    broken.setdefault(name, problem)
        if not broken:
            return plan
        fields = [_demote(fp, broken[fp.name], base) if fp.name in broken else fp for fp in plan.fields]
        plan = plan.model_copy(update={"fields": fields})
    return plan


def _demote(fp: FieldPlan, problem: str, base: Mapping[str, FieldPlan]) -> FieldPlan:
    if fp.name in base:
        return base[fp.name]
    return fp.model_copy(
        update={
            "source": FieldSource.MODEL,
            "sampler": None,
            "derived_from": [],
            "reason": f"derivation {fp.sampler} cannot meet {problem}",
        }
    )


def _parse_overrides(
    overrides: Mapping[str, FieldOverride | Mapping[str, Any]] | None, props: Mapping[str, Any]
) -> dict[str, FieldOverride]:
    out: dict[str, FieldOverride] = {}
    for name, override in (overrides or {}).items():
        if name not in props:
            raise FieldPlanError(f"override for {name!r}, which is not a top-level field (fields: {', '.join(props) or 'none'})")
        try:
            out[name] = override if isinstance(override, FieldOverride) else FieldOverride.model_validate(override)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(override)"
            raise FieldPlanError(f"override for {name!r} is not valid: {where}: {first['msg']}") from None
    return out


def plan_fields(
    schema: dict[str, Any] | bool,
    overrides: Mapping[str, FieldOverride | Mapping[str, Any]] | None = None,
    *,
    locale: str = "en_US",
    anchor: date | None = None,
) -> RecordPlan:
    """Decide, for each top-level property of an object schema, whether a sampler, a derivation
    or the model fills it (overrides win), checking each sampler with trial draws against the
    field's subschema. Any other schema gets an empty plan: the model writes it all.

    Raises `FieldPlanError` for an override that cannot be carried out as written."""
    props = _properties(schema)
    plan = RecordPlan(locale=locale, anchor=anchor or datetime.now(UTC).date())
    parsed = _parse_overrides(overrides, props)
    person = is_about_a_person(props)
    places = _about_places(props)
    base = {n: _auto(n, sub, schema, person, places, plan) for n, sub in props.items() if n not in parsed}
    plans = {n: base[n] if n in base else _overridden(n, props[n], parsed[n], schema, person, plan) for n in props}
    plans = _derive(plans, props, schema, base, person, plan)
    plans |= _event_fields(plans, props, schema, plan) | _product_fields(plans, props, schema, plan)
    plan = plan.model_copy(update={"fields": list(plans.values())})
    plan.fill_order()  # raises on a cycle of derived overrides
    return _check_derived(plan, schema, props, base)
