"""Schemas as sent to a grammar engine (llama.cpp turns a JSON Schema into a GBNF grammar).

Some valid schemas make that conversion blow up: `maxLength: 131072` becomes a rule repeated
131,072 times and the llama.cpp server dies on it. The grammar only steers decoding — every
record is still validated against the user's full schema — so large bounds are loosened here
and long or exotic regexes are left to validation and correction.
"""

from __future__ import annotations

import re
from typing import Any

from apprentice.realism import is_prose_hint

MAX_REPEAT = 256
MAX_PATTERN = 120
PROSE_MIN, PROSE_MAX = 30, 250  # characters a hinted prose field is steered to
LIST_MAX, ITEM_MAX = 5, 60  # items and characters per item a free list of strings is steered to
RECORDS_MAX = 3  # items an unbounded array of objects or arrays is steered to
TEXT_MAX = 160  # characters a plain string is steered to at most
SHAPING = ("enum", "const", "format", "pattern")  # a string with one of these is already bounded by it
STEER_PATTERN = "x-steer-pattern"
"""A pattern for the grammar only (a bio that opens with the person's name and job and ends a
sentence): validators ignore the unknown keyword, so a backend without a grammar is not held to it."""


def is_free_prose(schema: Any) -> bool:
    """A string the model writes as prose: its hint asks for text, nothing else constrains it."""
    return (
        isinstance(schema, dict)
        and schema.get("type") == "string"
        and is_prose_hint(schema.get("description"))
        and not any(k in schema for k in SHAPING)
    )


