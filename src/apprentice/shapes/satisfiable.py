"""Cheap proofs that a schema cannot be satisfied, found before any model is called.

This is not a decision procedure (that is undecidable in general); it finds the contradictions
people actually write: `false` schemas on required paths, empty enums, min above max, a const or
enum outside the declared type, disjoint `allOf` types, and `$ref`s that point nowhere.
"""

from __future__ import annotations

from typing import Any, TypeGuard
from urllib.parse import unquote

_PY_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer(),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
_BOUNDS = [
    ("minimum", "maximum"),
    ("minLength", "maxLength"),
    ("minItems", "maxItems"),
    ("minProperties", "maxProperties"),
]


def find_contradiction(schema: Any, root: Any = None, path: str = "", depth: int = 0) -> str | None:
    """A human-readable reason the schema is unsatisfiable, or None if none was found."""
    root = schema if root is None else root
    where = path or "(root)"
    if schema is False:
        return f"{where} is the schema `false`, which nothing satisfies"
    if not isinstance(schema, dict) or depth > 40:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        target = _resolve_local(root, ref)
        if target is _MISSING:
            return f"{where} refers to {ref}, which does not exist in the schema"
    types = _types(schema)
    if types is not None and not types:
        return f"{where} allows no type (empty `type` list)"
    for key in ("enum",):
        if key in schema and isinstance(schema[key], list):
            values = schema[key]
            if not values:
                return f"{where} has an empty enum"
            if types is not None and not any(_fits(v, types) for v in values):
                return f"{where}: no enum value is of type {'/'.join(sorted(types))}"
    if "const" in schema and types is not None and not _fits(schema["const"], types):
        return f"{where}: const {schema['const']!r} is not of type {'/'.join(sorted(types))}"
    for low, high in _BOUNDS:
        lo, hi = schema.get(low), schema.get(high)
        if _num(lo) and _num(hi) and lo > hi:
            return f"{where}: {low} {lo} is greater than {high} {hi}"
    lo, hi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if _num(lo) and _num(hi) and lo >= hi:
        return f"{where}: exclusiveMinimum {lo} is not below exclusiveMaximum {hi}"
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        declared = [t for t in (_types(s) for s in all_of if isinstance(s, dict)) if t is not None]
        if types is not None:
            declared.append(types)
        if declared and not _intersect(declared):
            return f"{where}: allOf requires types that do not overlap"
        for i, sub in enumerate(all_of):
            found = find_contradiction(sub, root, f"{path}/allOf/{i}", depth + 1)
            if found:
                return found
    props = schema.get("properties")
    if isinstance(props, dict):
        required = req if isinstance(req := schema.get("required"), list) else []
        for name in required:
            if name in props:
                found = find_contradiction(props[name], root, f"{path}/{name}", depth + 1)
                if found:
                    return found
            elif schema.get("additionalProperties") is False and not schema.get("patternProperties"):
                return f"{where} requires '{name}' but forbids properties other than those it lists"
    if (types is None or types == {"array"}) and isinstance(schema.get("items"), (dict, bool)):
        min_items = schema.get("minItems", 0)
        if _num(min_items) and min_items > 0:
            found = find_contradiction(schema["items"], root, f"{path}/0", depth + 1)
            if found:
                return found
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            reasons = [find_contradiction(o, root, f"{path}/{key}/{i}", depth + 1) for i, o in enumerate(options)]
            if all(reasons):
                return f"{where}: no branch of {key} can be satisfied ({reasons[0]})"
    return None


_MISSING = object()


