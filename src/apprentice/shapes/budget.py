"""What a schema costs a model, known before any call: the smallest record it forces, and a
copy small enough to show the model and compile as a grammar.

A model backend writes at most `max_tokens` per call. A schema whose required fields alone need
more than that can never be answered in one call: the grammar keeps the model writing until the
cut, the record is invalid, corrections and regenerations repeat the same cut, and the user
waits minutes for nothing. `floor_tokens` walks the schema's required paths (local `$ref`s,
`allOf`, the cheapest `anyOf`/`oneOf` branch, `minItems`, `minLength`, formats) to the smallest
JSON document it forces, and counts it at a JSON-heavy ratio of characters per token.
"""

from __future__ import annotations

import json
import re
from typing import Any

from apprentice.shapes.fields import resolve_ref

__all__ = ["CHARS_PER_TOKEN", "fit_schema", "floor_tokens", "smallest_record"]

CHARS_PER_TOKEN = 3.0
"""JSON punctuation, keys and short values tokenize densely: about three characters per token on
SmolLM2's and GPT-style BPE vocabularies (measured on the shared schemas' minimal records)."""

_FORMATS = {
    "date-time": "2020-01-01T00:00:00Z",
    "date": "2020-01-01",
    "time": "00:00:00Z",
    "email": "a@b.co",
    "uri": "http://a.b",
    "uuid": "00000000-0000-0000-0000-000000000000",
}
_MAX_DEPTH = 24
_MAX_ITEMS = 64
_MAX_STEPS = 50_000


def smallest_record(schema: Any) -> Any:
    """The smallest JSON document `schema` forces: required properties only, the fewest items,
    the shortest strings. An approximation (it does not prove the document valid), erring small:
    a `$ref` met again inside itself counts as `null`, and a schema too big to walk is cut off."""
    return _Walk(schema).smallest(schema, 0)


class _Walk:
    """One walk over a schema, with each `$ref`'s smallest document computed once."""

    def __init__(self, root: Any) -> None:
        self.root, self.steps = root, 0
        self.refs: dict[str, Any] = {}
        self.open: set[str] = set()

    def smallest(self, schema: Any, depth: int) -> Any:
        self.steps += 1
        if not isinstance(schema, dict) or depth > _MAX_DEPTH or self.steps > _MAX_STEPS:
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str) and len(schema) == 1:
            if ref in self.open:
                return None
            if ref not in self.refs:
                self.open.add(ref)
                self.refs[ref] = self.smallest(resolve_ref(schema, self.root), depth + 1)
                self.open.discard(ref)
            return self.refs[ref]
        schema = resolve_ref(schema, self.root)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return min(schema["enum"], key=_size)
        for part in schema.get("allOf") or []:
            schema = _merge(schema, resolve_ref(part, self.root))
        branches = [b for key in ("anyOf", "oneOf") for b in schema.get(key) or [] if isinstance(b, dict)]
        if branches:
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "allOf")}
            return min((self.smallest(_merge(rest, b) if rest else b, depth + 1) for b in branches), key=_size)
        return self.of_type(schema, depth)

    def of_type(self, schema: dict[str, Any], depth: int) -> Any:
        declared = schema.get("type")
        kind = declared[0] if isinstance(declared, list) and declared else declared
        if kind is None:
            kind = "object" if "properties" in schema or "required" in schema else "array" if "items" in schema else None
        if kind == "object":
            props = given if isinstance(given := schema.get("properties"), dict) else {}
            required = [name for name in schema.get("required") or [] if isinstance(name, str)]
            return {name: self.smallest(props.get(name, {}), depth + 1) for name in required}
        if kind == "array":
            count = min(int(schema.get("minItems") or 0), _MAX_ITEMS)
            return [self.smallest(schema.get("items", {}), depth + 1) for _ in range(count)]
        if kind == "string":
            return _FORMATS.get(str(schema.get("format")), "").ljust(min(int(schema.get("minLength") or 0), 4096), "x")
        if kind in ("integer", "number"):
            return schema.get("minimum", 0)
        return False if kind == "boolean" else None


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


def floor_tokens(schema: Any) -> int:
    """Output tokens the smallest valid record of `schema` needs (at least 1)."""
    return max(1, round(_size(smallest_record(schema)) / CHARS_PER_TOKEN))