def grammar_safe(schema: Any) -> Any:
    """A copy of `schema` without bounds and patterns that grammar compilers cannot afford, and
    with unbounded free text steered to a sensible size (a small model otherwise answers a
    "two-sentence biography" with a name, or a list of hobbies with twenty fragments)."""
    if isinstance(schema, list):
        return [grammar_safe(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return _steer(_safe(schema))


def _steer(schema: dict[str, Any]) -> dict[str, Any]:
    if STEER_PATTERN in schema:
        steering = portable_pattern(schema[STEER_PATTERN])  # "J.R. Smith": an escaped dot is not GBNF
        if steering is None:
            return _steer({k: v for k, v in schema.items() if k != STEER_PATTERN})
        plain = {k: v for k, v in schema.items() if k not in (STEER_PATTERN, "minLength", "maxLength")}
        return plain | {"pattern": steering}
    if is_free_prose(schema):
        high = min(schema.get("maxLength", PROSE_MAX), MAX_REPEAT if schema.get("minLength", 0) <= MAX_REPEAT else PROSE_MAX)
        low = min(max(PROSE_MIN, schema.get("minLength", 0)), high)
        return schema | {"minLength": low, "maxLength": max(low, high)}
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict) and items.get("type") == "string":
        steered = max(ITEM_MAX, items.get("minLength", 0))  # within the items' own bound (`_bounded` gave one where there was none)
        bounded_items = items if any(k in items for k in SHAPING) else {**items, "maxLength": min(items.get("maxLength", steered), steered)}
        return {"maxItems": max(LIST_MAX, schema.get("minItems", 0))} | schema | {"items": bounded_items}
    return _bounded(schema)


def _bounded(schema: dict[str, Any]) -> dict[str, Any]:
    """An unbounded array, a plain string or an open object steered to the size a record needs.
    Left open, SmolLM2 can run on to its token limit (an array of items without end, one
    timestamp repeated for 1,536 tokens, prose about the record as extra keys): a minute lost per
    call, and on JSONSchemaBench most of the field-plan path's timeouts."""
    kind = schema.get("type")
    if kind == "array" and "maxItems" not in schema and not isinstance(schema.get("items"), list):
        items = schema.get("items")
        nested = isinstance(items, dict) and items.get("type") in ("object", "array")
        return schema | {"maxItems": max(RECORDS_MAX if nested else LIST_MAX, schema.get("minItems", 0))}
    if kind == "string" and not any(k in schema for k in SHAPING):
        steered = max(TEXT_MAX, schema.get("minLength", 0))
        return schema | {"maxLength": min(schema.get("maxLength", steered), steered)}
    if _open_object(schema):  # with extra keys allowed, the model wrote "The record is valid for…" as keys and values
        return schema | {"additionalProperties": False}
    return schema


def _open_object(schema: dict[str, Any]) -> bool:
    """An object with named properties that also allows any other key, and needs none: the
    grammar may keep to the named ones."""
    properties = schema.get("properties")
    return (
        isinstance(properties, dict)
        and bool(properties)
        and schema.get("additionalProperties", True) is True
        and not any(k in schema for k in ("patternProperties", "minProperties", "unevaluatedProperties", "propertyNames"))
        and set(schema.get("required", [])) <= set(properties)
    )


def _safe(schema: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("maxLength", "maxItems", "maxProperties") and isinstance(value, int) and value > MAX_REPEAT:
            continue
        if key in ("minLength", "minItems", "minProperties") and isinstance(value, int) and value > MAX_REPEAT:
            out[key] = MAX_REPEAT
            continue
        if key == "pattern" and isinstance(value, str):
            portable = portable_pattern(value)
            if portable is not None:
                out[key] = portable
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas") and isinstance(value, dict):
            out[key] = {name: grammar_safe(sub) for name, sub in value.items()}
        else:
            out[key] = grammar_safe(value)
    return out


_CLASS_ESCAPES = {"d": "0-9", "w": "a-zA-Z0-9_", "s": " \\t\\n"}
_QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")
_SAFE_ESCAPE = re.compile(r"\\[.\-\\/^$*+?()\[\]{}|]")


def portable_pattern(pattern: str) -> str | None:
    """The pattern, anchored, in the regex subset llama.cpp compiles (`\\d`, `\\w`, `\\s` spelled
    out as classes), or None when it uses more (lookarounds, other escapes) or is too long."""
    if len(pattern) > MAX_PATTERN or "(?" in pattern:
        return None
    out, in_class, i = [], False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in _CLASS_ESCAPES:
                out.append(_CLASS_ESCAPES[nxt] if in_class else f"[{_CLASS_ESCAPES[nxt]}]")
            elif _SAFE_ESCAPE.fullmatch(pattern[i : i + 2]):
                # llama.cpp's grammar parser knows no \. or \/ ("unknown escape" aborts the server): a hex escape means the same
                out.append(f"\\x{ord(nxt):02X}" if in_class else f"[\\x{ord(nxt):02X}]")
            else:
                return None
            i += 2
            continue
        if not in_class and ch in "{}":  # a brace that is not a {n,m} quantifier is a literal; llama.cpp's converter loops forever on one
            quantifier = _QUANTIFIER.match(pattern, i) if ch == "{" else None
            out.append(quantifier.group() if quantifier else f"[\\x{ord(ch):02X}]")
            i = quantifier.end() if quantifier else i + 1
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        if ord(ch) < 0x20 or ord(ch) == 0x7F:  # a raw NUL would end the grammar's C string early
            ch = f"\\x{ord(ch):02X}" if in_class else f"[\\x{ord(ch):02X}]"
        out.append(ch)
        i += 1
    return _anchored("".join(out))


def _anchored(pattern: str) -> str | None:
    """The pattern matched whole (`^(...)$`). llama.cpp's converter refuses an unanchored one,
    and the server then drops the whole grammar; JSON Schema searches, so a full match is one of
    the strings the pattern allows. (Escaped `^`/`$` are hex escapes by now.)"""
    if pattern.startswith("^") and pattern.endswith("$"):
        return pattern
    body = pattern.removeprefix("^").removesuffix("$")
    while body.startswith(".*") or body.endswith(".*"):  # `.*x.*` whole is `x` searched
        body = body.removeprefix(".*") if body.startswith(".*") else body.removesuffix(".*")
    return f"^({body})$" if body else None
