"""The subschemas of a JSON Schema, each with its depth and the property name it sits under.

One walk, shared by what reads a schema's anatomy: complexity routing counts what makes a schema
hard (`patterns/routed.score_complexity`), and request classes count field kinds and formats
(`learning/requests.features_of`). Properties and array items are one level deeper than their
parent; combinator branches, `additionalProperties` and definitions sit at their parent's depth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

SAME_DEPTH = ("anyOf", "oneOf", "allOf", "then", "else", "additionalProperties", "$defs", "definitions")


class SchemaNode(NamedTuple):
    """A subschema, how deep it is (the root object is 1) and the property it describes, if any."""

    schema: dict[str, Any]
    depth: int
    name: str | None = None


def schema_nodes(node: Any, depth: int = 1, name: str | None = None) -> Iterator[SchemaNode]:
    """Every subschema of `node` (dicts only; lists are walked through), parents first."""
    if isinstance(node, list):
        for item in node:
            yield from schema_nodes(item, depth)
        return
    if not isinstance(node, dict):
        return
    yield SchemaNode(node, depth, name)
    props = node.get("properties")
    if isinstance(props, dict):
        for key, child in props.items():
            yield from schema_nodes(child, depth + 1, str(key))
    if is_array(node):
        yield from schema_nodes(node.get("items"), depth + 1)
    for key in SAME_DEPTH:
        if isinstance(node.get(key), (dict, list)):
            children = node[key].values() if key in ("$defs", "definitions") else [node[key]]
            for child in children:
                yield from schema_nodes(child, depth)


def is_array(node: dict[str, Any]) -> bool:
    return node.get("type") == "array" or "items" in node
