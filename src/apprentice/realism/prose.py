"""Prose fields: which fields ask for sentences, and what is wrong with prose (a word or two where
sentences are asked, a stop mid-sentence, template slots, a table row, talk about its own field)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from apprentice.realism.leaves import _Leaf
from apprentice.realism.normalise import _clip
from apprentice.shapes.fields import snake_case

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
    """A top-level field for sentences (see `_prose_named_or_hinted`)."""
    descriptions = (h for k, h in hints.get(leaf.key, []) if k == "description")
    return leaf.pointer.count("/") == 1 and _prose_named_or_hinted(leaf.name, descriptions)


def _prose_named_or_hinted(name: str, descriptions: Iterable[str | None]) -> bool:
    """A field for sentences: a hint of it asks for prose, or its name is bio, description, review…"""
    return snake_case(name) in _PROSE_NAMES or any(is_prose_hint(d) for d in descriptions)


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
    r"|\[(Your |The )?[A-Z][a-z]+ (name|city|country|company|title|date|number|address)\]"  # "[City name]", seen in the nightly
)


def _slot_in_prose(leaf: _Leaf, hints: Mapping[str, list[tuple[str, str]]]) -> str | None:
    """Template slots in prose ("{Juniper Sunglasses} is…", "featuring [X]", "at [Currency]");
    outside prose, `{Name}` or `[A1]` may be a real value (a URL template, a cell)."""
    if _prose_field(leaf, hints) and (slot := _SLOT_IN_PROSE.search(leaf.value)):
        return f"contains a template slot ({_clip(leaf.value[max(slot.start() - 12, 0) :])!r})"
    return None


_COMMA_RUN = re.compile(r"[a-z][,;:][a-z]+[,;:][a-z]")


def _table_in_prose(leaf: _Leaf, hints: Mapping[str, list[tuple[str, str]]]) -> str | None:
    """Prose with cells between pipes ("Willow Smart Watch Band (2019) | Amazon Revenge | 2020 |…")
    or words run together with commas, semicolons or colons ("She's,however,notoriety,s!",
    "She's however,notoriety;heresi:!", seen in the nightly; a
    value such as `red,green,blue` outside prose is left alone)."""
    if _prose_field(leaf, hints) and leaf.value.count("|") >= 2:
        return f"contains a table row ({_clip(leaf.value)!r})"
    if _prose_field(leaf, hints) and _COMMA_RUN.search(leaf.value):
        return f"runs words together with commas ({_clip(leaf.value)!r})"
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
