"""The samplers: (record context, field subschema, field plan) → a value, by name in `SAMPLERS`.

One function per kind of field (names, emails, phones, addresses, places, identifiers, dates,
enums, bounded numbers, counts, prices, products, events, hobbies). Each draws only from the
record's seeded streams (`context`) and its tables (`vocabulary`), so it is deterministic in
(seed, index), and shares the record's person and place, so the fields of one record agree.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from apprentice.fieldplan.context import _Ctx, _pick_place
from apprentice.fieldplan.dates import _FLOOR, _moment_between, _render
from apprentice.fieldplan.plan import FieldPlan
from apprentice.fieldplan.subschema import _bounds, _int_bounds
from apprentice.fieldplan.vocabulary import (
    _BRANDS,
    _COLORS,
    _EVENT_KINDS,
    _EVENT_PREFIXES,
    _EVENT_TOPICS,
    _EXAMPLE_DOMAINS,
    _PRODUCT_TOUCHES,
    _PRODUCTS,
    _REGION_FIRST,
    _STREET_LOCALES,
    COUNT_RANGES,
    FIRST_JOB_AGE,
    PRICE_RANGE,
)
from apprentice.shapes.fields import snake_case


def _slug(text: str) -> str:
    """ASCII letters only, lower case: 'Möchlichen' → 'mochlichen', "O'Neil" → 'oneil'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", ascii_text.lower())


def _handle_parts(ctx: _Ctx, key: str, first: str, last: str) -> tuple[str, str]:
    f, l_ = _slug(first), _slug(last)
    if not f:
        f = _slug(ctx.faker(key, "en_US").first_name()) or "member"
    return f, l_


def _email(ctx: _Ctx, key: str, first: str, last: str) -> str:
    """`maria.garcia27@example.net`: a style drawn per record, and the record's tag, so two
    records never share an address even when they share a name."""
    rng = ctx.rng(key)
    f, l_ = _handle_parts(ctx, key, first, last)
    styles = [f"{f}.{l_}", f"{f}{l_}", f"{f}_{l_}", f"{f[0]}{l_}", f"{f}.{l_[:1]}"] if l_ else [f]
    weights = np.array([5, 2, 2, 2, 1][: len(styles)], dtype=float)
    local = styles[int(rng.choice(len(styles), p=weights / weights.sum()))]
    return f"{local}{ctx.tag}@{_EXAMPLE_DOMAINS[int(rng.integers(len(_EXAMPLE_DOMAINS)))]}"


def _username(ctx: _Ctx, key: str, first: str, last: str) -> str:
    """`mgarcia27`-style handles; the tag keeps them unique within a dataset."""
    rng = ctx.rng(key)
    f, l_ = _handle_parts(ctx, key, first, last)
    styles = [f"{f[0]}{l_}", f"{f}{l_}", f"{f}_{l_}", f"{l_}{f[0]}", f"{f}{l_[:1]}"] if l_ else [f]
    return f"{styles[int(rng.integers(len(styles)))]}{ctx.tag}"


Sampler = Callable[[_Ctx, dict[str, Any], FieldPlan], Any]


def _window(ctx: _Ctx, fp: FieldPlan) -> tuple[datetime, datetime]:
    """The field's date window: the override's, else the ten years before the plan's anchor."""
    end = fp.before or datetime.combine(ctx.anchor, time(), UTC)
    start = max(fp.after or end - timedelta(days=3652), _FLOOR)
    return start, end if end > start else start + timedelta(days=3652)


def _draw_age(rng: np.random.Generator, sub: Mapping[str, Any]) -> int:
    """An adult age, roughly normal around 40 within 18..90 (or the schema's own bounds)."""
    lo, hi = _int_bounds(sub)
    a, b = max(lo if lo is not None else 18, 18), min(hi if hi is not None else 90, 90)
    if a > b:
        a = lo if lo is not None else b - 30
        b = hi if hi is not None else a + 30
    for _ in range(20):
        age = round(float(rng.normal(40, 15)))
        if a <= age <= b:
            return age
    return int(rng.integers(a, b + 1))


def _person_age(ctx: _Ctx) -> int:
    """The age of the record's person as its `age` field draws it under the default bounds; the
    birth date, job, sign-up window and persona all agree with it."""
    return _draw_age(ctx.rng("age"), {})