def _resolve_local(root: Any, ref: str) -> Any:
    node = root
    pointer = unquote(ref[1:])
    if not pointer:
        return node
    if not pointer.startswith("/"):
        return node  # an anchor name: leave it to the validator
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _types(schema: dict[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    items = declared if isinstance(declared, list) else [declared]
    out = {t for t in items if isinstance(t, str)}
    if "number" in out:
        out.add("integer")
    return out


def _intersect(type_sets: list[set[str]]) -> set[str]:
    result = set(type_sets[0])
    for types in type_sets[1:]:
        result &= types
    return result


def _fits(value: Any, types: set[str]) -> bool:
    return any(_PY_TYPES[t](value) for t in types if t in _PY_TYPES)


def _num(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_MANY = ("allOf", "anyOf", "oneOf")
_DESCEND_ONE = (
    "additionalProperties",
    "items",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
)
_DESCEND_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def ref_cycle(root: Any) -> str | None:
    """A loop of `$ref`s (possibly through allOf/anyOf/oneOf/not/if/then/else) that comes back to
    where it started without descending into a property or an item, as `#/a → #/b → #/a`; None
    when there is none. Validating any value against such a schema never ends (jsonschema dies
    with a RecursionError), so it is refused before a run instead of at its first record."""
    pointers = _subschemas(root)
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in pointers.values():
        if id(start[0]) in state:
            continue
        path, stack = [start], [iter(_in_place(start[0], start[1], root))]
        state[id(start[0])] = 1
        while stack:
            step = next(stack[-1], None)
            if step is None:
                state[id(path.pop()[0])] = 2
                stack.pop()
            elif state.get(id(step[0])) == 1:
                loop = [p for _, p in path[[id(n) for n, _ in path].index(id(step[0])) :]] + [step[1]]
                return " → ".join(loop)
            elif id(step[0]) not in state:
                state[id(step[0])] = 1
                path.append(step)
                stack.append(iter(_in_place(step[0], step[1], root)))
    return None


def dangling_ref(root: Any) -> str | None:
    """The first local `$ref` anywhere in the schema (not only on required paths) that points
    nowhere, as `where refers to #/x, which does not exist`; a validator raises on it as soon as
    a value reaches it, so it is refused before a run rather than at some record."""
    nodes = list(_subschemas(root).values())
    names = [(k, n.get(k)) for n, _ in nodes for k in ("$anchor", "$dynamicAnchor", "$id", "id") if isinstance(n.get(k), str)]
    anchors = {f"#{v}" if k.endswith("nchor") else v for k, v in names}
    for node, where in nodes:
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#") or ref == "#":
            continue
        if _resolve_local(root, ref) is _MISSING if ref.startswith("#/") else ref not in anchors:
            return f"{where.removeprefix('#') or '(root)'} refers to {ref}, which does not exist in the schema"
    return None


def _in_place(node: dict[str, Any], where: str, root: Any):
    """The subschemas a validator applies to the same value as `node` (with where they are)."""
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") or ref == "#":
        target = _resolve_local(root, ref)
        if isinstance(target, dict):
            yield target, ref
    for key in _IN_PLACE_ONE:
        if isinstance(node.get(key), dict):
            yield node[key], f"{where}/{key}"
    for key in _IN_PLACE_MANY:
        if isinstance(node.get(key), list):
            yield from ((sub, f"{where}/{key}/{i}") for i, sub in enumerate(node[key]) if isinstance(sub, dict))


def _subschemas(root: Any) -> dict[int, tuple[dict[str, Any], str]]:
    """Every subschema of `root` by identity, with a JSON pointer to it (walked without recursion)."""
    found: dict[int, tuple[dict[str, Any], str]] = {}
    stack = [(root, "#")]
    while stack:
        node, where = stack.pop()
        if not isinstance(node, dict) or id(node) in found:
            continue
        found[id(node)] = (node, where)
        children = [(node.get(k), f"{where}/{k}") for k in (*_IN_PLACE_ONE, *_DESCEND_ONE)]
        children += [
            (sub, f"{where}/{k}/{i}")
            for k in (*_IN_PLACE_MANY, "prefixItems", "items")
            if isinstance(node.get(k), list)
            for i, sub in enumerate(node[k])
        ]
        children += [(sub, f"{where}/{k}/{name}") for k in _DESCEND_MAP if isinstance(node.get(k), dict) for name, sub in node[k].items()]
        stack.extend(children)
    return found
