"""Reading one field's subschema: the top-level properties, numeric bounds, and what broke.

The planner and the samplers ask the same questions of a field's JSON Schema (its bounds under
draft-4 or later keywords, whether a number must be written as a string, which keyword a value
broke), so the answers live here once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from apprentice.shapes.fields import resolve_ref
from apprentice.shapes.validate import ValidationIssue, declared_types


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


def _constraint(issue: ValidationIssue, sub: Mapping[str, Any]) -> str:
    """The broken keyword with its value: 'pattern ^[A-Z]{3}$', 'maxLength 5', 'format email'."""
    keyword = issue.keyword
    if keyword in sub and keyword != "type":
        return f"{keyword} {sub[keyword]}"
    return f"{keyword} ({issue.message[:80]})"
