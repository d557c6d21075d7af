"""Which source fills each top-level field of a record: a sampler, a derivation or the model.

Small models write names, emails and dates badly (`user96@example.com`, five "John Smith", the
year 0948) and free text well enough. So a record is planned field by field: a field whose value
a library can draw realistically (Faker for people, places and companies; numpy for bounded
numbers; enums, consts and booleans) is *sampled*; a field that follows from others (an email from
the name, `updated_at` after `created_at`) is *derived*; everything else (bios, descriptions,
titles, product names, patterned codes) stays with the *model*.

A choice is made only where it is confident, and it is checked: at plan time each sampler draws a
few values that must validate (format checks on) against the field's subschema, or the field goes
back to the model with the reason. Values are deterministic in (seed, index), so a rerun makes the
same record, and identifying fields carry a disambiguator built from the index, so they are unique
within a dataset whatever process drew them.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from faker import Faker
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from apprentice.errors import ApprenticeError
from apprentice.shapes.fields import resolve_ref, snake_case
from apprentice.shapes.validate import ValidationIssue, declared_types, field_issues

__all__ = [
    "DERIVERS",
    "SAMPLERS",
    "FieldOverride",
    "FieldPlan",
    "FieldPlanError",
    "FieldSource",
    "RecordPlan",
    "event_span",
    "persona",
    "plan_fields",
    "sample_record",
]


class FieldPlanError(ApprenticeError):
    """A field override cannot be carried out as written (unknown field, sampler or derivation)."""


class FieldSource(StrEnum):
    """Who fills a field: a sampler, a derivation from other fields, or the model."""

    SAMPLED = "sampled"
    DERIVED = "derived"
    MODEL = "model"


class FieldOverride(BaseModel):
    """What a workflow spec may say about one field, e.g. `{source: derived, from: name}`,
    `{source: model}` or `{source: sampled, sampler: date_time, after: 2019-01-01}`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: FieldSource
    sampler: str | None = None
    from_: list[str] | str | None = Field(None, alias="from")
    after: date | datetime | None = None
    before: date | datetime | None = None

    @model_validator(mode="after")
    def _window(self) -> FieldOverride:
        after, before = _aware(self.after), _aware(self.before)
        if after is not None and after < _FLOOR:
            raise ValueError("`after` must not be before 1900")
        if after is not None and before is not None and after >= before:
            raise ValueError("`after` must be earlier than `before`")
        return self

    @property
    def sources(self) -> list[str]:
        """The `from` fields as a list."""
        return [self.from_] if isinstance(self.from_, str) else list(self.from_ or [])


class FieldPlan(BaseModel):
    """The plan for one top-level field: its source, the sampler or derivation, and why."""

    name: str
    source: FieldSource
    sampler: str | None = None
    derived_from: list[str] = Field(default_factory=list)
    reason: str
    after: datetime | None = None
    before: datetime | None = None


class RecordPlan(BaseModel):
    """The plan for a whole record. `anchor` fixes the end of the default date window, so a
    rerun with the same plan makes the same dates whatever day it runs."""

    fields: list[FieldPlan] = Field(default_factory=list)
    locale: str = "en_US"
    anchor: date = Field(default_factory=lambda: datetime.now(UTC).date().replace(day=1))
    """The first day of the month: a run resumed tomorrow draws the same dates (they are in each
    batch's cache key); the window moves once a month."""

    def field(self, name: str) -> FieldPlan | None:
        """The plan of the field called `name`, if any."""
        return next((f for f in self.fields if f.name == name), None)

    # The name shadows pydantic's BaseModel.model_fields (a class-level mapping): kept, as callers
    # use it, but mypy rightly sees an incompatible override.
    def model_fields(self) -> list[str]:  # type: ignore[override]
        """Fields the model writes."""
        return [f.name for f in self.fields if f.source is FieldSource.MODEL]

    def filled_fields(self) -> list[str]:
        """Fields filled without the model (sampled or derived)."""
        return [f.name for f in self.fields if f.source is not FieldSource.MODEL]

    def sampled_share(self) -> float:
        """Share of fields filled without the model (0.0 for a plan with no fields)."""
        return len(self.filled_fields()) / len(self.fields) if self.fields else 0.0

    def table(self) -> list[dict[str, str]]:
        """One row per field, for printing."""
        return [
            {"field": f.name, "source": str(f.source), "sampler": f.sampler or "", "from": ", ".join(f.derived_from), "reason": f.reason}
            for f in self.fields
        ]

    def fill_order(self) -> list[FieldPlan]:
        """Filled fields, each after the fields it is derived from."""
        filled = {f.name: f for f in self.fields if f.source is not FieldSource.MODEL}
        order: list[FieldPlan] = []
        done: set[str] = set()

        def visit(name: str, trail: tuple[str, ...]) -> None:
            if name in done or name not in filled:
                return
            if name in trail:
                raise FieldPlanError(f"derived fields form a cycle: {' -> '.join((*trail, name))}")
            for source in filled[name].derived_from:
                visit(source, (*trail, name))
            done.add(name)
            order.append(filled[name])

        for name in filled:
            visit(name, ())
        return order


