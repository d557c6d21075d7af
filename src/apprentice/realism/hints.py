"""The schema's hint texts per field (`description`, `title`, string `examples`), keyed like leaves.

These are what a small model echoes: the echo, prose and truncation checks read them.
"""

from __future__ import annotations

from typing import Any

from apprentice.realism.leaves import _escape
from apprentice.shapes.fields import resolve_ref


def _hint_texts(schema: Any) -> dict[str, list[tuple[str, str]]]:
    """(keyword, text) pairs per schema key: `description`, `title` and string `examples`."""
    out: dict[str, list[tuple[str, str]]] = {}

    def walk(sub: Any, key: str, depth: int) -> None:
        sub = resolve_ref(sub, schema)
        examples = sub.get("examples")
        pairs = [("description", sub.get("description")), ("title", sub.get("title"))]
        pairs += [("examples", e) for e in (examples if isinstance(examples, list) else [])]
        found = [(kw, t.strip()) for kw, t in pairs if isinstance(t, str) and t.strip()]
        if found and key:
            out[key] = found
        if depth > 20:
            return
        for name, child in (sub.get("properties") or {}).items():
            walk(child, f"{key}/{_escape(name)}", depth + 1)
        if isinstance(sub.get("items"), dict):
            walk(sub["items"], f"{key}/*", depth + 1)

    walk(schema, "", 0)
    return out


def hints_of(schema: Any) -> dict[str, str]:
    """The hint texts per field, keyed by JSON pointer (`*` for array items): its `description`
    (where a shape from an example keeps its hint), `title` and string `examples`, one a line."""
    return {key: "\n".join(text for _, text in pairs) for key, pairs in _hint_texts(schema).items()}
