"""Last-resort deterministic fixes, applied on a stage's last attempt (its correction prompts
used up; in the correct loop, whose stages have none, on every round).

Two failures survive correction prompts on small models, and both have an unambiguous fix:
- a string that is not of its `format` (the model wrote the field's description instead of an
  email address): it is replaced by a plausible value of that format;
- a document valid under more than one `oneOf` branch: adding one property that only one branch
  allows (tried in order, each result validated) makes it match exactly one.
Every fix is counted (`RepairCounts.fixed`) and the result is validated again by the caller.
"""

from __future__ import annotations

import copy
import hashlib
import re
import uuid
from typing import Any

from apprentice.shapes.repair import RepairCounts
from apprentice.shapes.validate import ValidationIssue, validate

_FORMAT = re.compile(r"is not a '([\w-]+)'")


def format_value(fmt: str, seed: str) -> str | None:
    """A plausible value of a string format, stable for the same seed."""
    h = int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16)
    day, hour = 1 + h % 28, h % 24
    return {
        "email": f"user{h % 10_000}@example.com",
        "idn-email": f"user{h % 10_000}@example.com",
        "uuid": str(uuid.UUID(int=h << 96 | h, version=4)),
        "date-time": f"2024-05-{day:02d}T{hour:02d}:30:00Z",
        "date": f"2024-05-{day:02d}",
        "time": f"{hour:02d}:30:00Z",
        "uri": f"https://example.com/item/{h % 10_000}",
        "iri": f"https://example.com/item/{h % 10_000}",
        "uri-reference": f"/item/{h % 10_000}",
        "hostname": f"host{h % 100}.example.com",
        "ipv4": f"192.0.2.{h % 254 + 1}",
        "ipv6": f"2001:db8::{h % 65535:x}",
    }.get(fmt)


def fix(value: Any, schema: Any, issues: list[ValidationIssue], counts: RepairCounts) -> Any:
    """`value` with every fixable issue fixed (a copy), or `value` itself when nothing applies."""
    fixed = value
    for issue in issues:
        if issue.keyword == "format" and (match := _FORMAT.search(issue.message)):
            replacement = format_value(match[1], issue.path)
            if replacement is not None and issue.path:
                fixed = _set(fixed if fixed is not value else copy.deepcopy(value), issue.path, replacement)
                counts.fixed += 1
    if any(i.keyword == "oneOf" and i.path == "" for i in issues) and isinstance(schema, dict):
        chosen = _one_branch(fixed, schema)
        if chosen is not None:
            fixed = chosen
            counts.fixed += 1
    return fixed


def _set(doc: Any, pointer: str, new: Any) -> Any:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    target = doc
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = parts[-1]
    if isinstance(target, list):
        target[int(last)] = new
    else:
        target[last] = new
    return doc


def _one_branch(value: Any, schema: dict) -> Any:
    """Add one property (a minimal value) that exactly one `oneOf` branch accepts."""
    if not isinstance(value, dict):
        return None
    for branch in schema.get("oneOf", []):
        for name, sub in (branch.get("properties") or {}).items() if isinstance(branch, dict) else []:
            if name in value or not isinstance(sub, dict):
                continue
            for candidate in _minimal(sub):
                trial = {**value, name: candidate}
                if not validate(trial, schema):
                    return trial
    return None


def _minimal(schema: dict) -> list[Any]:
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"][:2])
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    out: list[Any] = []
    for k in kinds:  # a fresh table each time: the empty array and object are handed out
        fresh: dict[Any, list[Any]] = {
            "array": [[]],
            "object": [{}],
            "boolean": [False],
            "integer": [0],
            "number": [0],
            "null": [None],
            "string": [""],
        }
        out += fresh.get(k, [])
    return out
