"""`$cache: N` variants (as in LLMockApi): a shape may ask for N pre-generated records that are
then served from the store without a model call. The key is the shape's fingerprint plus the
spec's content hash; saving variants under a new key drops the workflow's stale ones."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from apprentice.shapes.schema import Shape
from apprentice.store import session, write
from apprentice.store.models import CachedVariant
from apprentice.workflows import WorkflowSpec


def variant_key(spec: WorkflowSpec, shape: Shape) -> str:
    return variant_key_of(spec.content_hash, shape)


def variant_key_of(content_hash: str, shape: Shape) -> str:
    """`variant_key` from a spec's content hash already computed (hashing a spec costs more than
    serving a variant)."""
    raw = f"{content_hash}:{shape.fingerprint}:{shape.cache_variants}"
    return "variants-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def load_variants(key: str, engine: Engine | None = None) -> list[Any]:
    """The variants stored under `key`, or none when any holds a number JSON cannot (`Infinity`,
    `NaN`: stored before validation refused them), so they are made again."""
    with session(engine) as s:
        rows = s.exec(select(CachedVariant).where(CachedVariant.cache_key == key).order_by(col(CachedVariant.position))).all()
    try:
        return [json.loads(r.record_json, parse_constant=_no_such_number) for r in rows]
    except ValueError:
        return []


def _no_such_number(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def save_variants(key: str, workflow: str, records: list[Any], engine: Engine | None = None) -> int:
    """Replace the workflow's variants with `records` under `key`; returns how many were stored."""

    def replace(s) -> int:
        s.connection().execute(delete(CachedVariant).where(col(CachedVariant.workflow) == workflow))
        s.add_all(CachedVariant(cache_key=key, workflow=workflow, position=i, record_json=json.dumps(r)) for i, r in enumerate(records))
        return len(records)

    return write(replace, engine)


def serve(variants: list[Any], n: int, offset: int = 0) -> list[Any]:
    """`n` records cycling through the variants (starting at `offset`, e.g. the run's seed)."""
    if not variants:
        return []
    return [variants[(offset + i) % len(variants)] for i in range(n)]
