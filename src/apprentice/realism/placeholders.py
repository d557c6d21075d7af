"""Placeholders: a value standing in for one ("string", "[Your Bio]", `user@example.com`, a dummy
phone number, a name written as a code, a number counted up as 123456)."""

from __future__ import annotations

import re
from typing import Any

from apprentice.realism.identifiers import _CODE
from apprentice.realism.leaves import _Leaf
from apprentice.realism.normalise import _clip, _norm
from apprentice.shapes.fields import snake_case

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


_NAME_LIKE = frozenset({"name", "title", "product_name", "full_name", "display_name", "company", "company_name"})

_CONSTANT = re.compile(r"[A-Z0-9]+(_[A-Z0-9]+){2,}")
"""A constant's name (`EMPECY_MAGIC_FITZELS`): no digit needed to read as a code."""


def _code_as_name(leaf: _Leaf) -> str | None:
    """A name written as a code (`QUT-01256` for a product's name, `EMPECY_MAGIC_8K`): seen when a
    small model copies the SKU or makes a constant up."""
    value = leaf.value.strip()
    if snake_case(leaf.name) in _NAME_LIKE and (_CODE.fullmatch(value) or _CONSTANT.fullmatch(value)):
        return f"reads as a code, not a name ({_clip(leaf.value)!r})"
    return None


_COUNTED = re.compile(r"0?123456|234567|345678|456789|987654|876543|765432|654321")


def _counted_up(value: Any) -> bool:
    """An integer with six digits counted up or down in it (103456789, 123456): what a model
    writes for a number it has no idea of; a real count, price or id reads so about once in 10^5."""
    return isinstance(value, int) and not isinstance(value, bool) and bool(_COUNTED.search(str(abs(value))))
