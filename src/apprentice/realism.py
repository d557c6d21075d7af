"""Deterministic realism checks: what makes a person throw a schema-valid record away.

A small model's record can pass its JSON Schema and still be useless: a bio that repeats the
shape's hint ("A two-sentence biography of a person."), a placeholder ("string", "[Your Bio]",
"Lorem ipsum", `user@example.com`), JSON or chat debris inside a string (`"type':'array"`,
`]}\\nThe bio is indeed two sentences`, "Here is..."), a date in the year 0948, or the same email
as the record before. `check_record` finds what one record shows by itself; `DatasetChecker`
adds what needs the other records (duplicate identifiers, near-duplicate texts) and sums it all
up in a `RealismReport`. No model is called: every check is a rule, and every defect carries a
JSON-pointer path and a one-line message that a correction prompt can quote.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from apprentice.fieldplan import event_span, pronouns
from apprentice.fieldplan.vocabulary import PRODUCT_CUES, PRODUCT_NAMES, department_of
from apprentice.shapes.fields import resolve_ref, snake_case
from apprentice.shapes.validate import validate

__all__ = [
    "DatasetChecker",
    "Defect",
    "DefectKind",
    "FieldRealism",
    "RealismReport",
    "check_record",
    "hints_of",
    "identifier_name",
    "is_prose_hint",
]


class DefectKind(StrEnum):
    """What is wrong with a value, beyond its schema."""

    ECHO = "echo"
    PLACEHOLDER = "placeholder"
    DEBRIS = "debris"
    IMPLAUSIBLE_DATE = "implausible_date"
    DUPLICATE_IDENTIFIER = "duplicate_identifier"
    NEAR_DUPLICATE = "near_duplicate"
    BROKEN_CONSTRAINT = "broken_constraint"
    TRUNCATED = "truncated"


class Defect(BaseModel):
    """One defect: its kind, where (JSON pointer, e.g. `/bio`) and a one-line message."""

    kind: DefectKind
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


# ---------------------------------------------------------------------------------------------
# Walking a record alongside its schema
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Leaf:
    """A scalar of the record: its pointer, its schema key (array indices as `*`), the name of
    the property it sits under, its value and its subschema."""

    pointer: str
    key: str
    name: str
    value: Any
    sub: Mapping[str, Any]


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _child(sub: Mapping[str, Any], part: str | int, root: Any) -> Mapping[str, Any]:
    """The subschema for an object property or an array item."""
    if isinstance(part, int):
        prefix = sub.get("prefixItems")
        if isinstance(prefix, list) and part < len(prefix):
            return resolve_ref(prefix[part], root)
        return resolve_ref(sub.get("items"), root)
    props = sub.get("properties")
    if isinstance(props, dict) and part in props:
        return resolve_ref(props[part], root)
    return resolve_ref(sub.get("additionalProperties"), root)


def _leaves(value: Any, sub: Mapping[str, Any], root: Any, pointer: str = "", key: str = "", name: str = "") -> Iterator[_Leaf]:
    """Every scalar of `value`, depth first, with its subschema."""
    if isinstance(value, dict):
        for part, child in value.items():
            step = "/" + _escape(str(part))
            yield from _leaves(child, _child(sub, str(part), root), root, pointer + step, key + step, str(part))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _leaves(child, _child(sub, i, root), root, f"{pointer}/{i}", key + "/*", name)
    elif value is not None:
        yield _Leaf(pointer, key, name, value, sub)


def _hint_texts(schema: Any) -> dict[str, list[tuple[str, str]]]:
    """(keyword, text) pairs per schema key: `description`, `title` and string `examples`."""
    out: dict[str, list[tuple[str, str]]] = {}

    def walk(sub: Any, key: str, depth: int) -> None:
        sub = resolve_ref(sub, schema)
        examples = sub.get("examples")
        pairs = [("description", sub.get("description")), ("title", sub.get("title"))]
        pairs += [("examples", e) for e in (examples if isinstance(examples, list) else [])]
        found = [(kw, t.strip()) for kw, t in pairs if isinstance(t, str) and t.strip()]
        if found and key:
            out[key] = found
        if depth > 20:
            return
        for name, child in (sub.get("properties") or {}).items():
            walk(child, f"{key}/{_escape(name)}", depth + 1)
        if isinstance(sub.get("items"), dict):
            walk(sub["items"], f"{key}/*", depth + 1)

    walk(schema, "", 0)
    return out


def hints_of(schema: Any) -> dict[str, str]:
    """The hint texts per field, keyed by JSON pointer (`*` for array items): its `description`
    (where a shape from an example keeps its hint), `title` and string `examples`, one a line."""
    return {key: "\n".join(text for _, text in pairs) for key, pairs in _hint_texts(schema).items()}


# ---------------------------------------------------------------------------------------------
# Text normalisation
# ---------------------------------------------------------------------------------------------

_STOP = frozenset("a an the of and or to in on for with is are was be this that it its as by at from about one".split())


def _norm(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces: 'A two-sentence bio.' → 'a two sentence bio'."""
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def _content(text: str) -> list[str]:
    """Content words, lightly stemmed (a plural 's' dropped)."""
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _norm(text).split() if w not in _STOP]


