"""Debris: JSON, markup, chat or prompt fragments inside a string, and the garble of a small model
(unbalanced brackets, token soup, a sentence said twice, a word stuttered in two forms)."""

from __future__ import annotations

import re
from typing import Any

from apprentice.fieldplan import is_about_a_person
from apprentice.realism.defects import Defect, DefectKind
from apprentice.realism.leaves import _escape, _Leaf
from apprentice.realism.normalise import _clip
from apprentice.realism.prose import PROSE_MIN_WORDS, _prose_named_or_hinted
from apprentice.shapes.fields import snake_case

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
    (re.compile(r"\[\^|\[\*|\[\||\w\{\d+(,\d*)?\}"), "markup fragments"),  # `{29}`: a regex quantifier after a word
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
    (re.compile(r"\n[^\n]{1,24}:\s*(\n|$)|\n\s*[-\u2013\u2014]\s*[A-Z][\w.]{0,20}\s*$"), "a label or sign-off line after the text"),
    (re.compile(r"(^|\n)\s*#{1,6}\s|\*\*[^*\n]+\*\*"), "markdown"),
)


_SURROGATE = re.compile("[\ud800-\udfff]")
_TOKEN_RUN = re.compile(r"[A-Za-z\d/+=]{20,}")
_NUMBER_SOUP = re.compile(r"\d+(?:\.\d+){4,}")
# "You've...you've,.", "has earned CorvidlinShirt...its''.", "abroad before but,…theres.com...heaven-." ("e.g.," is fine)
_PUNCTUATION_RUN = re.compile(r"[,;:][.!?\u2026]|,,|''|[a-z]{2,}-[.!?](?:\s|$)")  # not "an A-." or "type O-."
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
    run = _PUNCTUATION_RUN.search(text)
    if run and len(text.split()) >= 3:
        return f"contains a run of punctuation ({_clip(text[max(run.start() - 12, 0) :])!r})"
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


_LABEL = re.compile(r"(?:^|[,;(\n])\s*([A-Za-z][A-Za-z_ ]{0,30}?)\s*:\s")
_QUOTED = re.compile(r"(?<![A-Za-z])['\u2018\"\u201c]([^'\u2019\"\u201d]{3,80})['\u2019\"\u201d](?![A-Za-z])")  # not "Hubbard's"


def _fields_pasted(record: Any, schema: Any) -> list[Defect]:
    """A prose field that pastes the record's own fields: as `key: value` ("57 years old, country:
    United States, lifestyle: free, interests: birdwatching", a bio in the nightly), two labels
    that are field names of the record; or, in a record about a person, a value of several words
    quoted word for word ("The hobby of his last name is 'volunteering at a food bank'", another).
    Labels that name no field ("Pros: light; Cons: pricey"), structured fields ("Status:
    escalated" in `notes`) and a product's text quoting its own name are left alone."""
    if not isinstance(record, dict):
        return []
    props = schema.get("properties") if isinstance(schema, dict) else None
    fields = {snake_case(str(k)) for k in record}
    about_a_person = is_about_a_person(fields)
    found = []
    for field, value in record.items():
        sub = props.get(field) if isinstance(props, dict) else None
        if not isinstance(value, str) or not _prose_named_or_hinted(str(field), [sub.get("description")] if isinstance(sub, dict) else []):
            continue
        labels = {snake_case(m.group(1)) for m in _LABEL.finditer(value)} & fields
        quotes = _QUOTED.findall(value) if about_a_person else []
        phrases = _phrases(record, field) if quotes else set()
        quoted = next((q for q in quotes if q.strip().casefold() in phrases), None)
        if len(labels) >= 2:
            message = f"lists the record's fields as 'key: value' ({', '.join(sorted(labels))}): {_clip(value)!r}"
        elif quoted:
            message = f"quotes the record's own value {quoted.strip()!r} word for word"
        else:
            continue
        found.append(Defect(kind=DefectKind.DEBRIS, path="/" + _escape(str(field)), message=message))
    return found


def _phrases(record: dict[str, Any], but: str) -> set[str]:
    """The record's values of two words or more (list items too), but field `but`'s own."""
    values = (v for k, v in record.items() if k != but for v in (v if isinstance(v, list) else [v]))
    return {v.strip().casefold() for v in values if isinstance(v, str) and len(v.split()) >= 2}
