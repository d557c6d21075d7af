"""Contradictions within a record: its text against its own fields.

A stated age, birth year or length of time the record's `age` cannot have, the other gender's pronoun for the
record's person, a third-person text slipping into the first person, a near miss of the person's
surname, a price other than the record's, food talk about goods that are no kitchen ware, and an
event that lasts months.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from typing import Any

from apprentice.fieldplan import event_span, is_about_a_person, is_product, person_age, pronouns
from apprentice.fieldplan.vocabulary import PRICE_NAMES, PRODUCT_CUES, PRODUCT_NAMES, department_of
from apprentice.realism.dates import _as_date
from apprentice.realism.defects import Defect, DefectKind
from apprentice.realism.leaves import _escape
from apprentice.shapes.fields import snake_case

_WORD = re.compile(r"[A-Za-z]+")


def _misspelt_names(record: Any) -> list[Defect]:
    """Prose that calls the record's person by a near miss of their surname (name "Matthew
    Larsen", bio "Matthew Larson is a science writer"): a reader sees a typo or another person."""
    if not isinstance(record, dict):
        return []
    name = _person_name(record) or ""
    parts = name.split()
    if len(parts) < 2:
        return []
    first, last = parts[0], parts[-1]
    called = re.compile(rf"\b{re.escape(first)}\s+([A-Z][\w'-]+)")
    found = []
    for field, value in record.items():
        if not isinstance(value, str) or snake_case(str(field)) in _NAME_FIELDS:
            continue
        near = next((m.group(1) for m in called.finditer(value) if _near_miss(m.group(1), last)), None)
        if near:
            message = f"calls {name} {first + ' ' + near!r}"
            found.append(Defect(kind=DefectKind.BROKEN_CONSTRAINT, path="/" + _escape(str(field)), message=message))
    return found


_FOOD_WORDS = re.compile(r"\b(bacon|sausages?|foodies?|cuisine|tasty|delicious|breakfast|gourmet|flavou?rs?)\b", re.IGNORECASE)
_FOOD_DEPARTMENTS = frozenset({"Kitchen", "Home", "Outdoors", "Garden"})  # a candle's "delicious scent", a camping breakfast
_DESCRIPTION_FIELDS = frozenset({"description", "summary", "overview", "product_description", "short_description"})
_QUOTES = ('"', "\u201c", "\u201d")
_REVIEWER_I = re.compile(  # a reviewer's opinion, not "Part I", "Type I diabetes" or a maker's "I make each mug"
    r"(?<![\w-])(?:I'm|I've|I'd|I(?:\s+(?:also|really|just|truly|absolutely))?\s+"
    r"(?:love|like|enjoy|recommend|adore|bought|purchased|am|was|think|feel|don't|can't|won't|highly|personally))\b"
)


def _sold(record: Any) -> bool:
    """A record with a price, a stock count or an SKU (a person in it too, unlike `is_product`)."""
    return isinstance(record, dict) and bool({snake_case(str(k)) for k in record} & PRODUCT_CUES)


def _tasty_product(name: str) -> re.Pattern[str]:
    """The product itself called tasty ("this delicious plant pot", "a gourmet, sustainable
    home-based product", "It's delicious"): for garden, home and outdoor goods, whose text may
    speak of food about something else (a garden's herbs, a candle's scent, a camp breakfast).
    Kitchen goods may say anything about food ("cook delicious meals with this skillet")."""
    head = re.escape(name.split()[-1].casefold().removesuffix("s")) if name.split() else "$^"
    adjective = r"(tasty|delicious|yummy|gourmet|flavou?rful)"
    before_the_thing = rf"\b{adjective},?\s+(?:[\w-]+,?\s+){{0,2}}(?:{head}|item|product)s?\b"
    said_of_it = rf"(?:^|[.!?]\s+)(?:it's|it is)\s+(?:so\s+|very\s+|truly\s+)?{adjective}\b"
    said_of_the_thing = rf"\b{head}s?\s+(?:is|are|looks?|tastes?)\s+(?:so\s+|very\s+|truly\s+)?{adjective}\b"
    return re.compile(f"{before_the_thing}|{said_of_it}|{said_of_the_thing}", re.IGNORECASE)


def _food_talk(record: Any) -> list[Defect]:
    """A product's text that talks about food when the product is no kitchen ware: SmolLM2 wrote
    of a plant pot for "all foodies" and a rain jacket's "delightful breakfast of bacon" and
    "subtle blend of flavors". Goods whose text may well speak of food (kitchen, garden, home,
    outdoors) only when the product itself is called tasty: a plant pot was "delicious" in the
    realism bench. Kitchen goods are left alone."""
    if not _sold(record):
        return []
    name = next((v for k, v in record.items() if snake_case(str(k)) in PRODUCT_NAMES and isinstance(v, str)), "")
    department = department_of(name)
    if department is None or department == "Kitchen":
        return []
    talk = _tasty_product(name) if department in _FOOD_DEPARTMENTS else _FOOD_WORDS
    found = []
    for field, value in record.items():
        food = talk.search(value) if isinstance(value, str) and value != name else None
        if food:
            message = f"talks about food ({food.group()!r}), but {name} is sold under {department}"
            found.append(Defect(kind=DefectKind.BROKEN_CONSTRAINT, path="/" + _escape(str(field)), message=message))
    return found


