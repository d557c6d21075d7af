"""What a record is about — places, a product, an event — and the fields that make it read so.

A record of cities and their numbers needs more cities than the table holds, so the model names
them (`_about_places`). A record with a price, stock or an SKU is a product: its name and
category are a product's. A record with a start, an end and a title or place is an event
(`event_span`): its title is an event's, it starts on the quarter hour and ends hours later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from apprentice.fieldplan.choice import _choose, _name_samplers
from apprentice.fieldplan.plan import FieldPlan, FieldSource, RecordPlan
from apprentice.fieldplan.vocabulary import (
    EVENT_ENDS,
    EVENT_PLACES,
    EVENT_STARTS,
    EVENT_TITLES,
    PERSON_CUES,
    PRODUCT_CATEGORIES,
    PRODUCT_CUES,
    PRODUCT_NAMES,
    _date_stem,
)
from apprentice.shapes.fields import snake_case
from apprentice.shapes.validate import declared_types

_PLACE_SAMPLERS = frozenset({"city", "country", "country_code", "latitude", "longitude", "postcode"})


def _about_places(props: Mapping[str, dict[str, Any]]) -> bool:
    """True for a record that describes places (a city, its country and numbers about it): it
    needs many distinct cities, more than the sampler's table, so the model names them."""
    kinds = {n: set(_name_samplers(snake_case(n), False)) for n in props}
    if not any("city" in k for k in kinds.values()):
        return False
    return all(k & _PLACE_SAMPLERS or declared_types(props[n]) & {"integer", "number"} for n, k in kinds.items())


def event_span(field_names: Iterable[str]) -> tuple[str, str] | None:
    """(start field, end field) of a record about an event — a start, an end, and a title or a
    place, and no person — else None (a subscription's `starts_at`/`ends_at` is not an event)."""
    names = list(field_names)
    stems = {n: _date_stem(snake_case(n)) for n in names}
    start = next((n for n, stem in stems.items() if stem in EVENT_STARTS), None)
    end = next((n for n, stem in stems.items() if stem in EVENT_ENDS), None)
    snakes = {snake_case(n) for n in names}
    if start is None or end is None or not snakes & (EVENT_TITLES | EVENT_PLACES) or snakes & PERSON_CUES:
        return None
    return start, end


def is_about_a_person(field_names: Iterable[str]) -> bool:
    """A record about a person: an email, an age, a job, a bio... (`PERSON_CUES`)."""
    return any(snake_case(n) in PERSON_CUES for n in field_names)


def is_product(field_names: Iterable[str]) -> bool:
    """A record about a product: a price, a stock count or an SKU, and no person."""
    snakes = {snake_case(n) for n in field_names}
    return bool(snakes & PRODUCT_CUES) and not snakes & PERSON_CUES


def _product_fields(
    plans: Mapping[str, FieldPlan], props: Mapping[str, dict[str, Any]], schema: Any, plan: RecordPlan
) -> dict[str, FieldPlan]:
    """In a record about a product (a price, a stock count or an SKU; no person), the model-written
    `name` becomes a sampled product name ("Kestrel Insulated Water Bottle") and `category` its
    department, so the model's description is about a real-sounding thing."""
    if not is_product(props):
        return {}
    snakes = {n: snake_case(n) for n in props}
    out: dict[str, FieldPlan] = {}
    for name, fp in plans.items():
        if fp.reason == "override" or fp.source is not FieldSource.MODEL and fp.sampler != "price":
            continue
        if snakes[name] in PRODUCT_NAMES:
            out[name] = _choose(fp, [("product_name", "the name of a product (it has a price, stock or SKU)")], schema, props[name], plan)
        elif fp.sampler == "price":
            options = [("product_price", "a price in the record's product's usual range"), ("price", fp.reason)]
            out[name] = _choose(fp, options, schema, props[name], plan)
        elif snakes[name] in PRODUCT_CATEGORIES:
            out[name] = _choose(fp, [("product_category", "the department of the record's product")], schema, props[name], plan)
    return out


def _event_fields(
    plans: Mapping[str, FieldPlan], props: Mapping[str, dict[str, Any]], schema: Any, plan: RecordPlan
) -> dict[str, FieldPlan]:
    """In a record about an event (a start, an end, and a title or a place; no person), what
    makes it read as one: the model-written `title`/`name` becomes a sampled event title, a
    sampled start falls on the quarter hour in the day, and the end follows hours later."""
    if event_span(props) is None:
        return {}
    stems = {n: _date_stem(snake_case(n)) for n in props}
    starts = [n for n, stem in stems.items() if stem in EVENT_STARTS]
    out: dict[str, FieldPlan] = {}
    for name, fp in plans.items():
        if snake_case(name) in EVENT_TITLES and fp.source is FieldSource.MODEL and fp.reason != "override":
            out[name] = _choose(fp, [("event_title", "the title of an event (it has a start and an end)")], schema, props[name], plan)
        elif name in starts and fp.source is FieldSource.SAMPLED and fp.sampler == "date_time":
            out[name] = _choose(fp, [("event_start", "an event's start: on the quarter hour, in the day")], schema, props[name], plan)
        elif stems[name] in EVENT_ENDS and fp.sampler == "after" and fp.derived_from and fp.derived_from[0] in starts:
            out[name] = fp.model_copy(update={"sampler": "event_end", "reason": f"an event's end: hours after {fp.derived_from[0]}"})
    return out