def _job(ctx: _Ctx) -> str:
    """The record's job, fit for the age its person has (drawn as the `age` sampler and the
    persona draw it): under `FIRST_JOB_AGE` a course of study or a first job."""
    return ctx.first_job if _person_age(ctx) < FIRST_JOB_AGE else ctx.job


def _birth(ctx: _Ctx, key: str, age: int) -> datetime:
    """A birth date that makes the person `age` years old on the plan's anchor day."""
    anchor = ctx.anchor
    year = anchor.year - age
    latest = anchor.replace(year=year) if not (anchor.month == 2 and anchor.day == 29) else date(year, 2, 28)
    born = latest - timedelta(days=int(ctx.rng(key).integers(0, 365)))
    return datetime.combine(born, time(), UTC)


_ACCOUNT_DATE = re.compile(r"^(signed_?up|sign_?up|joined|registered|member_since|account_created)(_(at|on|date|time))?$")


def _adult_window(ctx: _Ctx, fp: FieldPlan) -> tuple[datetime, datetime]:
    """The field's window, and for the day a person signed up, joined or registered not before
    they were 18 (the age the `age` sampler draws): a nightly had a 23-year-old signed up at 13."""
    start, end = _window(ctx, fp)
    if fp.after is None and _ACCOUNT_DATE.match(snake_case(fp.name)):
        years_adult = _person_age(ctx) - 18
        adult_since = datetime.combine(ctx.anchor, time(), UTC) - timedelta(days=round(365.25 * years_adult))
        start = max(start, min(adult_since, end - timedelta(days=30)))
    return start, end


