"""Request classes: what a request for data is, as features, a class key and a lexical vector.

A request is a shape (its JSON Schema), the workflow spec it runs with, N and any instructions.
`features_of` counts what a model finds hard or easy in it (field kinds and formats, depth,
constraints, combinators, free-text fields, the spec's rules), on the same walk as complexity
routing. `class_of` buckets those counts into a short, stable, human-readable key such as
`flat·small·text-heavy·formats`: the unit the learned router keeps outcomes for. `representation`
turns a request into a sparse lexical vector (field names, formats, kinds, hint and instruction
words) that the solution library compares with `similarity` (cosine).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from typing import Any

from pydantic import BaseModel, Field

from apprentice.complexity import score_complexity
from apprentice.shapes.fields import snake_case
from apprentice.shapes.nodes import schema_nodes
from apprentice.workflows import Pattern, WorkflowSpec

STOPWORDS = frozenset("the and for with that this from into each are was were its their them they has have not but any all one".split())
N_BUCKETS = ((1, "1"), (10, "≤10"), (100, "≤100"), (1000, "≤1k"))


class RequestFeatures(BaseModel):
    """What a request asks for, counted: the evidence its class and its representation rest on."""

    fields: int = Field(0, description="properties at every level")
    leaves: int = Field(0, description="properties that are not objects or arrays")
    depth: int = 0
    arrays: int = 0
    enums: int = 0
    constraints: int = Field(0, description="bounds, lengths, patterns and formats")
    combinators: int = Field(0, description="anyOf/oneOf/allOf/not/if and $refs")
    rules: int = Field(0, description="the spec's rules beyond JSON Schema")
    kinds: dict[str, int] = Field(default_factory=dict, description="property kind → count: text, format, code, enum, number, boolean...")
    formats: dict[str, int] = Field(default_factory=dict, description="string format → count")
    field_names: list[str] = Field(default_factory=list, description="property names in snake_case, sorted")
    words: list[str] = Field(default_factory=list, description="words of the hints, the spec's description and prompts, and instructions")
    pattern: str = Pattern.sequential.value
    statistics: bool = False
    n: int = 1
    score: float = Field(0.0, description="the complexity score static routing uses (0–100)")

    @property
    def n_bucket(self) -> str:
        return next((label for top, label in N_BUCKETS if self.n <= top), ">1k")

    @property
    def text_share(self) -> float:
        return self.kinds.get("text", 0) / max(1, self.leaves)


def features_of(schema: Any, spec: WorkflowSpec | None = None, *, n: int = 1, instructions: str = "") -> RequestFeatures:
    """The features of a request for `n` records of `schema` made by `spec`, told `instructions`."""
    complexity = score_complexity(schema, rules=len(spec.rules) if spec else 0, n=n)
    kinds: Counter[str] = Counter()
    formats: Counter[str] = Counter()
    names: set[str] = set()
    hints: list[str] = []
    for node, _depth, name in schema_nodes(schema):
        if isinstance(node.get("description"), str):
            hints.append(node["description"])
        if name is None:
            continue
        names.add(snake_case(name))
        kind = kind_of(node)
        kinds[kind] += 1
        if kind == "format":
            formats[str(node["format"])] += 1
    said = [spec.description, *(s.prompt or "" for s in spec.stages)] if spec else []
    return RequestFeatures(
        fields=complexity.fields,
        leaves=sum(v for k, v in kinds.items() if k not in ("object", "array")),
        depth=complexity.depth,
        arrays=complexity.arrays,
        enums=complexity.enums,
        constraints=complexity.constraints,
        combinators=complexity.combinators + complexity.refs,
        rules=complexity.rules,
        kinds=dict(sorted(kinds.items())),
        formats=dict(sorted(formats.items())),
        field_names=sorted(names),
        words=words_of(" ".join([*hints, *said, instructions])),
        pattern=spec.pattern.value if spec else Pattern.sequential.value,
        statistics=bool(spec and spec.statistics is not None),
        n=complexity.n,
        score=complexity.score,
    )


def kind_of(node: dict[str, Any]) -> str:
    """What a property holds, as a model sees it: free text, a formatted or patterned string, an
    enum, a number, a boolean, an object or an array."""
    kind = node.get("type")
    if "enum" in node or "const" in node:
        return "enum"
    if kind == "string" or (kind is None and ("format" in node or "pattern" in node)):
        return "format" if "format" in node else "code" if "pattern" in node else "text"
    if kind in ("integer", "number"):
        return "number"
    if isinstance(kind, str) and kind in ("boolean", "object", "array", "null"):
        return kind
    return "object" if "properties" in node else "array" if "items" in node else "other"


def words_of(text: str) -> list[str]:
    """The content words and the numbers of a text, lowercased, in order (short and common words
    dropped). Numbers count: "mean 35" and "mean 40" ask for different data."""
    words = [w for w in re.findall(r"[a-z][a-z0-9]+", text.lower()) if len(w) > 2 and w not in STOPWORDS]
    return words + [f"#{n}" for n in re.findall(r"\d+(?:\.\d+)?", text)]


def class_of(features: RequestFeatures) -> str:
    """A stable, readable class key from the features: structure · size · content, then the flags
    that change what a model must get right (formats, constraints, combinators, statistics).
    N is left out: it changes how many records, not how hard each one is."""
    structure = "flat" if features.depth <= 3 else "nested" if features.depth <= 5 else "deep"  # arrays of scalars are flat
    size = "small" if features.fields <= 4 else "medium" if features.fields <= 12 else "large"
    numbers = features.kinds.get("number", 0) / max(1, features.leaves)
    content = "text-heavy" if features.text_share >= 0.5 else "numeric" if numbers >= 0.5 else "mixed"
    flags = [
        "formats" if features.formats else "",
        "constrained" if features.constraints - sum(features.formats.values()) + features.rules >= 4 else "",
        "combinators" if features.combinators else "",
        "statistics" if features.statistics else "",
    ]
    return "·".join([structure, size, content, *(f for f in flags if f)])


WEIGHTS = {"class": 1.0, "field": 1.5, "part": 0.5, "format": 1.0, "kind": 0.5, "word": 0.7, "pattern": 0.5, "n": 0.3}


def representation(features: RequestFeatures, text: str = "") -> dict[str, float]:
    """A sparse, L2-normalised lexical vector of the request: its class, field names (whole and by
    part), formats, kinds (by square root of their count), pattern, N bucket, and the words of its
    hints, instructions and `text` (for a request that is mostly a sentence)."""
    weights: defaultdict[str, float] = defaultdict(float)
    weights[f"class:{class_of(features)}"] += WEIGHTS["class"]
    weights[f"pattern:{features.pattern}"] += WEIGHTS["pattern"]
    weights[f"n:{features.n_bucket}"] += WEIGHTS["n"]
    for name in features.field_names:
        weights[f"field:{name}"] += WEIGHTS["field"]
        for part in name.split("_"):
            if len(part) > 2:
                weights[f"word:{part}"] += WEIGHTS["part"]
    for fmt, count in features.formats.items():
        weights[f"format:{fmt}"] += WEIGHTS["format"] * math.sqrt(count)
    for kind, count in features.kinds.items():
        weights[f"kind:{kind}"] += WEIGHTS["kind"] * math.sqrt(count)
    for word in [*features.words, *words_of(text)]:
        weights[f"word:{word}"] += WEIGHTS["word"]
    norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
    return {k: round(v / norm, 6) for k, v in sorted(weights.items())}


def similarity(a: dict[str, float], b: dict[str, float]) -> float:
    """Cosine similarity of two representations (both normalised): 1 for the same request, 0 for
    requests with nothing in common."""
    if len(a) > len(b):
        a, b = b, a
    return round(min(1.0, sum(v * b.get(k, 0.0) for k, v in a.items())), 6)
