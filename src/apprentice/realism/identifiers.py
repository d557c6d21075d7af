"""Identifiers: the fields whose values name one record (id, email, username, sku...), and values
that look like codes (a SKU, an id, a key)."""

from __future__ import annotations

import re

from apprentice.realism.leaves import _Leaf
from apprentice.shapes.fields import snake_case

_IDENTIFIER = re.compile(r"^(id|.*_id|email|e_mail|email_address|username|user_name|sku|uuid|guid)$")

_CODE = re.compile(r"(?=\S*\d)(?=\S*[A-Za-z])[A-Za-z0-9]+([-_./:#][A-Za-z0-9]+)*")


def looks_like_code(value: str) -> bool:
    """A SKU, an id or a key ("BQY-00094", "b35486a7e"): letters and digits, no spaces. Told one,
    a small model pastes it into prose; no prose quotes one."""
    return len(value) >= 5 and bool(_CODE.fullmatch(value))


def identifier_name(name: str) -> bool:
    """A field name whose values name one record: id, *_id, email, username, sku, uuid."""
    return bool(_IDENTIFIER.match(snake_case(name)))


def _identifier(leaf: _Leaf) -> bool:
    """Top-level fields whose values name one record: by name, or format email/uuid."""
    return leaf.pointer.count("/") == 1 and (identifier_name(leaf.name) or leaf.sub.get("format") in ("email", "uuid"))
