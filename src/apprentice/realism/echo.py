"""Echoes: a string value that repeats the shape's hint, its title or example, or the field's name."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from apprentice.realism.leaves import _Leaf
from apprentice.realism.normalise import _clip, _content, _norm


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
