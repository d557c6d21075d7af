"""Walking a record alongside its schema: every scalar with its pointer, schema key and subschema.

A leaf's key writes array indices as `*`, so the leaves of every item share the key their hint
texts (`hints`) are filed under.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from apprentice.shapes.fields import resolve_ref


@dataclass(frozen=True)
class _Leaf:
    """A scalar of the record: its pointer, its schema key (array indices as `*`), the name of
    the property it sits under, its value and its subschema."""

    pointer: str
    key: str
    name: str
    value: Any
    sub: Mapping[str, Any]


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _child(sub: Mapping[str, Any], part: str | int, root: Any) -> Mapping[str, Any]:
    """The subschema for an object property or an array item."""
    if isinstance(part, int):
        prefix = sub.get("prefixItems")
        if isinstance(prefix, list) and part < len(prefix):
            return resolve_ref(prefix[part], root)
        return resolve_ref(sub.get("items"), root)
    props = sub.get("properties")
    if isinstance(props, dict) and part in props:
        return resolve_ref(props[part], root)
    return resolve_ref(sub.get("additionalProperties"), root)


def _leaves(value: Any, sub: Mapping[str, Any], root: Any, pointer: str = "", key: str = "", name: str = "") -> Iterator[_Leaf]:
    """Every scalar of `value`, depth first, with its subschema."""
    if isinstance(value, dict):
        for part, child in value.items():
            step = "/" + _escape(str(part))
            yield from _leaves(child, _child(sub, str(part), root), root, pointer + step, key + step, str(part))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _leaves(child, _child(sub, i, root), root, f"{pointer}/{i}", key + "/*", name)
    elif value is not None:
        yield _Leaf(pointer, key, name, value, sub)


def _enumerated(sub: Mapping[str, Any]) -> bool:
    return "enum" in sub or "const" in sub