def _reviewer_voice(record: Any) -> list[Defect]:
    """A product's description in a reviewer's first person ("one of the best you've ever had, and
    I'm not going to ignore it", read in the realism bench): a seller writes "we", a review "I";
    a `review` or `comment` field may well say "I"."""
    if not _sold(record):
        return []
    found = []
    for field, value in record.items():
        said = _REVIEWER_I.search(value) if isinstance(value, str) and snake_case(str(field)) in _DESCRIPTION_FIELDS else None
        if said and not any(q in value for q in _QUOTES):
            message = f"describes the product in a reviewer's first person ({said.group()!r})"
            found.append(Defect(kind=DefectKind.BROKEN_CONSTRAINT, path="/" + _escape(str(field)), message=message))
    return found


_DOLLARS = frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"})
_CURRENCY_UNITS = {"$": _DOLLARS, "dollars": _DOLLARS, "usd": frozenset({"USD"}), "€": frozenset({"EUR"}), "euros": frozenset({"EUR"})}
_CURRENCY_UNITS |= {"eur": frozenset({"EUR"}), "£": frozenset({"GBP"}), "gbp": frozenset({"GBP"})}  # "pounds" is a weight as often
_AMOUNT = r"(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
_STATED_PRICE = re.compile(rf"([$€£])\s?{_AMOUNT}(?!\d)|(?<![\d.,]){_AMOUNT}\s?(dollars|euros|USD|EUR|GBP)\b", re.IGNORECASE)
_A_DEAL_BEFORE = re.compile(r"(\b(over|under|save|saves|saving|was|from|below|above|extra)|\d+\s+for)\s*$", re.IGNORECASE)
_A_DEAL_AFTER = re.compile(r"^\s*(off|less|more|discount|shipping)\b", re.IGNORECASE)


def _price_contradictions(record: Any) -> list[Defect]:
    """A product's prose that quotes one price, and not the record's (`price: 113.99, currency:
    EUR`, description "a steal at $130"): told only the product's name, the model invents one.
    Deals and comparisons ("2 for $10", "$5 off", "orders over $50", "was $20") and texts with
    several amounts are left alone."""
    if not isinstance(record, dict) or not is_product(record):
        return []
    prices = [float(v) for k, v in record.items() if snake_case(str(k)) in PRICE_NAMES and _a_number(v)]
    currency = next((str(v).upper() for k, v in record.items() if snake_case(str(k)) == "currency" and isinstance(v, str)), None)
    found = []
    for field, value in record.items():
        quoted = _quoted_prices(value) if prices and isinstance(value, str) and len(value.split()) >= 4 else []
        if len(quoted) != 1:
            continue
        amount, units = quoted[0]
        if all(abs(amount - p) > 0.01 for p in prices) or (currency in _KNOWN_CURRENCIES and currency not in units):
            message = f"says {amount:g} where the record's price is {prices[0]:g} {currency or ''}".rstrip()
            found.append(Defect(kind=DefectKind.BROKEN_CONSTRAINT, path="/" + _escape(str(field)), message=message))
    return found


def _a_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_KNOWN_CURRENCIES = frozenset().union(*_CURRENCY_UNITS.values())


def _quoted_prices(text: str) -> list[tuple[float, frozenset[str]]]:
    """The distinct prices a text quotes (not deals), each with the currencies its sign or word allows."""
    quoted = {}
    for match in _STATED_PRICE.finditer(text):
        if _A_DEAL_BEFORE.search(text[: match.start()]) or _A_DEAL_AFTER.match(text[match.end() :]):
            continue
        sign, amount, number, word = match.groups()
        digits = amount or number
        value = float(digits.replace(",", ".") if re.fullmatch(r"\d+,\d{2}", digits) else digits.replace(",", ""))
        quoted[value] = _CURRENCY_UNITS[(sign or word).casefold()]
    return list(quoted.items())


def _near_miss(word: str, surname: str) -> bool:
    word = word.removesuffix("'s").removesuffix("’s")  # "Linda Snyder's parents" is her own surname
    return word != surname and difflib.SequenceMatcher(None, word.casefold(), surname.casefold()).ratio() >= 0.6


EVENT_DAYS = 14
"""An event (a festival, a conference) lasts hours or days: one over two weeks is a made-up span."""