def _s_date(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> Any:
    return _render(_moment_between(ctx.rng(fp.name), *_adult_window(ctx, fp)), sub, "date")


def _s_date_time(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> Any:
    return _render(_moment_between(ctx.rng(fp.name), *_adult_window(ctx, fp)), sub, "date-time")


def _s_event_start(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> Any:
    """A day in the field's window, on the quarter hour between 08:00 and 20:00, as people
    schedule an event."""
    moment = _moment_between(ctx.rng(fp.name), *_window(ctx, fp))
    quarter = int(ctx.rng(fp.name + ":clock").integers(8 * 4, 20 * 4))
    return _render(moment.replace(hour=quarter // 4, minute=15 * (quarter % 4), second=0, microsecond=0), sub, "date-time")


def _s_birth_date(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> Any:
    return _render(_birth(ctx, fp.name, _person_age(ctx)), sub, "date")


def _s_phone(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> str:
    """A phone number without an extension (`x1234` reads as a desk line, not a person's)."""
    fake = ctx.faker(fp.name)
    number = fake.phone_number()
    for _ in range(8):
        if "x" not in number:
            return number
        number = fake.phone_number()
    return number.split("x")[0]


def _s_street(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> str:
    place = ctx.place
    locale = place.locale if place.locale in _STREET_LOCALES else "en_US"
    return ctx._once("street", lambda: ctx.faker("street", locale).street_address().replace("\n", ", "))


def _postcode(ctx: _Ctx) -> str:
    rng = ctx.rng("postcode")
    letters = "ABCDEFGHJKLMNPRSTUVWXY"
    return "".join(
        str(int(rng.integers(10))) if c == "#" else letters[int(rng.integers(len(letters)))] if c == "?" else c for c in ctx.place.postcode
    )


def _s_address(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> str:
    place, street, code = ctx.place, _s_street(ctx, sub, fp), _postcode(ctx)
    if place.code in _REGION_FIRST:
        return f"{street}, {place.city}, {place.region} {code}"
    if place.code in ("GB", "IE"):
        return f"{street}, {place.city} {code}"
    return f"{street}, {code} {place.city}"


def _s_uuid(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> str:
    """A version-4 UUID hashed from (seed, index, field): deterministic and unique per record."""
    digest = hashlib.blake2b(f"{ctx.seed}|{ctx.index}|{ctx.key(fp.name)}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def _s_serial(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> int:
    lo, _ = _int_bounds(sub)
    return (lo if lo is not None else 1) + ctx.index


def _s_sku(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> str:
    rng = ctx.rng(fp.name)
    prefix = "".join(chr(ord("A") + int(rng.integers(26))) for _ in range(3))
    return f"{prefix}-{ctx.tag:05d}"


def _s_coordinate(axis: str) -> Sampler:
    def draw(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> float:
        centre = ctx.place.lat if axis == "lat" else ctx.place.lon
        return round(centre + float(ctx.rng(fp.name).uniform(-0.08, 0.08)), 6)

    return draw


def _s_enum(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> Any:
    """One of the enum's values, mildly favouring earlier ones (`free|pro|enterprise`)."""
    values = list(sub["enum"])
    weights = 1 / np.sqrt(np.arange(1, len(values) + 1))
    return values[int(ctx.rng(fp.name).choice(len(values), p=weights / weights.sum()))]


_MOSTLY_TRUE = re.compile(r"(^|_)(active|enabled|verified|available|visible|published|in_stock)$")


_MOSTLY_FALSE = re.compile(r"(^|_)(deleted|archived|banned|disabled|suspended|blocked)$")


def _s_boolean(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> bool:
    snake = snake_case(fp.name)
    share = 0.85 if _MOSTLY_TRUE.search(snake) else 0.08 if _MOSTLY_FALSE.search(snake) else 0.5
    return bool(ctx.rng(fp.name).random() < share)


def _s_integer(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> int:
    lo, hi = _int_bounds(sub)
    if lo is None or hi is None:
        raise ValueError("it needs both a minimum and a maximum")
    step = sub.get("multipleOf")
    if isinstance(step, int) and step > 0:
        k_lo, k_hi = -(-lo // step), hi // step
        return int(ctx.rng(fp.name).integers(k_lo, k_hi + 1)) * step
    return int(ctx.rng(fp.name).integers(lo, hi + 1))


def _s_number(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> float:
    """Uniform within the bounds, rounded to cents when that stays strictly inside them."""
    low, high, _, _ = _bounds(sub)
    if low is None or high is None:
        raise ValueError("it needs both a minimum and a maximum")
    value = float(ctx.rng(fp.name).uniform(low, high))
    step = sub.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0:
        return round(math.ceil(low / step) * step + math.floor((value - low) / step) * step, 10)
    rounded = round(value, 2)
    return rounded if low < rounded < high else value


def _s_price(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan, usual: tuple[float, float] = PRICE_RANGE) -> float:
    """A price as shops write them (in `usual`, `PRICE_RANGE` by default), within the schema's bounds."""
    low, high, _, _ = _bounds(sub)
    lo, hi = max(usual[0], low if low is not None else 0.0), min(usual[1], high if high is not None else usual[1])
    if lo >= hi:
        raise ValueError("its bounds leave no room for a shop's price")
    rng = ctx.rng(fp.name)
    whole = math.floor(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    price = whole + float(rng.choice([0.99, 0.99, 0.49, 0.0]))
    return price if lo <= price <= hi else round(min(max(price, lo), hi), 2)


def _product(ctx: _Ctx) -> tuple[str, str, tuple[float, float]]:
    """The record's product (name, department, price range), the same for every field of the
    record, so its name, category and price agree."""
    rng = ctx.rng("product")
    kind, department, low, high = _PRODUCTS[int(rng.integers(len(_PRODUCTS)))]
    touch = _PRODUCT_TOUCHES[int(rng.integers(len(_PRODUCT_TOUCHES)))]
    return f"{_BRANDS[int(rng.integers(len(_BRANDS)))]} {touch}{kind}", department, (float(low), float(high))


def _s_warehouse(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> str:
    """A warehouse as a shop names it: its city and what it is ("Reno Fulfillment Center")."""
    kind = ("Distribution Center", "Fulfillment Center", "Warehouse", "DC")[int(ctx.rng(fp.name).integers(4))]
    return f"{ctx.place.city} {kind}"


def _s_hobbies(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> list[str]:
    """2–4 of the record's hobbies, within the list's minItems/maxItems."""
    low = int(sub.get("minItems", 0) or 0)
    high = min(int(sub.get("maxItems", 8) or 8), len(ctx.hobbies))
    if low > high:
        raise ValueError(f"minItems {low} is more than the {len(ctx.hobbies)} hobbies a record has")
    count = int(ctx.rng(fp.name).integers(max(low, min(2, high)), max(low, min(4, high)) + 1))
    return ctx.hobbies[:count]


def _s_count(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> int:
    """A count of the field's kind (`attendees`, `quantity`...), log-uniform in its typical range
    cut to the schema's bounds."""
    typical = next(span for names, span in COUNT_RANGES.items() if snake_case(fp.name) in names)
    lo, hi = _int_bounds(sub)
    low, high = max(typical[0], lo if lo is not None else typical[0]), min(typical[1], hi if hi is not None else typical[1])
    if low > high:  # the schema's range lies outside the typical one: its own bounds decide
        low, high = lo if lo is not None else high, hi if hi is not None else low
    draw = math.exp(ctx.rng(fp.name).uniform(math.log(low + 1), math.log(high + 2))) - 1
    return min(max(int(draw), low), high)


def _s_event_title(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> str:
    """An event's title composed from a topic and a kind ("Downtown Craft Beer Festival", "12th
    Annual Robotics Summit"): a 135M model asked for one names a person or a city instead."""
    rng = ctx.rng(fp.name)
    topic, kind = _EVENT_TOPICS[int(rng.integers(len(_EVENT_TOPICS)))], _EVENT_KINDS[int(rng.integers(len(_EVENT_KINDS)))]
    form = int(rng.integers(1, 4))
    if form == 2:
        return f"{_EVENT_PREFIXES[int(rng.integers(len(_EVENT_PREFIXES)))]} {topic} {kind}"
    if form == 3:
        nth = int(rng.integers(2, 26))
        suffix = "th" if 10 <= nth % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(nth % 10, "th")
        return f"{nth}{suffix} Annual {topic} {kind}"
    return f"{topic} {kind}"


_RECORDS_OWN_PLACE = frozenset({"location", "current_location", "user_location", "city_state", "city_and_state"})


def _s_location(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> str:
    """A place as people write it: "Austin, TX" in the US, "Lyon, France" elsewhere. The record's
    own place (its city and country agree), unless the field is one of several (a pickup and a
    drop-off location, a destination)."""
    place = ctx.place if snake_case(fp.name) in _RECORDS_OWN_PLACE else _pick_place(ctx.rng(fp.name), ctx.locale)
    return f"{place.city}, {place.region}" if place.code == "US" else f"{place.city}, {place.country}"


SAMPLERS: dict[str, Sampler] = {
    "first_name": lambda ctx, sub, fp: ctx.person[0],
    "last_name": lambda ctx, sub, fp: ctx.person[1],
    "full_name": lambda ctx, sub, fp: " ".join(ctx.person),
    "email": lambda ctx, sub, fp: _email(ctx, fp.name, *ctx.person),
    "username": lambda ctx, sub, fp: _username(ctx, fp.name, *ctx.person),
    "phone": _s_phone,
    "address": _s_address,
    "street_address": _s_street,
    "city": lambda ctx, sub, fp: ctx.place.city,
    "location": _s_location,
    "country": lambda ctx, sub, fp: ctx.place.country,
    "country_code": lambda ctx, sub, fp: ctx.place.code,
    "postcode": lambda ctx, sub, fp: _postcode(ctx),
    "currency": lambda ctx, sub, fp: ctx.place.currency,
    "latitude": _s_coordinate("lat"),
    "longitude": _s_coordinate("lon"),
    "company": lambda ctx, sub, fp: ctx.faker(fp.name).company(),
    "job": lambda ctx, sub, fp: _job(ctx),
    "url": lambda ctx, sub, fp: ctx.faker(fp.name).url(),
    "hostname": lambda ctx, sub, fp: ctx.faker(fp.name).hostname(),
    "ipv4": lambda ctx, sub, fp: ctx.faker(fp.name).ipv4_public(),
    "ipv6": lambda ctx, sub, fp: ctx.faker(fp.name).ipv6(),
    "uuid": _s_uuid,
    "serial": _s_serial,
    "sku": _s_sku,
    "hobbies": _s_hobbies,
    "color": lambda ctx, sub, fp: _COLORS[int(ctx.rng(fp.name).integers(len(_COLORS)))],
    "hex_color": lambda ctx, sub, fp: ctx.faker(fp.name).hex_color(),
    "age": lambda ctx, sub, fp: _draw_age(ctx.rng("age"), sub),
    "birth_date": _s_birth_date,
    "date": _s_date,
    "date_time": _s_date_time,
    "enum": _s_enum,
    "const": lambda ctx, sub, fp: sub["const"],
    "boolean": _s_boolean,
    "integer": _s_integer,
    "number": _s_number,
    "count": _s_count,
    "price": _s_price,
    "event_title": _s_event_title,
    "event_start": _s_event_start,
    "product_name": lambda ctx, sub, fp: _product(ctx)[0],
    "product_category": lambda ctx, sub, fp: _product(ctx)[1],
    "product_price": lambda ctx, sub, fp: _s_price(ctx, sub, fp, _product(ctx)[2]),
    "warehouse": _s_warehouse,
}