# ---------------------------------------------------------------------------------------------
# Tables: field names and formats → samplers
# ---------------------------------------------------------------------------------------------


def _by_name(table: dict[tuple[str, ...], tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    return {name: samplers for names, samplers in table.items() for name in names}


# Counts of people or things by field name: their typical range, drawn log-uniformly (most events
# have dozens of attendees, a few thousands), within the schema's own bounds when it has them. A
# model asked for an unbounded count writes 103456789.
COUNT_RANGES: dict[tuple[str, ...], tuple[int, int]] = {
    (
        "attendees",
        "attendee_count",
        "attendance",
        "participants",
        "participant_count",
        "guests",
        "guest_count",
        "registrations",
        "rsvps",
        "tickets_sold",
    ): (8, 2000),
    ("capacity", "seats", "max_attendees", "max_participants", "max_guests"): (20, 5000),
    ("quantity", "qty", "units", "item_count", "items_count"): (1, 12),
    ("employees", "employee_count", "staff_count", "team_size"): (2, 5000),
    ("review_count", "reviews_count", "rating_count", "ratings_count", "num_reviews"): (0, 4000),
    ("stock", "in_stock", "stock_quantity", "inventory", "units_in_stock"): (0, 500),
}

PRICE_NAMES = ("price", "unit_price", "list_price", "sale_price", "retail_price", "msrp")
PRICE_RANGE = (2.0, 800.0)
"""A shop's prices, log-uniform (most under 50, a few in the hundreds), ending in .99, .49 or .00."""

# Normalised (snake_case) field name → samplers to try in order; the first whose trial draws
# validate wins (so `color` with a hex pattern falls through to `hex_color`).
NAME_SAMPLERS: dict[str, tuple[str, ...]] = _by_name(
    {
        ("first_name", "firstname", "given_name", "forename"): ("first_name",),
        ("last_name", "lastname", "surname", "family_name"): ("last_name",),
        (
            "full_name",
            "fullname",
            "person_name",
            "customer_name",
            "contact_name",
            "author_name",
            "author",
            "reviewer",
            "reviewer_name",
            "organizer",
            "organizer_name",
            "assignee",
            "reporter",
            "owner_name",
            "buyer_name",
            "seller_name",
            "manager_name",
        ): ("full_name",),
        ("email", "email_address", "mail"): ("email",),
        ("phone", "phone_number", "telephone", "mobile", "mobile_number", "cell_phone"): ("phone",),
        ("address", "home_address", "mailing_address", "postal_address", "full_address"): ("address",),
        ("street", "street_address", "address_line1", "address_line_1", "address1"): ("street_address",),
        ("city", "town"): ("city",),
        ("country", "country_name"): ("country", "country_code"),
        ("country_code", "country_iso", "iso_country"): ("country_code",),
        ("company", "company_name", "employer", "organization", "organisation"): ("company",),
        ("job", "job_title", "occupation", "profession"): ("job",),
        ("url", "website", "homepage", "web_site", "website_url", "homepage_url"): ("url",),
        ("uuid", "guid"): ("uuid",),
        ("id",): ("uuid", "serial"),
        ("ip", "ip_address", "ipv4", "ipv4_address"): ("ipv4",),
        ("ipv6", "ipv6_address"): ("ipv6",),
        ("username", "user_name", "login", "handle", "screen_name"): ("username",),
        ("zip", "zip_code", "zipcode", "postal_code", "postcode"): ("postcode",),
        ("currency", "currency_code"): ("currency",),
        ("color", "colour"): ("color", "hex_color"),
        ("hex_color", "hex_colour"): ("hex_color",),
        ("latitude", "lat"): ("latitude",),
        ("longitude", "lng", "lon", "long"): ("longitude",),
        ("age",): ("age",),
        ("birthday", "birth_date", "birthdate", "date_of_birth", "dob"): ("birth_date",),
        ("hostname", "host_name"): ("hostname",),
        ("sku",): ("sku",),
        ("date",): ("date",),
        ("timestamp", "created", "updated", "modified"): ("date_time",),
    }
    | {names: ("count",) for names in COUNT_RANGES}
    | {PRICE_NAMES: ("price",)}
    | {("warehouse", "warehouse_name", "fulfillment_center", "distribution_center"): ("warehouse",)}
)

# Name suffixes, tried when the whole name is not in NAME_SAMPLERS.
SUFFIX_SAMPLERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("_email", ("email",)),
    ("_url", ("url",)),
    ("_phone", ("phone",)),
    ("_uuid", ("uuid",)),
    ("_sku", ("sku",)),
    ("_city", ("city",)),
    ("_country", ("country",)),
    ("_ip", ("ipv4",)),
    ("_at", ("date_time",)),
    ("_date", ("date",)),
    ("_on", ("date",)),
)

FORMAT_SAMPLERS: dict[str, str] = {
    "email": "email",
    "idn-email": "email",
    "uuid": "uuid",
    "uri": "url",
    "iri": "url",
    "uri-reference": "url",
    "date": "date",
    "date-time": "date_time",
    "ipv4": "ipv4",
    "ipv6": "ipv6",
    "hostname": "hostname",
    "idn-hostname": "hostname",
}

# A list of strings under one of these names, in a record about a person, is their hobbies.
HOBBY_FIELDS = frozenset({"interests", "hobbies", "pastimes", "likes", "passions"})

# A bare `name` is a person's name only next to fields like these; otherwise (a product, a
# city, an event) it stays with the model.
PERSON_CUES = frozenset(
    "first_name last_name surname email email_address phone phone_number age birthday birth_date date_of_birth dob"
    " username user_name job_title occupation gender bio biography nationality pronouns".split()
)

# Date stems: a field `X_at` (or `X_date`, ...) whose stem is a key comes after the first field
# whose stem is in the value; the stems in SHORT_SPANS follow within a month.
AFTER: dict[str, tuple[str, ...]] = {
    "updated": ("created",),
    "modified": ("created",),
    "last_login": ("signed_up", "created", "registered", "joined"),
    "last_seen": ("signed_up", "created", "registered", "joined"),
    "end": ("start", "starts"),
    "ends": ("starts", "start"),
    "ended": ("started",),
    "finished": ("started",),
    "completed": ("started", "created"),
    "closed": ("opened", "created"),
    "resolved": ("opened", "created"),
    "shipped": ("ordered", "placed", "created"),
    "delivered": ("shipped",),
    "due": ("issued", "created"),
}
SHORT_SPANS = frozenset({"end", "ended", "finished", "completed", "closed", "resolved", "shipped", "delivered", "due"})
# A record with a start, an end and a title or a place is an event (not a subscription): its
# title is an event's, it starts on the quarter hour and ends hours later.
EVENT_STARTS, EVENT_ENDS = frozenset({"start", "starts", "begin", "begins"}), frozenset({"end", "ends"})
EVENT_TITLES = frozenset({"title", "name", "event_name", "event_title"})
EVENT_PLACES = frozenset({"city", "venue", "location", "place", "address"})
# A record with a price, a stock count or an SKU (and no person) is a product: its `name` is a
# product's, and its `category` the one that product belongs to.
PRODUCT_CUES = frozenset({"sku", "price", "unit_price", "list_price", "msrp", "stock", "in_stock", "stock_quantity", "inventory"})
PRODUCT_NAMES = frozenset({"name", "title", "product_name", "product", "product_title"})
PRODUCT_CATEGORIES = frozenset({"category", "product_category", "department"})

# The sampler a field would have → the derivation that replaces it when its sources exist.
DERIVATION_FOR: dict[str, str] = {
    "email": "email_from_name",
    "username": "username_from_name",
    "full_name": "join_names",
    "birth_date": "birth_date_from_age",
    "date": "after",
    "date_time": "after",
}

_FLOOR = datetime(1900, 1, 1, tzinfo=UTC)
_EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org")
_COLORS = tuple(
    "black white gray silver navy blue red green beige brown pink purple yellow orange teal olive burgundy charcoal cream gold".split()
)
_HOBBIES = (
    "trail running",
    "sourdough baking",
    "birdwatching",
    "chess",
    "rock climbing",
    "gardening",
    "woodworking",
    "film photography",
    "cycling",
    "board games",
    "pottery",
    "open-water swimming",
    "jazz piano",
    "volunteering at a food bank",
    "hiking",
    "home brewing",
    "knitting",
    "sailing",
    "amateur astronomy",
    "salsa dancing",
    "fly fishing",
    "restoring old bikes",
    "podcasting",
    "language learning",
    "community theatre",
    "bouldering",
    "vegetable pickling",
    "marathon training",
)
_ANGLES = (
    "a recent career change",
    "a side project",
    "a pet",
    "a place they lived before",
    "what they are learning now",
    "a volunteer role",
    "a family tradition",
    "a goal for next year",
    "how they got into their field",
    "a favourite weekend routine",
)
_TONES = ("warm", "matter-of-fact", "enthusiastic", "dry and witty", "formal", "understated", "curious", "pragmatic")
_STREET_LOCALES = frozenset(
    "en_US en_GB en_CA en_AU en_NZ en_IE en_IN de_DE de_AT de_CH fr_FR es_ES it_IT nl_NL sv_SE pl_PL pt_PT pt_BR es_MX es_AR".split()
)


class Place(NamedTuple):
    """A real city with what goes with it, so city, country, code, currency, postcode and
    coordinates of one record agree. Postcode patterns: `#` a digit, `?` a capital letter."""

    city: str
    region: str
    country: str
    code: str
    lat: float
    lon: float
    currency: str
    postcode: str
    locale: str


def _places(rows: str) -> tuple[Place, ...]:
    out = []
    for row in rows.strip().splitlines():
        city, region, country, code, lat, lon, currency, postcode, locale = (c.strip() for c in row.split("|"))
        out.append(Place(city, region, country, code, float(lat), float(lon), currency, postcode, locale))
    return tuple(out)


PLACES = _places("""
New York|NY|United States|US|40.7128|-74.0060|USD|100##|en_US
Los Angeles|CA|United States|US|34.0522|-118.2437|USD|900##|en_US
Chicago|IL|United States|US|41.8781|-87.6298|USD|606##|en_US
Houston|TX|United States|US|29.7604|-95.3698|USD|770##|en_US
Phoenix|AZ|United States|US|33.4484|-112.0740|USD|850##|en_US
Philadelphia|PA|United States|US|39.9526|-75.1652|USD|191##|en_US
San Diego|CA|United States|US|32.7157|-117.1611|USD|921##|en_US
Dallas|TX|United States|US|32.7767|-96.7970|USD|752##|en_US
Austin|TX|United States|US|30.2672|-97.7431|USD|787##|en_US
Seattle|WA|United States|US|47.6062|-122.3321|USD|981##|en_US
Denver|CO|United States|US|39.7392|-104.9903|USD|802##|en_US
Boston|MA|United States|US|42.3601|-71.0589|USD|021##|en_US
Atlanta|GA|United States|US|33.7490|-84.3880|USD|303##|en_US
Portland|OR|United States|US|45.5152|-122.6784|USD|972##|en_US
Minneapolis|MN|United States|US|44.9778|-93.2650|USD|554##|en_US
Nashville|TN|United States|US|36.1627|-86.7816|USD|372##|en_US
Columbus|OH|United States|US|39.9612|-82.9988|USD|432##|en_US
Miami|FL|United States|US|25.7617|-80.1918|USD|331##|en_US
Raleigh|NC|United States|US|35.7796|-78.6382|USD|276##|en_US
Pittsburgh|PA|United States|US|40.4406|-79.9959|USD|152##|en_US
Toronto|ON|Canada|CA|43.6532|-79.3832|CAD|M#? #?#|en_CA
Vancouver|BC|Canada|CA|49.2827|-123.1207|CAD|V#? #?#|en_CA
Montreal|QC|Canada|CA|45.5017|-73.5673|CAD|H#? #?#|en_CA
London|England|United Kingdom|GB|51.5074|-0.1278|GBP|SW# #??|en_GB
Manchester|England|United Kingdom|GB|53.4808|-2.2426|GBP|M# #??|en_GB
Edinburgh|Scotland|United Kingdom|GB|55.9533|-3.1883|GBP|EH# #??|en_GB
Dublin|Leinster|Ireland|IE|53.3498|-6.2603|EUR|D## ?#??|en_IE
Berlin|Berlin|Germany|DE|52.5200|13.4050|EUR|1####|de_DE
Munich|Bavaria|Germany|DE|48.1351|11.5820|EUR|8####|de_DE
Hamburg|Hamburg|Germany|DE|53.5511|9.9937|EUR|2####|de_DE
Paris|Île-de-France|France|FR|48.8566|2.3522|EUR|750##|fr_FR
Lyon|Auvergne-Rhône-Alpes|France|FR|45.7640|4.8357|EUR|6900#|fr_FR
Madrid|Madrid|Spain|ES|40.4168|-3.7038|EUR|280##|es_ES
Barcelona|Catalonia|Spain|ES|41.3874|2.1686|EUR|080##|es_ES
Rome|Lazio|Italy|IT|41.9028|12.4964|EUR|001##|it_IT
Milan|Lombardy|Italy|IT|45.4642|9.1900|EUR|201##|it_IT
Amsterdam|North Holland|Netherlands|NL|52.3676|4.9041|EUR|10## ??|nl_NL
Stockholm|Stockholm|Sweden|SE|59.3293|18.0686|SEK|1## ##|sv_SE
Warsaw|Masovia|Poland|PL|52.2297|21.0122|PLN|0#-###|pl_PL
Lisbon|Lisbon|Portugal|PT|38.7223|-9.1393|EUR|1###-###|pt_PT
Zurich|Zurich|Switzerland|CH|47.3769|8.5417|CHF|80##|de_CH
Vienna|Vienna|Austria|AT|48.2082|16.3738|EUR|1###|de_AT
Sydney|NSW|Australia|AU|-33.8688|151.2093|AUD|2###|en_AU
Melbourne|VIC|Australia|AU|-37.8136|144.9631|AUD|3###|en_AU
Auckland|Auckland|New Zealand|NZ|-36.8485|174.7633|NZD|1###|en_NZ
Tokyo|Tokyo|Japan|JP|35.6762|139.6503|JPY|1##-####|en_US
Osaka|Osaka|Japan|JP|34.6937|135.5023|JPY|5##-####|en_US
Seoul|Seoul|South Korea|KR|37.5665|126.9780|KRW|0####|en_US
Singapore|Singapore|Singapore|SG|1.3521|103.8198|SGD|######|en_US
Bengaluru|Karnataka|India|IN|12.9716|77.5946|INR|560###|en_IN
Mumbai|Maharashtra|India|IN|19.0760|72.8777|INR|400###|en_IN
São Paulo|SP|Brazil|BR|-23.5505|-46.6333|BRL|0####-###|pt_BR
Mexico City|CDMX|Mexico|MX|19.4326|-99.1332|MXN|0####|es_MX
Buenos Aires|CABA|Argentina|AR|-34.6037|-58.3816|ARS|C####???|es_AR
Cape Town|Western Cape|South Africa|ZA|-33.9249|18.4241|ZAR|8###|en_US
Nairobi|Nairobi|Kenya|KE|-1.2921|36.8219|KES|00###|en_US
Lagos|Lagos|Nigeria|NG|6.5244|3.3792|NGN|1#####|en_US
""")
_REGION_FIRST = frozenset({"US", "CA", "AU"})


# ---------------------------------------------------------------------------------------------
# Seeded per-record draws
# ---------------------------------------------------------------------------------------------

_LOCAL = threading.local()
_UNITS_100 = tuple(k for k in range(1, 100) if math.gcd(k, 100) == 1)


def _faker(locale: str) -> Faker:
    """One Faker per locale and thread (building one costs tens of milliseconds)."""
    cache: dict[str, Faker] = _LOCAL.__dict__.setdefault("fakers", {})
    if locale not in cache:
        cache[locale] = Faker(locale)
    return cache[locale]


def _stream(seed: int, index: int, key: str) -> int:
    """A 64-bit seed for one named stream of one record: independent of every other stream, so
    adding a field to a shape does not change the values of the others."""
    digest = hashlib.blake2b(f"{seed}|{index}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _tag(seed: int, index: int) -> int:
    """A number that differs for every index of a dataset (a seeded permutation within each
    block of 100), used to make identifiers unique without looking sequential."""
    if index < 0:
        raise ValueError("record indices are non-negative")
    mult = _UNITS_100[_stream(seed, 0, "tag:mult") % len(_UNITS_100)]
    shift = _stream(seed, 0, "tag:shift") % 100
    block, slot = divmod(index, 100)
    return block * 100 + (mult * slot + shift) % 100


class _Ctx:
    """Draw state of one record: seeded Faker and numpy streams, and the record's person and
    place (shared by the fields that describe them). `attempt` > 0 asks for fresh draws."""

    def __init__(self, seed: int, index: int, locale: str, anchor: date) -> None:
        self.seed, self.index, self.locale, self.anchor = seed, index, locale, anchor
        self.attempt = 0
        self._memo: dict[str, Any] = {}

    def key(self, name: str) -> str:
        return f"{name}#{self.attempt}" if self.attempt else name

    def faker(self, key: str, locale: str | None = None) -> Faker:
        fake = _faker(locale or self.locale)
        fake.seed_instance(_stream(self.seed, self.index, self.key(key)))
        return fake

    def rng(self, key: str) -> np.random.Generator:
        return np.random.default_rng(_stream(self.seed, self.index, self.key(key)))

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        full = self.key(key)
        if full not in self._memo:
            self._memo[full] = make()
        return self._memo[full]

    @property
    def person(self) -> tuple[str, str]:
        def make() -> tuple[str, str]:
            fake = self.faker("person")
            return fake.first_name(), fake.last_name()

        return self._once("person", make)

    @property
    def place(self) -> Place:
        return self._once("place", lambda: _pick_place(self.rng("place"), self.locale))

    @property
    def job(self) -> str:
        return self._once("job", lambda: self.faker("job").job())

    @property
    def tag(self) -> int:
        return _tag(self.seed, self.index)

    @property
    def hobbies(self) -> list[str]:
        """The record's hobbies, most telling first: the persona's texts mention the first, an
        `interests` list holds the first few, so the bio and the list agree."""
        return self._once("hobbies", lambda: [_HOBBIES[int(i)] for i in self.rng("hobbies").permutation(len(_HOBBIES))[:8]])


def _pick_place(rng: np.random.Generator, locale: str) -> Place:
    """A place; 60% of the time in the locale's own country when the table has it."""
    home = [p for p in PLACES if p.code == locale.rpartition("_")[2]]
    pool = home if home and rng.random() < 0.6 else PLACES
    return pool[int(rng.integers(len(pool)))]


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


# ---------------------------------------------------------------------------------------------
# Schema helpers
# ---------------------------------------------------------------------------------------------


def _properties(schema: Any) -> dict[str, dict[str, Any]]:
    """Top-level properties of an object schema, `$ref`s resolved; {} for anything else."""
    root = resolve_ref(schema, schema)
    props = root.get("properties")
    if not isinstance(props, dict):
        return {}
    return {name: resolve_ref(sub, schema) for name, sub in props.items()}


def _bounds(sub: Mapping[str, Any]) -> tuple[float | None, float | None, bool, bool]:
    """(low, high, low exclusive, high exclusive) from draft-4 or later keywords."""
    low, high = sub.get("minimum"), sub.get("maximum")
    low_x = high_x = False
    ex_low, ex_high = sub.get("exclusiveMinimum"), sub.get("exclusiveMaximum")
    if isinstance(ex_low, bool):
        low_x = ex_low
    elif isinstance(ex_low, (int, float)) and (low is None or ex_low >= low):
        low, low_x = ex_low, True
    if isinstance(ex_high, bool):
        high_x = ex_high
    elif isinstance(ex_high, (int, float)) and (high is None or ex_high <= high):
        high, high_x = ex_high, True
    return low, high, low_x, high_x


def _int_bounds(sub: Mapping[str, Any]) -> tuple[int | None, int | None]:
    low, high, low_x, high_x = _bounds(sub)
    lo = None if low is None else (math.floor(low) + 1 if low_x else math.ceil(low))
    hi = None if high is None else (math.ceil(high) - 1 if high_x else math.floor(high))
    return lo, hi


def _fit(value: Any, sub: Mapping[str, Any]) -> Any:
    """A number where the schema wants a string becomes its text (latitude as "40.7128")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and declared_types(sub) == {"string"}:
        return str(value)
    return value


def _aware(moment: date | datetime | None) -> datetime | None:
    """A date as midnight UTC, a naive datetime as UTC."""
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(), UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Samplers: (record context, field subschema, field plan) → value
# ---------------------------------------------------------------------------------------------

Sampler = Callable[[_Ctx, dict[str, Any], FieldPlan], Any]


def _window(ctx: _Ctx, fp: FieldPlan) -> tuple[datetime, datetime]:
    """The field's date window: the override's, else the ten years before the plan's anchor."""
    end = fp.before or datetime.combine(ctx.anchor, time(), UTC)
    start = max(fp.after or end - timedelta(days=3652), _FLOOR)
    return start, end if end > start else start + timedelta(days=3652)


def _moment_between(rng: np.random.Generator, start: datetime, end: datetime) -> datetime:
    span = max(int((end - start).total_seconds()), 0)
    return start + timedelta(seconds=int(rng.integers(0, span + 1)))


def _render(moment: datetime, sub: Mapping[str, Any], default: str) -> Any:
    """ISO 8601 as the schema wants it: `date`, `date-time` (UTC, `Z`), or Unix seconds for
    an integer field."""
    types = declared_types(sub)
    if types and types <= {"integer", "number"}:
        return int(moment.timestamp())
    kind = sub.get("format") if sub.get("format") in ("date", "date-time") else default
    return moment.date().isoformat() if kind == "date" else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def _birth(ctx: _Ctx, key: str, age: int) -> datetime:
    """A birth date that makes the person `age` years old on the plan's anchor day."""
    anchor = ctx.anchor
    year = anchor.year - age
    latest = anchor.replace(year=year) if not (anchor.month == 2 and anchor.day == 29) else date(year, 2, 28)
    born = latest - timedelta(days=int(ctx.rng(key).integers(0, 365)))
    return datetime.combine(born, time(), UTC)


def _s_date(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> Any:
    return _render(_moment_between(ctx.rng(fp.name), *_window(ctx, fp)), sub, "date")


def _s_date_time(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> Any:
    return _render(_moment_between(ctx.rng(fp.name), *_window(ctx, fp)), sub, "date-time")


def _s_event_start(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> Any:
    """A day in the field's window, on the quarter hour between 08:00 and 20:00, as people
    schedule an event."""
    moment = _moment_between(ctx.rng(fp.name), *_window(ctx, fp))
    quarter = int(ctx.rng(fp.name + ":clock").integers(8 * 4, 20 * 4))
    return _render(moment.replace(hour=quarter // 4, minute=15 * (quarter % 4), second=0, microsecond=0), sub, "date-time")


def _s_birth_date(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan) -> Any:
    return _render(_birth(ctx, fp.name, _draw_age(ctx.rng("age"), {})), sub, "date")


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


_BRANDS = tuple(
    "Northwind Kestrel Alder Bluepeak Corvid Fernhill Halden Ironbark Juniper Lumen Marlow Nordvik Oakline Pellucid Quill"
    " Redfern Saltmarsh Tamarack Umber Vantage Willow Yarrow Zephyr Brightwater Cobalt Driftwood Everly Foxglove Granite Harbor".split()
)
# (what the product is, its department, its usual price range): a 135M model asked for a product's
# name writes its SKU.
_PRODUCTS = (
    ("Insulated Water Bottle", "Outdoors", 15, 45),
    ("Trail Running Shoes", "Footwear", 70, 180),
    ("Wireless Earbuds", "Electronics", 25, 250),
    ("Cast Iron Skillet", "Kitchen", 20, 90),
    ("Yoga Mat", "Fitness", 15, 90),
    ("Merino Wool Socks", "Apparel", 12, 30),
    ("Desk Lamp", "Home Office", 20, 150),
    ("Mechanical Keyboard", "Electronics", 50, 220),
    ("Chef's Knife", "Kitchen", 25, 200),
    ("Rain Jacket", "Apparel", 60, 300),
    ("Camping Lantern", "Outdoors", 15, 70),
    ("Pour-Over Coffee Maker", "Kitchen", 15, 60),
    ("Backpack", "Travel", 35, 200),
    ("Bluetooth Speaker", "Electronics", 25, 300),
    ("Cotton Bath Towel", "Home", 10, 40),
    ("Ceramic Mug", "Kitchen", 8, 30),
    ("Adjustable Dumbbells", "Fitness", 60, 400),
    ("Linen Shirt", "Apparel", 30, 120),
    ("Standing Desk Mat", "Home Office", 30, 110),
    ("Noise-Cancelling Headphones", "Electronics", 80, 450),
    ("Hiking Poles", "Outdoors", 30, 150),
    ("Wool Beanie", "Apparel", 15, 45),
    ("Cutting Board", "Kitchen", 15, 80),
    ("USB-C Charger", "Electronics", 12, 60),
    ("Scented Candle", "Home", 10, 45),
    ("Resistance Bands", "Fitness", 10, 40),
    ("Travel Pillow", "Travel", 15, 50),
    ("Leather Wallet", "Accessories", 25, 120),
    ("Sunglasses", "Accessories", 20, 250),
    ("Down Sleeping Bag", "Outdoors", 90, 450),
    ("French Press", "Kitchen", 20, 70),
    ("Smart Watch Band", "Electronics", 10, 60),
    ("Throw Blanket", "Home", 25, 120),
    ("Bike Helmet", "Sports", 35, 200),
    ("Tennis Racket", "Sports", 40, 250),
    ("Notebook Set", "Stationery", 8, 35),
    ("Fountain Pen", "Stationery", 20, 200),
    ("Plant Pot", "Garden", 10, 60),
    ("Garden Gloves", "Garden", 8, 30),
    ("Carry-On Suitcase", "Travel", 90, 400),
)
_PRODUCT_TOUCHES = ("", "", "", "Classic ", "Pro ", "Lite ", "Everyday ", "Compact ", "Deluxe ")


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


_EVENT_TOPICS = tuple(
    "Jazz|Python|Data Science|Open Source|Street Food|Craft Beer|Photography|Startup|Climate|Film|Poetry|Robotics|Design"
    "|Cloud Native|Indie Game|Urban Gardening|Chess|Wine|Classical Music|Comedy|Book|Yoga|Cybersecurity|Machine Learning"
    "|Blues|Folk Music|Vintage Car|Ceramics|Women in Tech|Product Management|DevOps|Sustainability|Fintech|Salsa|Science"
    "|Local History|Architecture|Coffee|Running|Mobile Dev".split("|")
)
_EVENT_KINDS = tuple("Festival Meetup Conference Summit Workshop Night Fair Expo Hackathon Symposium Showcase Forum Market Days".split())
_EVENT_PREFIXES = ("International", "Community", "Downtown", "Regional", "Annual", "Open", "Global", "City", "Grand", "Spotlight")


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
    "country": lambda ctx, sub, fp: ctx.place.country,
    "country_code": lambda ctx, sub, fp: ctx.place.code,
    "postcode": lambda ctx, sub, fp: _postcode(ctx),
    "currency": lambda ctx, sub, fp: ctx.place.currency,
    "latitude": _s_coordinate("lat"),
    "longitude": _s_coordinate("lon"),
    "company": lambda ctx, sub, fp: ctx.faker(fp.name).company(),
    "job": lambda ctx, sub, fp: ctx.job,
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


# ---------------------------------------------------------------------------------------------
# Derivations: (record context, field subschema, field plan, source values) → value
# ---------------------------------------------------------------------------------------------

Deriver = Callable[[_Ctx, dict[str, Any], FieldPlan, list[Any]], Any]


def _name_parts(values: list[Any]) -> tuple[str, str]:
    """(first, last) from [first, last] or from one full name."""
    if len(values) >= 2:
        return str(values[0]), str(values[-1])
    tokens = str(values[0]).split() if values else []
    return (tokens[0], tokens[-1]) if len(tokens) > 1 else (tokens[0] if tokens else "", "")


def _parse_moment(value: Any) -> datetime | None:
    """A datetime from an ISO date/date-time string or Unix seconds; None if neither."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def _d_after(ctx: _Ctx, sub: dict[str, Any], fp: FieldPlan, values: list[Any]) -> Any:
    """A moment after the source: within a month for ends (`end_date`), else up to the end of
    the window (`updated_at`)."""
    start = _parse_moment(values[0])
    if start is None:
        return _MISSING
    _, window_end = _window(ctx, fp)
    stem = _date_stem(snake_case(fp.name))
    default = "date-time" if isinstance(values[0], str) and "T" in values[0] else "date"
    end = start + timedelta(days=30) if stem in SHORT_SPANS else max(window_end, start)
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


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------

_TRIALS = ((0, 0), (0, 1), (1, 2), (7, 41), (3, 99), (11, 100), (5, 5077), (2, 123_456))


_PLACE_SAMPLERS = frozenset({"city", "country", "country_code", "latitude", "longitude", "postcode"})


def _about_places(props: Mapping[str, dict[str, Any]]) -> bool:
    """True for a record that describes places (a city, its country and numbers about it): it
    needs many distinct cities, more than the sampler's table, so the model names them."""
    kinds = {n: set(_name_samplers(snake_case(n), False)) for n in props}
    if not any("city" in k for k in kinds.values()):
        return False
    return all(k & _PLACE_SAMPLERS or declared_types(props[n]) & {"integer", "number"} for n, k in kinds.items())


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
    out = [(s, f"field name {name!r}{suffix}") for s in _name_samplers(snake_case(name), person)]
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
    if snake_case(name) == "name" and not person:
        return "'name' without person fields (a product, a place?): left to the model"
    if "pattern" in sub:
        return f"pattern {sub['pattern']}: no sampler, left to the model"
    if types & {"integer", "number"}:
        return "unbounded number: left to the model"
    if sub.get("description"):
        return "free text with a hint: left to the model"
    return "free text: left to the model"


def _constraint(issue: ValidationIssue, sub: Mapping[str, Any]) -> str:
    """The broken keyword with its value: 'pattern ^[A-Z]{3}$', 'maxLength 5', 'format email'."""
    keyword = issue.keyword
    if keyword in sub and keyword != "type":
        return f"{keyword} {sub[keyword]}"
    return f"{keyword} ({issue.message[:80]})"


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


def _auto(name: str, sub: dict[str, Any], schema: Any, person: bool, places: bool, plan: RecordPlan) -> FieldPlan:
    """The planner's own choice for a field nobody overrode."""
    fp = FieldPlan(name=name, source=FieldSource.MODEL, reason=_model_reason(name, sub, person))
    options = _candidates(name, sub, person)
    if places and options and options[0][0] in _PLACE_SAMPLERS:
        return fp.model_copy(update={"reason": "the record describes places, more than the city table holds: left to the model"})
    return _choose(fp, options, schema, sub, plan)


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


def _product_fields(
    plans: Mapping[str, FieldPlan], props: Mapping[str, dict[str, Any]], schema: Any, plan: RecordPlan
) -> dict[str, FieldPlan]:
    """In a record about a product (a price, a stock count or an SKU; no person), the model-written
    `name` becomes a sampled product name ("Kestrel Insulated Water Bottle") and `category` its
    department, so the model's description is about a real-sounding thing."""
    snakes = {n: snake_case(n) for n in props}
    if not set(snakes.values()) & PRODUCT_CUES or set(snakes.values()) & PERSON_CUES:
        return {}
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


_KIND_OF_DERIVER = {
    "join_names": "full_name",
    "email_from_name": "email",
    "username_from_name": "username",
    "birth_date_from_age": "birth_date",
    "after": "date_time",
}
_NO_SOURCE = "a source field has no value"


def _kind(fp: FieldPlan) -> str | None:
    """What a filled field holds, as a sampler name (a derived full name is a `full_name`)."""
    if fp.source is FieldSource.SAMPLED:
        return fp.sampler
    return _KIND_OF_DERIVER.get(fp.sampler or "") if fp.source is FieldSource.DERIVED else None


def _date_stem(snake: str) -> str:
    """`created_at` → `created`, `start_date` → `start`."""
    for suffix in ("_at", "_date", "_on", "_time", "_timestamp"):
        if snake.endswith(suffix) and len(snake) > len(suffix):
            return snake[: -len(suffix)]
    return snake


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
    person = bool({snake_case(n) for n in props} & PERSON_CUES)
    places = _about_places(props)
    base = {n: _auto(n, sub, schema, person, places, plan) for n, sub in props.items() if n not in parsed}
    plans = {n: base[n] if n in base else _overridden(n, props[n], parsed[n], schema, person, plan) for n in props}
    plans = _derive(plans, props, schema, base, person, plan)
    plans |= _event_fields(plans, props, schema, plan) | _product_fields(plans, props, schema, plan)
    plan = plan.model_copy(update={"fields": list(plans.values())})
    plan.fill_order()  # raises on a cycle of derived overrides
    return _check_derived(plan, schema, props, base)


def sample_record(plan: RecordPlan, schema: dict[str, Any], *, seed: int, index: int) -> dict[str, Any]:
    """Values of every sampled and derived field of record `index`, deterministic in (seed,
    index). Each value validates against its field's subschema; a value that still breaks it
    after a few redraws is left out, so the model fills that field."""
    props = _properties(schema)
    values, _ = _fill(plan, schema, props, seed, index, attempts=4)
    return {name: values[name] for name in props if name in values}


@lru_cache(maxsize=1)
def _gendered_first_names() -> tuple[frozenset[str], frozenset[str]]:
    from faker.providers.person.en_US import Provider

    female = frozenset(n.casefold() for n in Provider.first_names_female)
    male = frozenset(n.casefold() for n in Provider.first_names_male)
    return female - male, male - female


def pronouns(first_name: str) -> tuple[str, str]:
    """Subject and object pronouns for a person's first name, from Faker's gendered name lists;
    a name in both lists or in neither gets "they"/"them". A small model otherwise writes "his"
    in one sentence of a bio about Maria and "her" in the next."""
    female, male = _gendered_first_names()
    name = first_name.strip().casefold()
    if name in female:
        return "she", "her"
    if name in male:
        return "he", "him"
    return "they", "them"


def persona(seed: int, index: int, *, locale: str = "en_US") -> dict[str, str]:
    """A seeded sketch of record `index` to condition model-written text on, so bios and reviews
    differ record to record. Its name, age, occupation and city are the ones the samplers draw for
    the same (seed, index), so the text agrees with the sampled fields."""
    ctx = _Ctx(seed, index, locale, datetime.now(UTC).date())
    rng = ctx.rng("persona")

    def pick(options: tuple[str, ...]) -> str:
        return options[int(rng.integers(len(options)))]

    return {
        "name": " ".join(ctx.person),
        "age": str(_draw_age(ctx.rng("age"), {})),
        "occupation": ctx.job,
        "city": ctx.place.city,
        "country": ctx.place.country,
        "hobby": ctx.hobbies[0],
        "angle": pick(_ANGLES),
        "tone": pick(_TONES),
        "sentences": str(int(rng.integers(1, 4))),
    }
