"""Reading a shape's fields: a subschema with its local `$ref` followed, a field name in snake_case.
Shared by the field plan (which sampler fits a field) and the realism checks (which hint a value
echoes, which field identifies a record)."""

from __future__ import annotations

import re
from typing import Any


def resolve_ref(sub: Any, root: Any, depth: int = 0) -> dict[str, Any]:
    """The subschema with a local `$ref` followed (siblings kept); `{}` for anything not a dict."""
    if not isinstance(sub, dict):
        return {}
    ref = sub.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#") or depth > 8:
        return sub
    target: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
    return {**resolve_ref(target, root, depth + 1), **{k: v for k, v in sub.items() if k != "$ref"}}


def snake_case(name: str) -> str:
    """`signedUpAt` → `signed_up_at`, `Zip-Code` → `zip_code`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")
