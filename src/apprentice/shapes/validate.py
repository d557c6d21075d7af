"""Strict validation with jsonschema, reporting each error at its JSON-pointer path."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from jsonschema import Draft4Validator, Draft6Validator, Draft7Validator, Draft201909Validator, Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from pydantic import BaseModel
from referencing.exceptions import Unresolvable
from rfc3986_validator import validate_rfc3986

from apprentice.errors import ShapeError

_DIALECTS = {
    cls.ID_OF(cls.META_SCHEMA).rstrip("#"): cls
    for cls in (Draft4Validator, Draft6Validator, Draft7Validator, Draft201909Validator, Draft202012Validator)
}


def dialect(schema: Any) -> Any:
    """jsonschema's validator class for the schema's `$schema` (2020-12 when absent or unknown).

    Looked up here rather than with `jsonschema.validators.validator_for`: importing Prefect
    registers its own validator class for the 2020-12 URI, so that lookup would change with
    import order (and add a hook to every subschema).
    """
    uri = schema.get("$schema") if isinstance(schema, dict) else None
    return _DIALECTS.get(uri.rstrip("#"), Draft202012Validator) if isinstance(uri, str) else Draft202012Validator


class ValidationIssue(BaseModel):
    """One reason a record is invalid: where (JSON pointer), what, and which keyword."""

    path: str
    message: str
    keyword: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


_ASCII = "".join(map(chr, range(0x80)))  # everything ASCII stays as it is, to be judged as a URI


def _as_uri(iri: str) -> str:
    """RFC 3987 §3.1: an IRI maps to a URI by percent-encoding its non-ASCII characters as UTF-8."""
    return quote(iri, safe=_ASCII)


def _iri_check(rule: str) -> Callable[[object], bool]:
    """A format check for IRIs: a string whose URI mapping is a valid `rule` of RFC 3986."""

    def check(instance: object) -> bool:
        return not isinstance(instance, str) or bool(validate_rfc3986(_as_uri(instance), rule=rule))

    return check


@lru_cache(maxsize=8)
def format_checker(cls: Any) -> FormatChecker:
    """The dialect's format checker, with `iri` and `iri-reference` checked through their URI mapping
    (jsonschema checks them only with rfc3987-syntax installed, which costs every import a second)."""
    checker = FormatChecker()
    checker.checkers = dict(cls.FORMAT_CHECKER.checkers)
    if cls not in (Draft4Validator, Draft6Validator):  # both formats arrived in draft 7
        checker.checkers.setdefault("iri", (_iri_check("URI"), ()))
        checker.checkers.setdefault("iri-reference", (_iri_check("URI_reference"), ()))
    return checker


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = dialect(schema)
    return cls(schema, format_checker=format_checker(cls))


_RECENT: dict[int, tuple[Any, Any]] = {}


def validator(schema: Any) -> Any:
    """A compiled validator for `schema`; the same schema object skips re-serialising it."""
    hit = _RECENT.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    compiled = _validator(json.dumps(schema, sort_keys=True))
    if len(_RECENT) > 256:
        _RECENT.clear()
    _RECENT[id(schema)] = (schema, compiled)  # holding the schema keeps its id from being reused
    return compiled


def validate(value: Any, schema: Any, *, limit: int = 20) -> list[ValidationIssue]:
    """Every way `value` breaks `schema` (up to `limit`), deepest paths first; [] means valid.
    A number JSON cannot hold is reported alone, before jsonschema sees it (see `non_finite`)."""
    unrepresentable = non_finite(value)
    if unrepresentable:
        return unrepresentable[:limit]
    try:
        errors = sorted(validator(schema).iter_errors(value), key=lambda e: (-len(e.absolute_path), str(e.absolute_path)))
    except Unresolvable as exc:
        raise ShapeError(f"the schema has a $ref that cannot be resolved: {exc}") from None
    except RecursionError:  # a recursive schema walked through a deeply nested value: some 40 frames a level
        return [ValidationIssue(path="", message="the value is nested too deeply to be validated", keyword="depth")]
    return [_issue(e) for e in errors[:limit]]


def non_finite(value: Any) -> list[ValidationIssue]:
    """Numbers JSON cannot hold: Python reads a model's `1e999` as infinity (and `NaN` as NaN) and
    jsonschema counts them as numbers (or crashes on them under a decimal `multipleOf`), but no
    JSON document can carry them: the mock API could not send such a record (a 500) and a JSONL
    reader other than Python's would refuse the line. Walked without recursion: a client's
    value may nest deeper than Python's stack."""
    found, stack = [], [("", value)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            found.append(ValidationIssue(path=pointer, message=f"{node} is not a JSON number", keyword="type"))
        elif isinstance(node, dict):
            stack.extend((f"{pointer}/{_escaped(str(k))}", v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((f"{pointer}/{n}", v) for n, v in enumerate(node))
    return sorted(found, key=lambda i: i.path)


def _issue(error: ValidationError) -> ValidationIssue:
    pointer = "".join("/" + _escaped(str(p)) for p in error.absolute_path)
    message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
    return ValidationIssue(path=pointer, message=message, keyword=str(error.validator))


def _escaped(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def declared_types(schema: Any) -> set[str]:
    """The JSON types a subschema's `type` names ({} when it names none)."""
    declared = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(declared, str):
        return {declared}
    return {t for t in declared if isinstance(t, str)} if isinstance(declared, list) else set()


_WRAPPED: dict[tuple[int, str], tuple[Any, dict[str, Any]]] = {}


def field_issues(schema: Any, name: str, value: Any, *, limit: int = 3) -> list[ValidationIssue]:
    """How `value` breaks the schema of top-level field `name` of `schema` (local `$ref`s still
    resolve): the check for one value a sampler or a seed row sets before the record exists."""
    hit = _WRAPPED.get((id(schema), name))
    if hit is None or hit[0] is not schema:
        root = schema if isinstance(schema, dict) else {}
        wrapper = {k: root[k] for k in ("$schema", "$defs", "definitions") if k in root}
        props = given if isinstance(given := root.get("properties"), dict) else {}
        wrapper.update(type="object", properties={name: props.get(name, {})})
        if len(_WRAPPED) > 512:
            _WRAPPED.clear()
        hit = _WRAPPED[(id(schema), name)] = (schema, wrapper)  # holding the schema keeps its id from being reused
    return validate({name: value}, hit[1], limit=limit)
