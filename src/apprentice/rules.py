"""Record rules beyond JSON Schema: cross-field comparisons, value ranges, uniqueness in a batch.

Rules are data (never code): a rule names fields by dotted path and says what must hold. Their
failures are `ValidationIssue`s with JSON-pointer paths, so correction prompts treat them exactly
like schema errors and fix only the failing paths.
"""

from __future__ import annotations

import json
import operator
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from apprentice.shapes.validate import ValidationIssue

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
_MISSING = object()


class Rule(BaseModel):
    """One rule. `compare`: field OP other; `range`: minimum ≤ field ≤ maximum; `unique`: no two
    records of a batch share the field's value."""

    model_config = {"extra": "forbid"}

    kind: Literal["compare", "range", "unique"]
    field: str = Field(description="dotted path, e.g. `pricing.price`")
    op: Literal["<", "<=", ">", ">=", "==", "!="] = "<="
    other: str | None = Field(None, description="compare: the field on the right-hand side")
    minimum: float | None = None
    maximum: float | None = None
    message: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Rule:
        if self.kind == "compare" and not self.other:
            raise ValueError("a compare rule needs `other`")
        if self.kind == "range" and self.minimum is None and self.maximum is None:
            raise ValueError("a range rule needs `minimum` or `maximum`")
        return self

    def describe(self) -> str:
        if self.message:
            return self.message
        if self.kind == "compare":
            return f"{self.field} {self.op} {self.other}"
        if self.kind == "range":
            return f"{self.field} within [{self.minimum}, {self.maximum}]"
        return f"{self.field} unique within the batch"


def lookup(record: Any, path: str) -> Any:
    value = record
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def pointer(path: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path.split("."))


class UniqueIndex:
    """Values already taken in a batch, per unique field. Single event loop: `check` then `claim`
    with no await between them is atomic."""

    def __init__(self) -> None:
        self._taken: dict[str, set[str]] = {}

    def taken(self, field: str, value: Any) -> bool:
        return _key(value) in self._taken.get(field, set())

    def claim(self, record: Any, rules: list[Rule]) -> None:
        for rule in rules:
            if rule.kind == "unique" and (value := lookup(record, rule.field)) is not _MISSING:
                self._taken.setdefault(rule.field, set()).add(_key(value))

    def copy(self) -> UniqueIndex:
        """A scratch copy: checks against what is taken, claims that are not kept."""
        scratch = UniqueIndex()
        scratch._taken = {field: set(values) for field, values in self._taken.items()}
        return scratch

    def release(self, record: Any, rules: list[Rule]) -> None:
        """Give back a record's values: it turned out unusable after it claimed them."""
        for rule in rules:
            if rule.kind == "unique" and (value := lookup(record, rule.field)) is not _MISSING:
                self._taken.get(rule.field, set()).discard(_key(value))


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def check_rules(record: Any, rules: list[Rule], unique: UniqueIndex | None = None) -> list[ValidationIssue]:
    """Every rule `record` breaks, as issues at the offending field's JSON pointer."""
    issues = []
    for rule in rules:
        value = lookup(record, rule.field)
        if value is _MISSING:
            continue  # a missing field is the schema's business (required), not the rule's
        problem = _broken(rule, record, value, unique)
        if problem:
            issues.append(ValidationIssue(path=pointer(rule.field), message=problem, keyword=f"rule:{rule.kind}"))
    return issues


def _broken(rule: Rule, record: Any, value: Any, unique: UniqueIndex | None) -> str | None:
    try:
        if rule.kind == "compare":
            other = lookup(record, rule.other or "")
            if other is _MISSING or _OPS[rule.op](value, other):
                return None
            return f"must satisfy {rule.describe()} (got {value!r} vs {other!r})"
        if rule.kind == "range":
            if (rule.minimum is None or value >= rule.minimum) and (rule.maximum is None or value <= rule.maximum):
                return None
            return f"must be within [{rule.minimum}, {rule.maximum}] (got {value!r})"
    except TypeError:
        return f"must satisfy {rule.describe()} (got {value!r}, which cannot be compared)"
    if unique is not None and unique.taken(rule.field, value):
        return f"value {value!r} is already used by another record in this batch; choose a different one"
    return None
