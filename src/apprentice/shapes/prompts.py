"""Prompts for generating, enriching and correcting records. Plain strings, no model specifics."""

from __future__ import annotations

import json
from typing import Any

from apprentice.backends.grammar import STEER_PATTERN, is_free_prose
from apprentice.backends.types import ChatMessage
from apprentice.shapes.budget import fit_schema
from apprentice.shapes.validate import ValidationIssue

SYSTEM = "You generate realistic, varied test data. Answer with one JSON value and nothing else: no prose, no code fences."
MAX_SCHEMA_CHARS = 6000


def schema_text(schema: Any) -> str:
    """The schema as the model reads it: a big one without its optional parts (`fit_schema`), and
    without grammar-only steering, which SmolLM2 copied into the text ("Vantage Camping Lantern
    [^Vat-Stampion] is…")."""
    return json.dumps(fit_schema(_unsteered(schema), MAX_SCHEMA_CHARS), separators=(",", ":"))


def _unsteered(schema: Any) -> Any:
    """`schema` without the steering of its top-level properties (where `patterns.given` puts
    it); the same object when nothing is steered, so `fit_schema`'s cache still holds."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict) or not any(isinstance(sub, dict) and STEER_PATTERN in sub for sub in props.values()):
        return schema
    plain = {k: {kk: v for kk, v in sub.items() if kk != STEER_PATTERN} if isinstance(sub, dict) else sub for k, sub in props.items()}
    return {**schema, "properties": plain}


VALUES = "Use plausible, specific values (real-looking names, dates, amounts), different from other records."
DIFFERENT = "Make it different from other records."


def generate_messages(schema: Any, *, instructions: str | None, index: int) -> list[ChatMessage]:
    user = f"Create record number {index + 1}: one realistic JSON document valid for this JSON Schema.\nSchema: {schema_text(schema)}"
    user += f"\n{DIFFERENT if _prose_only(schema) else VALUES}"
    if instructions:
        user += f"\n{instructions}"
    return [ChatMessage(role="system", content=SYSTEM), ChatMessage(role="user", content=user)]


def _prose_only(schema: Any) -> bool:
    """Whether every field left to write is prose (a product's description, once the field plan
    set the rest): it has no names, dates or amounts to be told about, and the line was an eighth
    of the prompt a record's every attempt paid for."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    return isinstance(props, dict) and bool(props) and all(is_free_prose(sub) for sub in props.values())


def enrich_messages(record: Any, schema: Any, *, instructions: str | None) -> list[ChatMessage]:
    user = (
        f"Here is a partial record: {json.dumps(record)}\n"
        f"Complete it into one JSON document valid for this JSON Schema, keeping the values it has "
        f"and adding the missing fields so that they are consistent with them.\n"
        f"Schema: {schema_text(schema)}"
    )
    if instructions:
        user += f"\n{instructions}"
    return [ChatMessage(role="system", content=SYSTEM), ChatMessage(role="user", content=user)]


def correction_messages(record: Any, schema: Any, issues: list[ValidationIssue]) -> list[ChatMessage]:
    problems = "\n".join(f"- at {i.path or '/'}: {i.message}" for i in issues[:10])
    user = (
        f"This JSON document is invalid: {json.dumps(record)[:3000]}\n"
        f"Problems:\n{problems}\n"
        f"Fix only those problems and answer with the whole corrected JSON document. "
        f"Schema: {schema_text(schema)}"
    )
    return [ChatMessage(role="system", content=SYSTEM), ChatMessage(role="user", content=user)]
