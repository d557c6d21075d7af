"""Derived fields: values that follow from other fields of the record, and when a field is one.

An email or a username built from the name, a full name joined from its parts, a birth date that
agrees with the age, `updated_at` after `created_at`, an event's end hours after its start
(`DERIVERS`); and the planning side: which filled fields a field follows from (`_auto_sources`),
completing a `source: derived` override, and sampling the sources a derived field needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from apprentice.fieldplan.choice import _candidates, _choose
from apprentice.fieldplan.context import _Ctx
from apprentice.fieldplan.dates import _moment_between, _parse_moment, _render
from apprentice.fieldplan.plan import FieldPlan, FieldPlanError, FieldSource, RecordPlan
from apprentice.fieldplan.samplers import _birth, _email, _username, _window
from apprentice.fieldplan.vocabulary import AFTER, OVERNIGHT, SHORT_SPANS, _date_stem
from apprentice.shapes.fields import snake_case

# The sampler a field would have → the derivation that replaces it when its sources exist.
DERIVATION_FOR: dict[str, str] = {
    "email": "email_from_name",
    "username": "username_from_name",
    "full_name": "join_names",
    "birth_date": "birth_date_from_age",
    "date": "after",
    "date_time": "after",
}


Deriver = Callable[[_Ctx, dict[str, Any], FieldPlan, list[Any]], Any]


def _name_parts(values: list[Any]) -> tuple[str, str]:
    """(first, last) from [first, last] or from one full name."""
    if len(values) >= 2:
        return str(values[0]), str(values[-1])
    tokens = str(values[0]).split() if values else []
    return (tokens[0], tokens[-1]) if len(tokens) > 1 else (tokens[0] if tokens else "", "")


def _d_after(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan, values: list[Any]) -> Any:
    """A moment after the source: within a month for ends (`end_date`), else up to the end of
    the window (`updated_at`); a stay or a trip (`check_out`, `return`) one to thirty nights later."""
    start = _parse_moment(values[0])
    if start is None:
        return _MISSING
    _, window_end = _window(ctx, fp)
    stem = _date_stem(snake_case(fp.name))
    default = "date-time" if isinstance(values[0], str) and "T" in values[0] else "date"
    end = start + timedelta(days=30) if stem in SHORT_SPANS else max(window_end, start)
    start += timedelta(days=1) if stem in OVERNIGHT else timedelta()
    return _render(_moment_between(ctx.rng(fp.name), start, end), sub, default)


def _d_event_end(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan, values: list[Any]) -> Any:
    """When an event that started at the source ends (`_end_of`)."""
    start = _parse_moment(values[0])
    if start is None:
        return _MISSING
    timed = isinstance(values[0], str) and "T" in values[0] or sub.get("format") == "date-time"
    return _render(_end_of(ctx.rng(fp.name), start, timed=timed), sub, "date-time" if timed else "date")


def _end_of(rng: np.random.Generator, start: datetime, *, timed: bool) -> datetime:
    """When something that started at `start` ends: one to eight hours later, or for one in six a
    day to three later (a conference); by date, the same day to three days later."""
    if not timed:
        return start + timedelta(days=int(rng.choice([0, 0, 0, 1, 1, 2, 3])))
    days = int(rng.integers(1, 4)) if rng.random() < 1 / 6 else 0
    return start + timedelta(days=days, minutes=30 * int(rng.integers(2, 17)))


DERIVERS: dict[str, Deriver] = {
    "join_names": lambda ctx, sub, fp, v: " ".join(str(x).strip() for x in v if str(x).strip()),
    "email_from_name": lambda ctx, sub, fp, v: _email(ctx, fp.name, *_name_parts(v)),
    "username_from_name": lambda ctx, sub, fp, v: _username(ctx, fp.name, *_name_parts(v)),
    "birth_date_from_age": lambda ctx, sub, fp, v: _render(_birth(ctx, fp.name, int(v[0])), sub, "date"),
    "after": _d_after,
    "event_end": _d_event_end,
}


_MISSING: Any = object()


_KIND_OF_DERIVER = {
    "join_names": "full_name",
    "email_from_name": "email",
    "username_from_name": "username",
    "birth_date_from_age": "birth_date",
    "after": "date_time",
}


def _kind(fp: FieldPlan) -> str | None:
    """What a filled field holds, as a sampler name (a derived full name is a `full_name`)."""
    if fp.source is FieldSource.SAMPLED:
        return fp.sampler
    return _KIND_OF_DERIVER.get(fp.sampler or "") if fp.source is FieldSource.DERIVED else None


def _auto_sources(name: str, kind: str, plans: Mapping[str, FieldPlan]) -> list[str]:
    """The filled fields a field of this kind follows from, or [] when there are none."""
    by_kind: dict[str | None, list[str]] = {}
    for other in plans.values():
        if other.name != name and other.source is not FieldSource.MODEL:
            by_kind.setdefault(_kind(other), []).append(other.name)
    first, last = by_kind.get("first_name", [None])[0], by_kind.get("last_name", [None])[0]
    parts = [first, last] if first and last else []
    if kind in ("email", "username"):
        return by_kind["full_name"][:1] if "full_name" in by_kind else parts
    if kind == "full_name":
        return parts
    if kind == "birth_date":
        return by_kind.get("age", [])[:1]
    if kind in ("date", "date_time"):
        dates = by_kind.get("date", []) + by_kind.get("date_time", [])
        for earlier in AFTER.get(_date_stem(snake_case(name)), ()):
            match = [d for d in dates if _date_stem(snake_case(d)) == earlier]
            if match:
                return match[:1]
    return []


_DERIVED_WHY = {
    "join_names": "joined from",
    "email_from_name": "email built from",
    "username_from_name": "handle built from",
    "birth_date_from_age": "agrees with",
    "after": "comes after",
}


def _derived_reason(deriver: str, sources: list[str]) -> str:
    """'email built from name', 'comes after created_at', 'joined from first_name + last_name'."""
    return f"{_DERIVED_WHY.get(deriver, deriver + ' from')} {' + '.join(sources)}"


def _derived_override(fp: FieldPlan, sub: dict[str, Any], plans: Mapping[str, FieldPlan], person: bool) -> FieldPlan:
    """Complete a `source: derived` override: its derivation and its sources."""
    kinds = [s for s, _ in _candidates(fp.name, sub, person) if s in DERIVATION_FOR]
    deriver = fp.sampler if fp.sampler in DERIVERS else DERIVATION_FOR.get(fp.sampler or (kinds[0] if kinds else ""))
    if deriver is None:
        raise FieldPlanError(f"field {fp.name!r}: no derivation for it (name one of {', '.join(sorted(DERIVERS))} as `sampler:`)")
    sources = fp.derived_from or _auto_sources(fp.name, _KIND_OF_DERIVER[deriver], plans)
    if not sources:
        raise FieldPlanError(f"field {fp.name!r}: say which fields it is derived from (`from:`)")
    unknown = [s for s in sources if s not in plans or s == fp.name]
    if unknown:
        raise FieldPlanError(f"field {fp.name!r} is derived from {', '.join(map(repr, unknown))}, which is not another field of the record")
    return fp.model_copy(update={"sampler": deriver, "derived_from": sources, "reason": f"override: {_derived_reason(deriver, sources)}"})


def _promote(name: str, target: str, sub: dict[str, Any], schema: Any, person: bool, plan: RecordPlan) -> FieldPlan:
    """A model field that derived field `target` needs as its source, sampled if any sampler
    can fill it (else still the model's, with the reason)."""
    options = [(s, f"source of {target!r}; {why}") for s, why in _candidates(name, sub, person)]
    return _choose(FieldPlan(name=name, source=FieldSource.MODEL, reason="no sampler fits it"), options, schema, sub, plan)


def _source_model(
    out: dict[str, FieldPlan], props: dict[str, dict[str, Any]], schema: Any, base: Mapping[str, FieldPlan], person: bool, plan: RecordPlan
) -> bool:
    """Fill one model-written source of a derived field; a derived field whose source cannot be
    filled goes back to its own sampler (or, if overridden, to the model). True when something
    changed (call again until False)."""
    for name, fp in out.items():
        for source in fp.derived_from if fp.source is FieldSource.DERIVED else []:
            if out[source].source is not FieldSource.MODEL:
                continue
            if out[source].reason == "override":
                raise FieldPlanError(f"field {name!r} is derived from {source!r}, which an override leaves to the model")
            promoted = _promote(source, name, props[source], schema, person, plan) if source in base else out[source]
            if promoted.source is FieldSource.MODEL:
                why = f"derived from {source!r}, which no sampler can fill ({promoted.reason})"
                fallback = fp.model_copy(update={"source": FieldSource.MODEL, "sampler": None, "derived_from": [], "reason": why})
                out[name] = base.get(name, fallback)
            else:
                out[source] = promoted
            return True
    return False


def _derive(
    plans: dict[str, FieldPlan],
    props: dict[str, dict[str, Any]],
    schema: Any,
    base: Mapping[str, FieldPlan],
    person: bool,
    plan: RecordPlan,
) -> dict[str, FieldPlan]:
    """Complete derived overrides, derive what follows from other filled fields (an email from
    the name, `updated_at` after `created_at`), and sample the sources derived fields need."""
    out = dict(plans)
    for name, fp in plans.items():
        if fp.source is FieldSource.DERIVED:
            out[name] = _derived_override(fp, props[name], out, person)
        elif name in base and fp.source is FieldSource.SAMPLED and fp.sampler in DERIVATION_FOR:
            sources = _auto_sources(name, fp.sampler, out)
            if sources:
                deriver = DERIVATION_FOR[fp.sampler]
                out[name] = fp.model_copy(
                    update={
                        "source": FieldSource.DERIVED,
                        "sampler": deriver,
                        "derived_from": sources,
                        "reason": _derived_reason(deriver, sources),
                    }
                )
    while _source_model(out, props, schema, base, person, plan):
        pass
    return out
