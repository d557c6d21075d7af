"""Shapes → JSON Schema.

A shape is either an example document in LLMockApi's style or a JSON Schema (draft-04 to
2020-12). Examples are turned into a strict schema: every key required, no extra keys.

Example conventions: `"string"` any string, `0` integer, `0.0` number, `true` boolean,
`[ {...} ]` array of that item, `"a|b|c"` one of those values, `"ISO-8601"` a date-time,
`"email"`/`"uuid"`/`"uri"`/`"date"` those formats; any other string is a free-text hint kept as
the field's description. A top-level `"$cache": N` asks for N pre-generated variants.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from jsonschema import SchemaError
from pydantic import BaseModel, Field

from apprentice.errors import ShapeError, UnsatisfiableSchemaError
from apprentice.shapes.satisfiable import dangling_ref, find_contradiction, ref_cycle
from apprentice.shapes.validate import dialect
from apprentice.userfiles import read_text

JSON_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}
SCHEMA_KEYWORDS = {"properties", "items", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "required", "$defs", "definitions"}
STRING_FORMATS = {
    "iso-8601": "date-time",
    "date-time": "date-time",
    "date": "date",
    "email": "email",
    "uuid": "uuid",
    "uri": "uri",
    "url": "uri",
}


class Shape(BaseModel):
    """A request's shape, compiled: the JSON Schema every record must satisfy."""

    kind: Literal["example", "schema"]
    json_schema: dict[str, Any] | bool
    source: Any = None
    cache_variants: int = Field(0, ge=0)

    @property
    def fingerprint(self) -> str:
        """Content hash of the schema: two shapes with the same schema share caches."""
        canonical = json.dumps(self.json_schema, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def looks_like_schema(document: Any) -> bool:
    if isinstance(document, bool):
        return True
    if not isinstance(document, dict):
        return False
    if "$schema" in document or "$ref" in document:
        return True
    declared = document.get("type")
    types = declared if isinstance(declared, list) else [declared]
    if declared is not None and all(isinstance(t, str) and t in JSON_TYPES for t in types):
        return bool(SCHEMA_KEYWORDS & document.keys()) or len(document) <= 3
    return bool({"properties", "anyOf", "oneOf", "allOf"} & document.keys()) and all(
        isinstance(document.get(k), (dict, list)) for k in {"properties", "anyOf", "oneOf", "allOf"} & document.keys()
    )


def example_to_schema(example: Any) -> dict[str, Any]:
    """Infer a strict JSON Schema from an example document."""
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int):
        return {"type": "integer"}
    if isinstance(example, float):
        return {"type": "number"}
    if example is None:
        return {"type": "null"}
    if isinstance(example, str):
        return _string_schema(example)
    if isinstance(example, list):
        if not example:
            return {"type": "array"}
        return {"type": "array", "items": example_to_schema(example[0]), "minItems": 1}
    if isinstance(example, dict):
        props = {k: example_to_schema(v) for k, v in example.items() if k != "$cache"}
        return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
    raise ShapeError(f"cannot infer a schema from a {type(example).__name__}")


def _string_schema(text: str) -> dict[str, Any]:
    lowered = text.strip().lower()
    if lowered in ("string", ""):
        return {"type": "string", "minLength": 1}
    if lowered in STRING_FORMATS:
        return {"type": "string", "format": STRING_FORMATS[lowered]}
    if "|" in text and all(part.strip() for part in text.split("|")):
        return {"type": "string", "enum": [part.strip() for part in text.split("|")]}
    return {"type": "string", "minLength": 1, "description": text}


def compile_shape(document: Any, *, kind: Literal["example", "schema"] | None = None) -> Shape:
    """Turn a shape document into a checked `Shape`.

    Raises `ShapeError` for a document that is not a usable schema (or nested deeper than Python
    can walk) and `UnsatisfiableSchemaError` for a schema no document can satisfy, before any
    model is called.
    """
    if (depth := nesting(document)) > MAX_NESTING:
        raise ShapeError(f"the shape is nested {depth} levels deep; apprentice reads shapes at most {MAX_NESTING} levels deep")
    try:
        return _compile(document, kind)
    except RecursionError:
        raise ShapeError("the shape is nested too deeply to be read") from None


MAX_NESTING = 100
"""Objects and arrays inside each other, at most. Real schemas stay far below (the deepest of the
6,473 JSONSchemaBench schemas is 24); every stage of a run walks the schema recursively, and a deeper one would
end it with a RecursionError at the first record instead of a line now."""


def nesting(document: Any) -> int:
    """How many objects and arrays deep `document` goes (walked without recursion)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _compile(document: Any, kind: Literal["example", "schema"] | None) -> Shape:
    kind = kind or ("schema" if looks_like_schema(document) else "example")
    cache_variants = 0
    if isinstance(document, dict) and "$cache" in document:
        cache_variants = document["$cache"]
        if not isinstance(cache_variants, int) or isinstance(cache_variants, bool) or cache_variants < 0:
            raise ShapeError(f"$cache must be a non-negative integer, got {cache_variants!r}")
        document = {k: v for k, v in document.items() if k != "$cache"}
    if kind == "example":
        if not isinstance(document, (dict, list)):
            raise ShapeError("an example shape must be a JSON object or array")
        schema: dict[str, Any] | bool = example_to_schema(document)
    else:
        if not isinstance(document, (dict, bool)):
            raise ShapeError(f"a JSON Schema must be an object or a boolean, got {type(document).__name__}")
        schema = document
        check_schema(schema)
    cycle = ref_cycle(schema)
    if cycle:
        raise ShapeError(
            f"the schema refers to itself without end: {cycle}; a $ref must lead into a property or an item before it comes back"
        )
    contradiction = find_contradiction(schema)
    if contradiction:
        raise UnsatisfiableSchemaError(f"the schema cannot be satisfied: {contradiction}")
    dangling = dangling_ref(schema)
    if dangling:
        raise ShapeError(f"the schema has a $ref that cannot be resolved: {dangling}")
    return Shape(kind=kind, json_schema=schema, source=document, cache_variants=cache_variants)


def check_schema(schema: dict[str, Any] | bool) -> None:
    """Validate the schema against its own dialect's metaschema."""
    cls = dialect(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.path) if exc.path else "(root)"
        raise ShapeError(f"not a valid JSON Schema at {where}: {exc.message}") from None


def load_shape(path: Path | str) -> Shape:
    """Read a shape file (JSON). `*.schema.json` is always a JSON Schema; otherwise it is guessed."""
    path = Path(path)
    text = read_text(path, "shape file", ShapeError)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ShapeError(f"shape file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ShapeError(f"shape file {path} is nested too deeply (hundreds of levels) to be read") from None
    kind: Literal["schema"] | None = "schema" if path.name.endswith(".schema.json") else None
    return compile_shape(document, kind=kind)