def _clip(text: str, limit: int = 48) -> str:
    """A short quotation of `text` for a message (quote it with !r, which escapes newlines)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Per-value checks
# ---------------------------------------------------------------------------------------------


def _echoes(value: str, hint: str) -> bool:
    """True when `value` is the hint, contains it, or has most of its words and little else
    (token coverage ≥ 0.8), or is nearly the same string (difflib ratio ≥ 0.8)."""
    nv, nh = _norm(value), _norm(hint)
    if not nv or not nh:
        return False
    if nv == nh or (len(nh.split()) >= 3 and f" {nh} " in f" {nv} "):
        return True
    hint_words, value_words = set(_content(hint)), _content(value)
    short = len(value_words) <= 2 * len(hint_words) + 4
    if len(hint_words) >= 2 and short and len(hint_words & set(value_words)) / len(hint_words) >= 0.8:
        return True
    return len(nh) >= 8 and difflib.SequenceMatcher(None, nv, nh).ratio() >= 0.8


def _echo(leaf: _Leaf, hints: Mapping[str, list[tuple[str, str]]]) -> str | None:
    """The hint a string value repeats, or the field name it merely restates. A description
    counts when it is repeated or mostly repeated; a title only when repeated exactly; an example
    only when it is a phrase of four words or more (a short example is a fine value)."""
    for keyword, hint in hints.get(leaf.key, []):
        if keyword == "title":
            hit = _norm(leaf.value) == _norm(hint)
        else:
            hit = (keyword == "description" or len(_norm(hint).split()) >= 4) and _echoes(leaf.value, hint)
        if hit:
            what = "hint" if keyword == "description" else keyword[:-1] if keyword == "examples" else keyword
            return f"repeats the shape's {what} {_clip(hint)!r}"
    if leaf.name and _norm(leaf.value) == _norm(leaf.name.replace("_", " ")):
        return f"restates the field name {leaf.name!r}"
    for key, pairs in hints.items():  # another field's hint written into this one
        for keyword, hint in pairs:
            nh = _norm(hint)
            if key != leaf.key and keyword == "description" and len(nh.split()) >= 3 and f" {nh} " in f" {_norm(leaf.value)} ":
                return f"repeats the hint of {key} {_clip(hint)!r}"
    return None


_PLACEHOLDER_VALUES = frozenset(
    {
        "string",
        "str",
        "example",
        "text",
        "sample",
        "sample text",
        "test",
        "testing",
        "foo",
        "bar",
        "baz",
        "foobar",
        "todo",
        "tbd",
        "tbc",
        "fixme",
        "n a",
        "null",
        "nil",
        "undefined",
        "placeholder",
        "dummy",
        "xxx",
        "xxxx",
        "asdf",
        "qwerty",
        "lorem",
        "john doe",
        "jane doe",
        "your name",
        "your bio",
        "your email",
        "insert text here",
        "description",
        "some text",
        "name",
        "title",
        # JSON Schema words a small model writes as values
        "type",
        "array",
        "object",
        "bool",
        "boolean",
        "integer",
        "number",
        "items",
        "properties",
        "required",
        "enum",
        "format",
        "date time",
        "minitems",
        "maxitems",
        "minlength",
        "maxlength",
        "json",
        "schema",
    }
)
_PLACEHOLDER_PATTERNS = (
    (re.compile(r"^\s*(\[[^\[\]\"']{1,40}\]|<[^<>\"']{1,40}>|\{\{?[^{}\"']{1,40}\}?\})\s*$"), "a template slot"),
    (re.compile(r"\blorem ipsum\b", re.IGNORECASE), "lorem ipsum"),
    (
        re.compile(r"\[[a-z]+(_[a-z]+)+\]|\[(occupation|job title|company|name|city|country|date|hobby|age)\]", re.IGNORECASE),
        "a template slot",
    ),
    # "meet him at the [address]", "flying over [land]", "[Your Name]": no real text brackets a word or two
    (
        re.compile(
            r"\[(?!sic\])(your |the |a )?[a-z]+( [a-z]+)?\]|\[Your [A-Z]?[a-z]+( [A-Z]?[a-z]+)?\]|\[[A-Z][a-z]+( [A-Z][a-z]+){1,3}\]"
        ),
        "a template slot",
    ),
    (re.compile(r"\{\{[^{}\"]{0,40}\}\}"), "a template slot"),  # "{{#1}} This product is not available…"
    (
        re.compile(r"\b(insert|enter|add) (your|a|the) \w+( \w+)? here\b|\byour \w+( \w+)? (goes )?here\b", re.IGNORECASE),
        "a fill-in instruction",
    ),
    (re.compile(r"\bx{3,}\b", re.IGNORECASE), "an 'xxx' filler"),
    (re.compile(r"\b(TODO|TBD|FIXME)\b"), "a TODO marker"),
)
_GENERIC_EMAIL = re.compile(
    r"^(user|email|e-?mail|test|example|name|someone|somebody|foo|bar|sample|demo|john\.?doe|jane\.?doe"
    r"|first\.?name\.?last\.?name|first\.?last|your\.?(name|email)|username|abc|xyz)\d*@",
    re.IGNORECASE,
)


def _placeholder(leaf: _Leaf) -> str | None:
    """Why a string is a placeholder rather than a value, or None."""
    text: str = leaf.value
    if (
        _norm(text) in _PLACEHOLDER_VALUES
        or _norm(text.rstrip(":")) in _PLACEHOLDER_VALUES
        or not _norm(text)
        and text.strip() in ("-", "--", "?", "...", "…")
    ):
        return f"is a placeholder ({_clip(text)!r})"
    if _GENERIC_EMAIL.match(text.strip()):
        return f"is a generic placeholder address ({_clip(text)!r})"
    digits = re.sub(r"\D", "", text)
    dummy = len(set(digits)) == 1 or digits in "01234567890" or digits.endswith("5555555")
    if len(digits) >= 7 and dummy and re.fullmatch(r"[\d\s()+.\-]+", text.strip()):
        return f"is a placeholder number ({_clip(text)!r})"
    for pattern, what in _PLACEHOLDER_PATTERNS:
        if pattern.search(text):
            return f"contains {what} ({_clip(text)!r})"
    return None


_DEBRIS_PATTERNS = (
    (re.compile(r"[\"']\s*:\s*[\"'\[{]|\"\s*:"), "a JSON key fragment"),
    (re.compile(r"[\"'](type|properties|required|items|additionalProperties|enum|\$schema|\$ref)[\"']"), "a JSON Schema keyword"),
    (
        re.compile(
            r"\n\s*(\(?note\b|the (bio|description|text|json|record|output|response|answer|above|field|value|sentence|summary|\w+ field)"
            r" (is|has|was|contains|are)\b|this (json|record|response|output|answer)\b|here(\s+is|\s+are|'s)\b"
            r"|explanation\b|i hope\b|i have\b|i've\b|let me\b|please note\b|as requested\b|output:|json\b|remember\b)",
            re.IGNORECASE,
        ),
        "commentary after a newline",
    ),
    (
        re.compile(
            r"\bas an ai\b|\bas a language model\b|\bi cannot (help|provide|generate)\b"
            r"|(^|\n)\s*(sure|certainly|of course)[,!]\s+(here|i\b|i'll|i can|below)|(^|\n)\s*(here is|here's|here are|below is)\b",
            re.IGNORECASE,
        ),
        "assistant chatter",
    ),
    (re.compile(r"`"), "backticks"),
    (re.compile(r"\[\^|\[\*|\[\|"), "markup fragments"),
    (
        re.compile(
            r"\bstart(s|ed|ing)? (the )?(texts?|texting|writing)\b|\bfacts already set\b|\bthe product: |\b(angle|tone): "
            r"|\bdo not copy them\b|\bagrees? "
            r"with them\b"
            r"|\brefer(s|red|ring)? to (him|her|them) as\b",
            re.IGNORECASE,
        ),
        "the prompt's own words",
    ),
    (
        re.compile(
            r"\b(this|the) (record|json|document|schema|field)\b|\brecord number\b|\bthis person has\b|\b(two|2)[ -]sentences? (about|on)\b"
            r"|\b(i'll|i will) (provide|give|write|create) you\b"
            r"|\b(his|her|their) (first )?name is\b|\bother people's names?\b",
            re.IGNORECASE,
        ),
        "talk about the record instead of its content",
    ),
    (re.compile(r"</?[a-z][a-z0-9]*(\s[^<>]*)?/?>|<[a-z][a-z0-9]*\s+[a-z-]+\s*=|</[a-z]", re.IGNORECASE), "a markup tag"),
    (re.compile(r"\\[nrt\"'/u\\]"), "escape sequences"),
    (re.compile(r"\n\s*[.!?,;:]+\s*$"), "a stray line of punctuation"),
    (re.compile(r"(^|\n)\s*#{1,6}\s|\*\*[^*\n]+\*\*"), "markdown"),
)


_SURROGATE = re.compile("[\ud800-\udfff]")
_TOKEN_RUN = re.compile(r"[A-Za-z\d/+=]{20,}")
_WORD = re.compile(r"[A-Za-z]+")
_NUMBER_SOUP = re.compile(r"\d+(?:\.\d+){4,}")
_MACHINE_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b")


_INFLECTIONS = ("s", "es", "ed", "ing", "er", "ers")


_NEIGHBOURS = re.compile(r"(?=\b([A-Za-z]{4,})\s+(to\s+)?([A-Za-z]{4,})\b)")


def _stutter(text: str) -> str | None:
    """A word said again at once in another form ("loves sail sailing", "loves to love
    gardening"): a small model's garble. The same word twice ("day to day") and forms apart
    ("to paint; painting is") are left alone."""
    for match in _NEIGHBOURS.finditer(text):
        first, to, second = match.groups()
        if first.casefold() != second.casefold() and _inflected(first.casefold(), second.casefold()):
            return f"{first} {to or ''}{second}"
    return None


def _inflected(a: str, b: str) -> bool:
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and long.startswith(short) and long[len(short) :] in _INFLECTIONS


def _repeated_sentence(text: str) -> str | None:
    """A sentence of four words or more that the same text says twice, or None."""
    seen: set[str] = set()
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        words = re.findall(r"\w+", sentence.casefold())
        key = " ".join(words)
        if len(words) >= PROSE_MIN_WORDS and key in seen:
            return sentence
        seen.add(key)
    return None


def _balanced(text: str) -> bool:
    """Square and curly brackets open before they close and all close (`][` does not)."""
    stack: list[str] = []
    for ch in text:
        if ch in "[{":
            stack.append(ch)
        elif ch in "]}":
            if not stack or stack.pop() != {"]": "[", "}": "{"}[ch]:
                return False
    return not stack


PROSE_HINT = re.compile(r"\b(sentences?|paragraphs?|biography|bio|summary|review|description|story)\b", re.IGNORECASE)
"""A hint that asks for prose: its value must read as text, not as a word or two."""
PROSE_MIN_WORDS = 4
_SHORT_HINT = re.compile(
    r"\b(headlines?|titles?|names?|labels?|taglines?|slogans?|subject( line)?|captions?|keywords?|tags?)\b", re.IGNORECASE
)
"""A hint for a short text ("A short headline of the review") is not a prose hint."""


def is_prose_hint(hint: Any) -> bool:
    """The hint asks for sentences (a biography, a review, a description), not a headline."""
    return isinstance(hint, str) and bool(PROSE_HINT.search(hint)) and not _SHORT_HINT.search(hint)


def _not_prose(leaf: _Leaf, hints: Mapping[str, list[tuple[str, str]]]) -> str | None:
    """A prose field (its hint asks for sentences, a biography, a description...) holding a word
    or two, e.g. a name or `][`."""
    asked = next((h for k, h in hints.get(leaf.key, []) if k == "description" and is_prose_hint(h)), None)
    words = len(re.findall(r"[^\W\d_]{2,}", leaf.value))
    if asked and words < PROSE_MIN_WORDS:
        return f"is not prose ({_clip(leaf.value)!r}, {words} words) where the shape asks for {_clip(asked)!r}"
    return None


_PROSE_NAMES = frozenset(
    {"bio", "biography", "about", "about_me", "description", "summary", "review", "story", "comment", "body", "overview"}
)
_SENTENCE_END = re.compile(r"[.!?…)\]\"'”’»]\s*$")


def _prose_field(leaf: _Leaf, hints: Mapping[str, list[tuple[str, str]]]) -> bool:
    """A field for sentences: its hint asks for prose, or its name is bio, description, review…"""
    hinted = any(k == "description" and is_prose_hint(h) for k, h in hints.get(leaf.key, []))
    return leaf.pointer.count("/") == 1 and (hinted or snake_case(leaf.name) in _PROSE_NAMES)


# Not "her": a sentence may well end on it ("...shares her garden with her.")
_DANGLING = re.compile(
    r"\b(and|or|but|nor|the|a|an|of|to|in|on|at|with|for|from|by|as|his|their|its|your|my|our|which|that|who|whose|is|are|was|were"
    r"|he's|she's|it's|they're|he|she)\s*[.!?]$",
    re.IGNORECASE,
)


_SPACED_STOP = re.compile(r"\S\s+[.!?]$")
"""A full stop after a space ("...enhances the user's .", "The item's price: ."): a grammar forced
the end where the model had more to say."""


def _truncated(leaf: _Leaf, hints: Mapping[str, list[tuple[str, str]]]) -> str | None:
    """Prose of a few words or more that stops mid-sentence ('...responsible of designing a'),
    also when a grammar forced a full stop after a dangling word ('...in any city or!')."""
    text = leaf.value.strip()
    if len(text.split()) < PROSE_MIN_WORDS or not _prose_field(leaf, hints):
        return None
    if not _SENTENCE_END.search(text) or _DANGLING.search(text) or _SPACED_STOP.search(text):
        return f"stops mid-sentence ({_clip(text[-40:])!r})"
    return None


_SLOT_IN_PROSE = re.compile(
    r"\{[A-Z][^{}\"]{0,40}\}|\[[A-Z][0-9]?\]|\[(Currency|Price|Brand|Product|Category|Company|Location|Address|Email|Phone|Url|Link)\]"
)


def _slot_in_prose(leaf: _Leaf, hints: Mapping[str, list[tuple[str, str]]]) -> str | None:
    """Template slots in prose ("{Juniper Sunglasses} is…", "featuring [X]", "at [Currency]");
    outside prose, `{Name}` or `[A1]` may be a real value (a URL template, a cell)."""
    if _prose_field(leaf, hints) and (slot := _SLOT_IN_PROSE.search(leaf.value)):
        return f"contains a template slot ({_clip(leaf.value[max(slot.start() - 12, 0) :])!r})"
    return None


def _table_in_prose(leaf: _Leaf, hints: Mapping[str, list[tuple[str, str]]]) -> str | None:
    """Prose with cells between pipes ("Willow Smart Watch Band (2019) | Amazon Revenge | 2020 |…")."""
    if _prose_field(leaf, hints) and leaf.value.count("|") >= 2:
        return f"contains a table row ({_clip(leaf.value)!r})"
    return None


def _debris(leaf: _Leaf) -> str | None:
    """Why a string holds JSON, markup or chat fragments rather than a plain value, or None."""
    text: str = leaf.value
    if re.fullmatch(r"\s*(\{.*\}|\[.*\])\s*", text, re.DOTALL) and re.search(r"[\"':,]", text):
        return f"is JSON inside a string ({_clip(text)!r})"
    if not _balanced(text):
        return f"has unbalanced brackets ({_clip(text)!r})"
    soup = next((t for t in _TOKEN_RUN.findall(text) if sum(c.isdigit() for c in t) >= 4 and sum(c.isalpha() for c in t) >= 4), None)
    if soup and len(text.split()) >= 3:  # in prose only: an id, a key or a hash is a fine value of its own
        return f"contains a run of random characters ({_clip(soup)!r})"
    digits = _NUMBER_SOUP.search(text)
    if digits and len(text.split()) >= 3:  # five or more dot-joined numbers: no version, price, date or address reads so
        return f"contains a run of numbers ({_clip(digits.group())!r})"
    repeated = _repeated_sentence(text)
    if repeated:  # "She loves to live life alone. She loves to live life alone."
        return f"repeats a sentence ({_clip(repeated)!r})"
    stutter = _stutter(text)
    if stutter:
        return f"says a word twice in two forms ({stutter!r})"
    stamp = _MACHINE_TIME.search(text)
    if stamp and len(text.split()) >= 3:  # a bio that copies the record's `signed_up_at`: people write dates, not clocks
        return f"contains a machine timestamp ({_clip(stamp.group())!r})"
    if _SURROGATE.search(text):  # a "\udf3a" escape the model wrote: no file can hold it as UTF-8
        return f"contains broken Unicode, a lone surrogate ({_clip(text)!r})"
    for pattern, what in _DEBRIS_PATTERNS:
        match = pattern.search(text)
        if match:
            start = max(match.start() - 12, 0)
            return f"contains {what} ({_clip(text[start:])!r})"
    return None


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

_ISO = re.compile(
    r"^\s*(?P<y>[+-]?\d{1,6})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?\s*$",
    re.IGNORECASE,
)
_BIRTH_NAME = re.compile(r"(^|_)(dob|birthday|birthdate|birth_date|date_of_birth|born(_on|_at)?)$")


def _as_date(text: str) -> tuple[int, datetime | None] | None:
    """(year, moment) of an ISO-8601 date or date-time (moment None when the calendar rejects
    it or the year is outside datetime's range); None when it is not ISO-shaped."""
    match = _ISO.match(text)
    if not match:
        return None
    year = int(match["y"])
    try:
        moment = datetime(
            year, int(match["m"]), int(match["d"]), int(match["H"] or 0), int(match["M"] or 0), int(match["S"] or 0), tzinfo=UTC
        )
    except ValueError:
        return year, None
    return year, moment


_PROSE_DATE = re.compile(r"\b\d{1,2}[./]\d{1,2}[./](\d{4})\b|\b(\d{4})-\d{2}-\d{2}\b")


def _implausible_in_prose(leaf: _Leaf, now: datetime) -> str | None:
    """A whole date inside text whose year is before 1900 or over a year ahead ("Catherine Diaz
    1.02.1834 is a dramatherapist"). A bare year is left alone: history has years."""
    if not isinstance(leaf.value, str) or len(leaf.value.split()) < 3:
        return None
    for match in _PROSE_DATE.finditer(leaf.value):
        year = int(match.group(1) or match.group(2))
        if year < 1900 or year > now.year + 1:
            return f"mentions the date {match.group()!r}, in the year {year}"
    return None


def _bounded(sub: Mapping[str, Any]) -> bool:
    """The schema states bounds for this value: its plausibility is the schema's business."""
    return any(k in sub for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "formatMinimum", "formatMaximum"))


def _implausible(leaf: _Leaf, now: datetime) -> str | None:
    """Why a date (or an age) cannot be right: before 1900, over a year ahead, an age outside
    0–120. Only whole values that are dates by format, by field name or by shape."""
    snake = snake_case(leaf.name)
    if isinstance(leaf.value, (int, float)) and not isinstance(leaf.value, bool):
        if snake == "age" and not _bounded(leaf.sub) and not 0 <= leaf.value <= 120:
            return f"age {leaf.value} is outside 0–120"
        return None
    if not isinstance(leaf.value, str) or _bounded(leaf.sub):
        return None
    parsed = _as_date(leaf.value)
    if parsed is None:
        return None
    year, moment = parsed
    if year < 1900:
        return f"date {_clip(leaf.value)!r} is before 1900"
    if moment is None:
        return None
    if moment > now + timedelta(days=365):
        return f"date {_clip(leaf.value)!r} is more than a year in the future"
    if _BIRTH_NAME.search(snake):
        age = (now - moment).days / 365.2425
        if not 0 <= age <= 120:
            return f"birth date {_clip(leaf.value)!r} gives an age of {age:.0f}, outside 0–120"
    return None


# ---------------------------------------------------------------------------------------------
# One record
# ---------------------------------------------------------------------------------------------


def _enumerated(sub: Mapping[str, Any]) -> bool:
    return "enum" in sub or "const" in sub


_NAME_LIKE = frozenset({"name", "title", "product_name", "full_name", "display_name", "company", "company_name"})
_CODE = re.compile(r"[A-Z]{2,}[-_ ]?\d{3,}|[A-Z0-9]+(_[A-Z0-9]+){2,}")


def _code_as_name(leaf: _Leaf) -> str | None:
    """A name written as a code (`QUT-01256` for a product's name, `EMPECY_MAGIC_8K`): seen when a
    small model copies the SKU or makes a constant up."""
    if snake_case(leaf.name) in _NAME_LIKE and _CODE.fullmatch(leaf.value.strip()):
        return f"reads as a code, not a name ({_clip(leaf.value)!r})"
    return None


_SELF_WORDS = {"description": "description", "bio": "bio|biography", "biography": "bio|biography", "summary": "summary", "review": "review"}


def _talks_about_itself(leaf: _Leaf, hints: Mapping[str, list[tuple[str, str]]]) -> str | None:
    """Prose that names its own field ("A product description in English."): it describes the
    field instead of writing it."""
    word = _SELF_WORDS.get(snake_case(leaf.name))
    found = word and _prose_field(leaf, hints) and re.search(rf"\b({word})\b", leaf.value, re.IGNORECASE)
    if found:
        return f"talks about the {found.group().lower()} instead of writing it ({_clip(leaf.value)!r})"
    return None


def _string_defect(leaf: _Leaf, hints: Mapping[str, list[tuple[str, str]]]) -> Defect | None:
    """The first of placeholder, echo and debris that a string value shows (one per value, so
    a correction prompt gets one clear reason per path)."""
    checks = (
        (DefectKind.PLACEHOLDER, _placeholder),
        (DefectKind.PLACEHOLDER, _code_as_name),
        (DefectKind.PLACEHOLDER, lambda lf: _slot_in_prose(lf, hints)),
        (DefectKind.ECHO, lambda lf: _echo(lf, hints)),
        (DefectKind.DEBRIS, lambda lf: _talks_about_itself(lf, hints)),
        (DefectKind.DEBRIS, _debris),
        (DefectKind.DEBRIS, lambda lf: _table_in_prose(lf, hints)),
        (DefectKind.PLACEHOLDER, lambda lf: _not_prose(lf, hints)),
        (DefectKind.TRUNCATED, lambda lf: _truncated(lf, hints)),
    )
    for kind, check in checks:
        message = check(leaf)
        if message:
            return Defect(kind=kind, path=leaf.pointer, message=message)
    return None


def _check(record: Any, schema: Any, hints: Mapping[str, list[tuple[str, str]]], now: datetime) -> list[Defect]:
    defects = [Defect(kind=DefectKind.BROKEN_CONSTRAINT, path=i.path, message=i.message) for i in validate(record, schema)]
    for leaf in _leaves(record, resolve_ref(schema, schema), schema):
        if isinstance(leaf.value, str) and not _enumerated(leaf.sub):
            found = _string_defect(leaf, hints)
            if found:
                defects.append(found)
        if _counted_up(leaf.value):
            defects.append(Defect(kind=DefectKind.PLACEHOLDER, path=leaf.pointer, message=f"is a placeholder number ({leaf.value})"))
        message = _implausible(leaf, now) or _implausible_in_prose(leaf, now)
        if message:
            defects.append(Defect(kind=DefectKind.IMPLAUSIBLE_DATE, path=leaf.pointer, message=message))
    contradictions = _age_contradictions(record) + _birth_year_contradictions(record, now) + _pronoun_contradictions(record)
    contradictions += _first_person_slips(record) + _price_contradictions(record)
    return defects + contradictions + _misspelt_names(record) + _event_too_long(record) + _food_talk(record)


_COUNTED = re.compile(r"0?123456|234567|345678|456789|987654|876543|765432|654321")


def _counted_up(value: Any) -> bool:
    """An integer with six digits counted up or down in it (103456789, 123456): what a model
    writes for a number it has no idea of; a real count, price or id reads so about once in 10^5."""
    return isinstance(value, int) and not isinstance(value, bool) and bool(_COUNTED.search(str(abs(value))))


def _misspelt_names(record: Any) -> list[Defect]:
    """Prose that calls the record's person by a near miss of their surname (name "Matthew
    Larsen", bio "Matthew Larson is a science writer"): a reader sees a typo or another person."""
    if not isinstance(record, dict):
        return []
    name = next((v for k, v in record.items() if snake_case(str(k)) in _NAME_FIELDS and isinstance(v, str)), "")
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


_FOOD_WORDS = re.compile(r"\b(bacon|sausages?|foodies?|cuisine|tasty|delicious|breakfast|gourmet)\b", re.IGNORECASE)
_FOOD_DEPARTMENTS = frozenset({"Kitchen", "Home", "Outdoors", "Garden"})  # a candle's "delicious scent", a camping breakfast


def _food_talk(record: Any) -> list[Defect]:
    """A product's text that talks about food when the product is no kitchen ware: SmolLM2 wrote
    of a plant pot for "all foodies" and a rain jacket's "delightful breakfast of bacon"."""
    if not isinstance(record, dict) or not {snake_case(str(k)) for k in record} & PRODUCT_CUES:
        return []
    name = next((v for k, v in record.items() if snake_case(str(k)) in PRODUCT_NAMES and isinstance(v, str)), "")
    department = department_of(name)
    if department is None or department in _FOOD_DEPARTMENTS:
        return []
    found = []
    for field, value in record.items():
        food = _FOOD_WORDS.search(value) if isinstance(value, str) and value != name else None
        if food:
            message = f"talks about food ({food.group()!r}), but {name} is sold under {department}"
            found.append(Defect(kind=DefectKind.BROKEN_CONSTRAINT, path="/" + _escape(str(field)), message=message))
    return found


_PRICE_FIELDS = frozenset({"price", "unit_price", "list_price", "sale_price"})
_CURRENCY_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP"}
_CURRENCY_WORDS = {"dollars": "USD", "usd": "USD", "euros": "EUR", "eur": "EUR", "pounds": "GBP", "gbp": "GBP"}
_STATED_PRICE = re.compile(
    r"([$€£])\s?(\d[\d,]*(?:\.\d{1,2})?)\b|\b(\d[\d,]*(?:\.\d{1,2})?)\s?(dollars|euros|pounds|USD|EUR|GBP)\b", re.IGNORECASE
)


def _price_contradictions(record: Any) -> list[Defect]:
    """A product's text that quotes a price other than the record's (`price: 113.99, currency:
    EUR`, description "a steal at $130"): told only the product's name, the model invents one."""
    if not isinstance(record, dict):
        return []
    price = next((v for k, v in record.items() if snake_case(str(k)) in _PRICE_FIELDS and isinstance(v, (int, float))), None)
    if price is None or isinstance(price, bool):
        return []
    currency = next((str(v).upper() for k, v in record.items() if snake_case(str(k)) == "currency" and isinstance(v, str)), None)
    found = []
    for field, value in record.items():
        quoted = [_quoted_price(m) for m in _STATED_PRICE.finditer(value)] if isinstance(value, str) else []
        wrong = next(((amount, unit) for amount, unit in quoted if abs(amount - price) > 0.01 or (currency and unit != currency)), None)
        if wrong:
            message = f"says {wrong[0]:g} {wrong[1]} where the record's price is {price:g} {currency or ''}".rstrip()
            found.append(Defect(kind=DefectKind.BROKEN_CONSTRAINT, path="/" + _escape(str(field)), message=message))
    return found


def _quoted_price(match: re.Match[str]) -> tuple[float, str]:
    sign, amount, number, word = match.groups()
    unit = _CURRENCY_SIGNS[sign] if sign else _CURRENCY_WORDS[word.casefold()]
    return float((amount or number).replace(",", "")), unit


def _near_miss(word: str, surname: str) -> bool:
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


_AGE_FIELDS = ("age", "age_years")
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
    age = _record_age(record)
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
    age = _record_age(record)
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


def _record_age(record: Any) -> int | None:
    if not isinstance(record, dict):
        return None
    ages = (v for k, v in record.items() if snake_case(str(k)) in _AGE_FIELDS and isinstance(v, int) and not isinstance(v, bool))
    return next(ages, None)


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


_FIRST_PERSON = re.compile(r"\b(I|I'm|I've|I'll|I'd|[Mm]y|[Mm]ine|[Ww]e|[Oo]ur|[Oo]urs)\b")


def _first_person_slips(record: Any) -> list[Defect]:
    """A text about the record's person, opened in the third person ("Jimmy Scott is a minerals
    surveyor"), that slips into the first ("…two passions of mine. We love to create our own"):
    seen in the nightly. A text with quotation marks may quote the person, so it is left alone."""
    name = _person_name(record) if isinstance(record, dict) else None
    if not name:
        return []
    found = []
    for field, value in record.items():
        if not isinstance(value, str) or not value.startswith(name.split()[0]) or snake_case(str(field)) in _NAME_FIELDS or '"' in value:
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


def check_record(record: Any, schema: dict[str, Any] | bool, *, now: datetime | None = None) -> list[Defect]:
    """Everything one record shows by itself: schema breaks (`broken_constraint`), echoes of the
    shape's hints, placeholders, JSON/markup/chat debris, prose cut off mid-sentence and
    implausible dates, and prose that states an age other than the record's `age`. `now` (UTC by
    default) anchors "more than a year in the future" and ages."""
    now = now or datetime.now(UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    return _check(record, schema, _hint_texts(schema), now)


# ---------------------------------------------------------------------------------------------
# A dataset
# ---------------------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^(id|.*_id|email|e_mail|email_address|username|user_name|sku|uuid|guid)$")
_NEAR_WORDS = 6
_NEAR_JACCARD = 0.7


class FieldRealism(BaseModel):
    """One top-level field over a dataset: how varied its values are and its defects by kind."""

    values: int = 0
    distinct_ratio: float = 1.0
    identifier: bool = Field(False, description="its values name one record (id, email, username, sku...)")
    defects: dict[DefectKind, int] = Field(default_factory=dict)


class RealismReport(BaseModel):
    """A dataset's realism: clean records (no defect of any kind), defects by kind and field,
    and the share of records that nearly repeat an earlier record's text."""

    records: int
    clean_records: int
    clean_share: float
    defects: dict[DefectKind, int]
    fields: dict[str, FieldRealism]
    near_duplicate_rate: float

    def metrics(self) -> dict[str, float]:
        """The execution metrics (`monitor/metrics.py`) this report gives: realism (clean share),
        distinct_ids (the lowest distinct ratio of an identifying field; 1 with none) and
        near_duplicates."""
        ids = [f.distinct_ratio for f in self.fields.values() if f.identifier and f.values > 1]
        return {"realism": self.clean_share, "distinct_ids": min(ids, default=1.0), "near_duplicates": self.near_duplicate_rate}

    def findings(self, limit: int = 4) -> list[str]:
        """What the checks found, a line each, for people and judges: defects by kind and field."""
        if not self.records or self.clean_records == self.records:
            return []
        lines = [f"{self.records - self.clean_records} of {self.records} records have a realism defect"]
        by_field = sorted(((n, kind, key) for key, f in self.fields.items() for kind, n in f.defects.items()), reverse=True)
        lines += [f"{n} × {kind.value} at {key}" for n, kind, key in by_field[:limit]]
        return lines


_CODE = re.compile(r"(?=\S*\d)(?=\S*[A-Za-z])[A-Za-z0-9]+([-_./:#][A-Za-z0-9]+)*")


def looks_like_code(value: str) -> bool:
    """A SKU, an id or a key ("BQY-00094", "b35486a7e"): letters and digits, no spaces. Told one,
    a small model pastes it into prose; no prose quotes one."""
    return len(value) >= 5 and bool(_CODE.fullmatch(value))


def identifier_name(name: str) -> bool:
    """A field name whose values name one record: id, *_id, email, username, sku, uuid."""
    return bool(_IDENTIFIER.match(snake_case(name)))


def _identifier(leaf: _Leaf) -> bool:
    """Top-level fields whose values name one record: by name, or format email/uuid."""
    return leaf.pointer.count("/") == 1 and (identifier_name(leaf.name) or leaf.sub.get("format") in ("email", "uuid"))


def _shingles(text: str) -> set[str]:
    words = _norm(text).split()
    return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)} if len(words) >= _NEAR_WORDS else set()


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def _digest(value: Any) -> int:
    return _hash(value.strip().casefold() if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str))


