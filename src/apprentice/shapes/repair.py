"""Layered repair of model output: extract → repair (json-repair) → coerce toward the schema.

Each layer is counted in a `RepairCounts`, so a workflow's reliance on repair is measurable.
"""

from __future__ import annotations

import json
import re
from typing import Any

import json_repair
from pydantic import BaseModel, Field

from apprentice.shapes.schema import nesting

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


class RepairCounts(BaseModel):
    extracted: int = 0
    repaired: int = 0
    coerced: int = 0
    fixed: int = Field(0, description="values replaced by `shapes.fixups` (formats, oneOf ambiguity)")

    def add(self, other: RepairCounts) -> None:
        self.extracted += other.extracted
        self.repaired += other.repaired
        self.coerced += other.coerced
        self.fixed += other.fixed


class Unparseable(ValueError):
    """The text holds no JSON value, even after repair."""


MAX_DEPTH = 64
"""Deeper than this, an answer is refused: a small model under a recursive schema's grammar can
nest `[[[[…` hundreds deep, which no record means and which broke pydantic's serialiser (the
depth limit) when the record was kept for resume, crashing the run (seen in JSONSchemaBench)."""


def parse_json(text: str, counts: RepairCounts) -> Any:
    """The JSON value in a model's answer: as is, out of a fence or prose, or repaired; one nested
    deeper than `MAX_DEPTH` is `Unparseable`."""
    try:
        value = _parse_json(text, counts)
    except RecursionError:
        raise Unparseable(f"the answer nests too deep to read: {text.strip()[:80]!r}") from None
    if nesting(value) > MAX_DEPTH:
        raise Unparseable(f"the answer nests deeper than {MAX_DEPTH} levels: {text.strip()[:80]!r}")
    return value


def _parse_json(text: str, counts: RepairCounts) -> Any:
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    candidate = _extract(stripped)
    if candidate is not None:
        try:
            value, _ = json.JSONDecoder().raw_decode(candidate)
            counts.extracted += 1
            return value
        except json.JSONDecodeError:
            pass
    repaired = json_repair.loads(candidate if candidate is not None else stripped)
    if repaired in ("", None) or (isinstance(repaired, (dict, list)) and not repaired and "{}" not in stripped and "[]" not in stripped):
        raise Unparseable(f"no JSON in the answer: {stripped[:80]!r}")
    counts.repaired += 1
    return repaired


def _extract(text: str) -> str | None:
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1).strip()
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    return text[min(starts) :] if starts else None


def coerce(value: Any, schema: Any, counts: RepairCounts, root: Any = None, depth: int = 0) -> Any:
    """Nudge a value toward the schema where the intent is unambiguous ("42" → 42 for an integer,
    a scalar → [scalar] for an array, enum case, unknown keys dropped when they are forbidden).
    Never invents values; validation decides what is still wrong."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 30:
        return value
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target = _resolve(root, ref)
        if isinstance(target, dict):
            return coerce(value, target, counts, root, depth + 1)
    types = schema.get("type")
    types = set(types) if isinstance(types, list) else ({types} if isinstance(types, str) else set())
    out = _coerce_scalar(value, types, schema, counts)
    if isinstance(out, dict) and (not types or "object" in types):
        props = given if isinstance(given := schema.get("properties"), dict) else {}
        if schema.get("additionalProperties") is False and not schema.get("patternProperties"):
            extra = [k for k in out if k not in props]
            if extra:
                counts.coerced += len(extra)
                out = {k: v for k, v in out.items() if k in props}
        out = {k: coerce(v, props[k], counts, root, depth + 1) if k in props else v for k, v in out.items()}
    elif isinstance(out, list) and isinstance(schema.get("items"), dict):
        out = [coerce(v, schema["items"], counts, root, depth + 1) for v in out]
    return out


def _coerce_scalar(value: Any, types: set[str], schema: dict[str, Any], counts: RepairCounts) -> Any:
    enum = schema.get("enum")
    if isinstance(enum, list) and isinstance(value, str) and value not in enum:
        for option in enum:
            if isinstance(option, str) and option.lower() == value.strip().lower():
                counts.coerced += 1
                return option
    if not types or _matches(value, types):
        return value
    if isinstance(value, str):
        text = value.strip()
        if "integer" in types and re.fullmatch(r"[-+]?\d+", text):
            counts.coerced += 1
            return int(text)
        if "number" in types:
            try:
                number = float(text.replace(",", ""))
                counts.coerced += 1
                return number
            except ValueError:
                pass
        if "boolean" in types and text.lower() in _TRUE | _FALSE:
            counts.coerced += 1
            return text.lower() in _TRUE
        if "null" in types and text.lower() in ("null", "none", ""):
            counts.coerced += 1
            return None
    if isinstance(value, float) and "integer" in types and value.is_integer():
        counts.coerced += 1
        return int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "string" in types:
        counts.coerced += 1
        return str(value)
    if "array" in types and not isinstance(value, list) and value is not None:
        counts.coerced += 1
        return [value]
    return value


def _matches(value: Any, types: set[str]) -> bool:
    checks = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }
    return any(checks.get(t, False) for t in types)


def _resolve(root: Any, ref: str) -> Any:
    node = root
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node