def _event_too_long(record: Any) -> list[Defect]:
    """A record about an event (`fieldplan.event_span`) that lasts months: `starts_at` in June,
    `ends_at` the next March."""
    span = event_span(record) if isinstance(record, dict) else None
    if span is None:
        return []
    start, end = (_as_date(record[k]) if isinstance(record[k], str) else None for k in span)
    if not (start and start[1] and end and end[1]):
        return []
    days = (end[1] - start[1]).total_seconds() / 86400
    if days <= EVENT_DAYS:
        return []
    message = f"an event that lasts {days:.0f} days ({span[0]} to {span[1]})"
    return [Defect(kind=DefectKind.IMPLAUSIBLE_DATE, path="/" + _escape(span[1]), message=message)]


_UNITS = tuple(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
)
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_AGE_WORDS = {word: n for n, word in enumerate(_UNITS, 1)} | {
    f"{ten}-{unit}" if unit else ten: 20 + 10 * t + u for t, ten in enumerate(_TENS) for u, unit in enumerate(("",) + _UNITS[:9])
}
_AGE = r"(\d{1,3}|" + "|".join(sorted(_AGE_WORDS, key=len, reverse=True)) + ")"
_STATED_AGE = re.compile(rf"\b{_AGE}[- ]years?[- ]old\b|\baged {_AGE}\b|\bage of {_AGE}\b", re.IGNORECASE)


def _age_number(stated: str) -> int:
    return int(stated) if stated.isdigit() else _AGE_WORDS[stated.casefold()]


def _age_contradictions(record: Any) -> list[Defect]:
    """Prose that states an age other than the record's own (`age: 67`, bio "a 25-year-old
    nurse"): the text is about someone else, or the model copied another number."""
    age = person_age(record)
    if age is None:
        return []
    found = []
    for name, value in record.items():
        stated = [_age_number(g) for m in _STATED_AGE.finditer(value) for g in m.groups() if g] if isinstance(value, str) else []
        if stated and age not in stated:  # "a 34-year-old nurse with a 3-year-old cat" is fine
            message = f"says {stated[0]} years old where the record's age is {age}"
            found.append(Defect(kind=DefectKind.BROKEN_CONSTRAINT, path="/" + _escape(str(name)), message=message))
    return found


_BORN_IN = re.compile(r"\bborn in (\d{4})\b", re.IGNORECASE)


def _birth_year_contradictions(record: Any, now: datetime) -> list[Defect]:
    """Prose that gives a birth year the record's age cannot have (`age: 23`, "born in 1934")."""
    age = person_age(record)
    if age is None:
        return []
    found = []
    for name, value in record.items():
        years = [int(m.group(1)) for m in _BORN_IN.finditer(value)] if isinstance(value, str) else []
        wrong = next((year for year in years if abs(now.year - year - age) > 1), None)
        if wrong is not None:
            message = f"says born in {wrong} where the record's age is {age}"
            found.append(Defect(kind=DefectKind.BROKEN_CONSTRAINT, path="/" + _escape(str(name)), message=message))
    return found


_DURATION = re.compile(
    rf"\bfor\s+(?:(?:over|more than|nearly|almost|about|around|the past|the last|well over)\s+)?{_AGE}\+?\s+years\b"
    rf"|\b{_AGE}\+?\s+years\s+of\s+(?:experience|practice|teaching|coaching|nursing|service|work|working|playing|training)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?]+")
_KIN = "parents|grandparents|father|mother|grandfather|grandmother|husband|wife|son|daughter|brother|sister|partner"
_SOMETHING_ELSE = re.compile(
    rf"\b(that|which|whose|family|company|business|tradition|{_KIN})\b|\b(?!(?:she|he|it|that|there)'s)\w+'s\b", re.IGNORECASE
)


def _durations_longer_than_life(record: Any) -> list[Defect]:
    """A person's text that says they have done something for longer than they have lived (`age:
    18`, "has been doing it for over 20 years now"), read in the nightly. Only sentences about the
    person count: opening with their first name, or with "He", "She" or "I" in a text that names
    nobody else; and only up to a "that", "which", a relative or a possessive, so "She lives in a
    house that has stood for 200 years" and "her grandfather's shop, open for 120 years" are no
    contradiction."""
    age = person_age(record)
    if age is None:
        return []
    name = _person_name(record) or ""
    found = []
    for field, value in record.items():
        if not isinstance(value, str) or snake_case(str(field)) in _NAME_FIELDS:
            continue
        openings = _openings_about_the_person(value, name)
        longest = max((_years_said(s) for s in _SENTENCE.findall(value) if s.strip().casefold().startswith(openings)), default=0)
        if longest > age:
            message = f"gives {longest} years at something where the record's age is {age}"
            found.append(Defect(kind=DefectKind.BROKEN_CONSTRAINT, path="/" + _escape(str(field)), message=message))
    return found