def _merge(base: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """`allOf` as one schema: properties and required lists combined, other keywords overlaid."""
    merged = {**base, **{k: v for k, v in part.items() if k not in ("properties", "required")}}
    merged["properties"] = {**(base.get("properties") or {}), **(part.get("properties") or {})}
    merged["required"] = list(dict.fromkeys([*(base.get("required") or []), *(part.get("required") or [])]))
    if not merged["properties"]:
        del merged["properties"]
    if not merged["required"]:
        del merged["required"]
    return merged


def fit_schema(schema: Any, max_chars: int) -> Any:
    """See `_fit`; the same schema object is fitted once (a call per stage would repeat the work)."""
    hit = _FITTED.get((id(schema), max_chars))
    if hit is None or hit[0] is not schema:
        if len(_FITTED) > 256:
            _FITTED.clear()
        hit = _FITTED[(id(schema), max_chars)] = (schema, _fit(schema, max_chars))  # holding the schema keeps its id from being reused
    return hit[1]


_FITTED: dict[tuple[int, int], tuple[Any, Any]] = {}


def _fit(schema: Any, max_chars: int) -> Any:
    """A schema small enough to show a model and to compile as its grammar: `schema` itself when
    its JSON is at most `max_chars`, else a copy with optional properties dropped, largest
    subtree first (with the `$defs` only they used), until it fits or only required parts are
    left. A document valid for the copy is valid for `schema` (dropped properties become
    forbidden in the copy, never differently typed), short of one that matches two branches of
    a narrowed root `oneOf`; validation keeps using the full schema.
    A real-world schema of 60 KB otherwise reaches the model cut mid-JSON and the grammar engine
    as a million-character grammar."""
    if not isinstance(schema, dict) or _size(schema) <= max_chars:
        return schema
    pruned = _trimmed(json.loads(json.dumps(schema)))
    if _size(pruned) > max_chars:
        pruned = _one_branch(pruned)
    for _ in range(_MAX_PRUNES):
        excess = _size(pruned) - max_chars
        if excess <= 0:
            break
        optional = sorted(_optional_properties(pruned), key=lambda c: c[0], reverse=True)
        if not optional:
            break
        saved = 0
        for size, owner, name in optional:  # the largest first, until the excess is covered
            if name in owner.get("properties", {}):
                del owner["properties"][name]
                owner["additionalProperties"] = False
                saved += size
            if saved >= excess:
                break
        _drop_unused_definitions(pruned)
    return pruned


_MAX_PRUNES = 50
_ANNOTATIONS = ("examples", "$comment", "default", "deprecated", "readOnly", "writeOnly")
_DESCRIPTION_CHARS = 120
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedProperties")


def _trimmed(node: Any) -> Any:
    """Annotations that validate nothing dropped, descriptions cut to a sentence's length: the
    first savings, before any property goes."""
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if k not in _ANNOTATIONS}
    if isinstance(out.get("description"), str) and len(out["description"]) > _DESCRIPTION_CHARS:
        out["description"] = out["description"][: _DESCRIPTION_CHARS - 1].rstrip() + "…"
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: _trimmed(sub) for name, sub in out[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_trimmed(sub) for sub in out[key]]
    for key in _SCHEMA_VALUES:
        if key in out:
            out[key] = [_trimmed(sub) for sub in out[key]] if isinstance(out[key], list) else _trimmed(out[key])
    return out


def _one_branch(schema: dict[str, Any]) -> dict[str, Any]:
    """A root `oneOf`/`anyOf` of several documents narrowed to its smallest branch: the model
    writes one kind of document well rather than a blend of all of them that none accepts."""
    for key in ("oneOf", "anyOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and len(branches) > 1 and all(isinstance(b, dict) for b in branches):
            chosen = min(branches, key=lambda b: _size(resolve_ref(b, schema)))
            narrowed = {**schema, key: [chosen]}
            _drop_unused_definitions(narrowed)
            return narrowed
    return schema


def _optional_properties(schema: Any) -> list[tuple[int, dict[str, Any], str]]:
    """(size including the definitions it refers to, owning object schema, name) of every optional property."""
    found: list[tuple[int, dict[str, Any], str]] = []
    definitions = {f"#/{key}/{name}": sub for key in ("$defs", "definitions") for name, sub in (schema.get(key) or {}).items()}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        props = node.get("properties")
        if isinstance(props, dict):
            required = set(node.get("required") or [])
            for name, sub in props.items():
                if name not in required:
                    text = json.dumps(sub)
                    found.append((len(text) + sum(_size(d) for ref, d in definitions.items() if _refs_to(ref).search(text)), node, name))
        for value in node.values():
            walk(value)

    walk(schema)
    return found


def _drop_unused_definitions(schema: dict[str, Any]) -> None:
    """Remove `$defs`/`definitions` entries no `$ref` outside themselves reaches any more."""
    while True:
        text, dropped = json.dumps(schema), False
        for key in ("$defs", "definitions"):
            defs = schema.get(key)
            if not isinstance(defs, dict):
                continue
            for name in list(defs):
                uses = _refs_to(f"#/{key}/{name}")
                if len(uses.findall(text)) == len(uses.findall(json.dumps(defs[name]))):
                    del defs[name]
                    dropped = True
            if defs == {}:
                del schema[key]
        if not dropped:
            return


def _refs_to(pointer: str) -> re.Pattern[str]:
    """`$ref` values pointing at `pointer` or inside it, as they appear in the schema's JSON."""
    return re.compile(re.escape(json.dumps(pointer)[:-1]) + r'(?:"|/)')