class DatasetChecker:
    """Accumulates a dataset record by record. `add` returns the defects that depend on other
    records (duplicate identifiers, near-duplicate texts) and counts every defect for `report`.

    Near duplicates: texts of at least six words in the same field whose word-3-gram shingle
    sets have Jaccard similarity ≥ 0.7 with an earlier record's; found through an inverted
    index over shingles, so an `add` costs time in proportion to the texts that share shingles
    with it, not to the whole dataset. `no_near_duplicates` names top-level fields left out of
    that check: pass a plan's sampled fields (a job title drawn from a list may well repeat).

    What it keeps grows with the records but not with their size: per identifier value its 64-bit
    hash and first record; per top-level field value a 64-bit hash (8 bytes, in an array); per
    text of six words or more its record and shingle count, and its shingles as 64-bit hashes in
    the inverted index. Records themselves are not kept."""

    def __init__(self, schema: dict[str, Any] | bool, *, now: datetime | None = None, no_near_duplicates: Iterable[str] = ()) -> None:
        self.schema = schema
        self.now = now
        self._skip = {"/" + _escape(name) for name in no_near_duplicates}
        self._hints = _hint_texts(schema)
        self._ids: dict[tuple[str, int], int] = {}
        self._id_fields: set[str] = set()
        self._postings: dict[str, dict[int, list[int]]] = {}
        self._text_records, self._text_sizes = array("q"), array("l")
        self._seen: dict[str, array] = {}
        self._fields: dict[str, FieldRealism] = {}
        self._defects: Counter[DefectKind] = Counter()
        self._records = self._clean = self._near = 0

    def add(self, index: int, record: Any, record_defects: list[Defect] | None = None) -> list[Defect]:
        """Check record `index` against the earlier ones; pass `record_defects` if `check_record`
        already ran on it (otherwise it runs here), so the report counts those too."""
        if record_defects is None:
            now = self.now or datetime.now(UTC)
            record_defects = _check(record, self.schema, self._hints, now if now.tzinfo else now.replace(tzinfo=UTC))
        leaves = list(_leaves(record, resolve_ref(self.schema, self.schema), self.schema))
        cross = self._duplicates(index, leaves) + self._near_duplicates(index, leaves)
        self._tally(record, record_defects + cross, any(d.kind is DefectKind.NEAR_DUPLICATE for d in cross))
        return cross

    def _duplicates(self, index: int, leaves: list[_Leaf]) -> list[Defect]:
        found = []
        for leaf in leaves:
            if not _identifier(leaf) or isinstance(leaf.value, bool):
                continue
            self._id_fields.add(leaf.pointer)
            slot = (leaf.pointer, _hash(str(leaf.value).strip().casefold()))
            first = self._ids.setdefault(slot, index)
            if first != index:
                message = f"{leaf.pointer} {_clip(str(leaf.value))!r} already belongs to record {first}"
                found.append(Defect(kind=DefectKind.DUPLICATE_IDENTIFIER, path=leaf.pointer, message=message))
        return found

    def _near_duplicates(self, index: int, leaves: list[_Leaf]) -> list[Defect]:
        found = []
        for leaf in leaves:
            top = "/" + leaf.pointer.split("/")[1] if leaf.pointer else ""
            text = isinstance(leaf.value, str) and not _enumerated(leaf.sub) and top not in self._skip
            shingles = {_hash(s) for s in _shingles(leaf.value)} if text else set()
            if not shingles:
                continue
            postings = self._postings.setdefault(leaf.key, {})
            shared = Counter(t for s in shingles for t in postings.get(s, ()) if self._text_records[t] != index)
            score, other = max(((n / (len(shingles) + self._text_sizes[t] - n), t) for t, n in shared.items()), default=(0.0, -1))
            if score >= _NEAR_JACCARD:
                message = f"nearly repeats record {self._text_records[other]}'s {leaf.key} (shingle Jaccard {score:.2f})"
                found.append(Defect(kind=DefectKind.NEAR_DUPLICATE, path=leaf.pointer, message=message))
            self._text_records.append(index)
            self._text_sizes.append(len(shingles))
            for s in shingles:
                postings.setdefault(s, []).append(len(self._text_records) - 1)
        return found

    def _tally(self, record: Any, defects: list[Defect], near: bool) -> None:
        self._records += 1
        self._clean += not defects
        self._near += near
        self._defects.update(d.kind for d in defects)
        for name, value in record.items() if isinstance(record, dict) else []:
            key = "/" + _escape(str(name))
            stats = self._fields.setdefault(key, FieldRealism())
            stats.values += 1
            self._seen.setdefault(key, array("Q")).append(_digest(value))
        for d in defects:
            top = "/" + d.path.split("/")[1] if d.path.count("/") >= 1 else "/"
            stats = self._fields.setdefault(top, FieldRealism())
            stats.defects[d.kind] = stats.defects.get(d.kind, 0) + 1

    def report(self) -> RealismReport:
        """The dataset so far."""
        fields = {}
        for key, stats in self._fields.items():
            distinct = len(set(self._seen.get(key, ()))) / stats.values if stats.values else 1.0
            update = {"distinct_ratio": round(distinct, 4), "defects": dict(stats.defects), "identifier": key in self._id_fields}
            fields[key] = stats.model_copy(update=update)
        return RealismReport(
            records=self._records,
            clean_records=self._clean,
            clean_share=self._clean / self._records if self._records else 0.0,
            defects={kind: self._defects.get(kind, 0) for kind in DefectKind},
            fields=fields,
            near_duplicate_rate=self._near / self._records if self._records else 0.0,
        )