def _openings_about_the_person(text: str, name: str) -> tuple[str, ...]:
    """How a sentence about the person starts: their first name, or a personal pronoun unless the
    text names another person (a first name from Faker's lists; "New York City" is no one)."""
    own = set(name.split())
    first = tuple(f"{part.casefold()} " for part in name.split()[:1])
    capitals = (c for c in _MID_SENTENCE_CAPITAL.findall(text) if c not in own)
    someone_else = any(pronouns(c)[0] != "they" for c in capitals)
    return first if someone_else else (*first, "he ", "she ", "he's ", "she's ", "i ", "i've ")


def _years_said(sentence: str) -> int:
    """The longest duration a sentence gives its subject, before anything else becomes its subject."""
    other = _SOMETHING_ELSE.search(sentence)
    own = sentence[: other.start()] if other else sentence
    return max((_age_number(g) for m in _DURATION.finditer(own) for g in m.groups() if g), default=0)


_NAME_FIELDS = ("name", "full_name", "first_name")


def _person_name(record: dict[str, Any]) -> str | None:
    """The record's person's name (its `name`, `full_name` or `first_name`), if it has one."""
    return next((v for k, v in record.items() if snake_case(str(k)) in _NAME_FIELDS and isinstance(v, str) and v.strip()), None)


_SENTENCE_PRONOUN = re.compile(r"(?:^|[.!?]\s+)(He|She)\b")
_GENDERED = {"he": frozenset({"he", "him", "his", "himself"}), "she": frozenset({"she", "her", "hers", "herself"})}
_MID_SENTENCE_CAPITAL = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+)")


def _pronoun_contradictions(record: Any) -> list[Defect]:
    """Prose that calls the record's person by the other gender's pronoun (Amanda ... "He enjoys
    swimming"): the first sentence that starts with "He" or "She" is about the person, and a name
    that Faker's lists give one gender fixes which. Other people in the text ("her dedication",
    of a mentor) rarely start a sentence in a two-sentence bio, so only sentence starts count."""
    if not isinstance(record, dict):
        return []
    name = _person_name(record)
    first = name.split()[0] if name else ""
    expected = pronouns(first)[0] if first else "they"
    if expected == "they":
        return []
    found = []
    for field, value in record.items():
        if not isinstance(value, str) or snake_case(str(field)) in _NAME_FIELDS:
            continue
        said = _SENTENCE_PRONOUN.search(value)
        wrong = said.group(1) if said and said.group(1).casefold() != expected else _only_the_other_pronoun(value, expected, name or "")
        if wrong:
            message = f"calls {first} {wrong!r} where the name says {expected!r}"
            found.append(Defect(kind=DefectKind.BROKEN_CONSTRAINT, path="/" + _escape(str(field)), message=message))
    return found


_FIRST_PERSON = re.compile(r"\b(I|I'm|I've|I'll|I'd|[Mm]y|[Mm]ine|me|[Ww]e|[Oo]ur|[Oo]urs)\b")  # not "us": "books that remind us"


def _first_person_slips(record: Any) -> list[Defect]:
    """A text about the record's person, opened in the third person ("Jimmy Scott is a minerals
    surveyor"), that slips into the first ("…two passions of mine. We love to create our own"):
    seen in the nightly. Only records about a person (an email, an age, a bio...: `PERSON_CUES`)
    are read: an event named "Summer Jazz Night" may well say "join us". A text with quotation
    marks may quote the person, so it is left alone."""
    name = _person_name(record) if isinstance(record, dict) and is_about_a_person(map(str, record)) else None
    if not name:
        return []
    found = []
    for field, value in record.items():
        if (
            not isinstance(value, str)
            or not value.startswith(name.split()[0])
            or snake_case(str(field)) in _NAME_FIELDS
            or any(q in value for q in _QUOTES)
        ):
            continue
        slip = _FIRST_PERSON.search(value)
        if slip:
            message = f"starts about {name} and slips into the first person ({slip.group()!r})"
            found.append(Defect(kind=DefectKind.BROKEN_CONSTRAINT, path="/" + _escape(str(field)), message=message))
    return found


def _only_the_other_pronoun(text: str, expected: str, name: str) -> str | None:
    """The other gender's pronoun in a text that never uses the person's own and names nobody
    else ("Amanda Lynch ... makes his clients happy"); with someone else named mid-sentence
    ("works with Tom on his farm") the pronoun may be theirs."""
    words = _WORD.findall(text)
    said = {w.casefold() for w in words}
    other = _GENDERED["she" if expected == "he" else "he"]
    if said & _GENDERED[expected] or not said & other:
        return None
    own = set(name.split())
    if any(capital not in own for capital in _MID_SENTENCE_CAPITAL.findall(text)):
        return None
    return next(w for w in words if w.casefold() in other)
