"""How hard a schema is for a model: counts of what makes it hard and a 0–100 score.

The score adds up fields, nesting depth, arrays, enums and constraints (formats, patterns,
bounds), combinators and references, the spec's rules and the size of N. Complexity routing
(`patterns/routed.py`) maps it to a tier; request classes (`learning/requests.py`) reuse the counts.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from apprentice.config import Tier
from apprentice.shapes.nodes import is_array, schema_nodes

CONSTRAINTS = set(
    "pattern format minimum maximum exclusiveMinimum exclusiveMaximum multipleOf minLength maxLength minItems maxItems uniqueItems"
    " minProperties maxProperties const".split()
)
COMBINATORS = {"anyOf", "oneOf", "allOf", "not", "if"}


class Complexity(BaseModel):
    """The routing decision's evidence: the counts, the score, the tier and why."""

    fields: int = 0
    depth: int = 0
    arrays: int = 0
    enums: int = 0
    constraints: int = 0
    combinators: int = 0
    refs: int = 0
    rules: int = 0
    n: int = 1
    score: float = 0.0
    tier: Tier = Tier.fast
    reasons: list[str] = []


def score_complexity(schema: Any, *, rules: int = 0, n: int = 1) -> Complexity:
    """Count what makes `schema` hard and turn it into a 0–100 score (saturating)."""
    c = Complexity(rules=rules, n=max(1, n))
    _count(schema, c)
    parts = {
        "fields": 1.5 * c.fields,
        "nesting": 8.0 * max(0, c.depth - 2),  # a flat object (depth 2: object, leaves) adds nothing
        "arrays": 4.0 * c.arrays,
        "enums": 1.5 * c.enums,
        "constraints": 2.0 * c.constraints,
        "combinators": 6.0 * c.combinators,
        "references": 4.0 * c.refs,
        "rules": 5.0 * c.rules,
        "size of N": 4.0 * math.log10(c.n),
    }
    c.score = round(min(100.0, sum(parts.values())), 1)
    top = sorted(((v, k) for k, v in parts.items() if v > 0), reverse=True)[:3]
    c.reasons = [f"{k} +{v:.0f}" for v, k in top]
    return c


def _count(schema: Any, c: Complexity) -> None:
    """Count the schema's fields, depth, arrays, enums, constraints, combinators and references."""
    for node, depth, _name in schema_nodes(schema):
        c.depth = max(c.depth, depth)
        props = node.get("properties")
        c.fields += len(props) if isinstance(props, dict) else 0
        c.arrays += is_array(node)
        c.enums += "enum" in node
        c.constraints += len(CONSTRAINTS & node.keys())
        c.combinators += len(COMBINATORS & node.keys())
        c.refs += "$ref" in node
