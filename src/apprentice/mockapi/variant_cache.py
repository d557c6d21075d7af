"""`$cache: N` variants for the server: the batch path's variants (`variants.py`, same key, same
table), held in memory once read, because a key names immutable content (the spec's and the
shape's hashes) and a hit must cost microseconds, not a store read. The first request for a key
makes the variants (one at a time per key) and saves them for the batch path too."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.engine import Engine

from apprentice.shapes.schema import Shape
from apprentice.variants import load_variants, save_variants, serve
from apprentice.workflows import WorkflowSpec

Make = Callable[[WorkflowSpec, Shape, int], Awaitable[list[Any]]]


class VariantCache:
    """Variants by key, loaded or made once, then served in turn."""

    def __init__(self, store: Engine | None = None) -> None:
        self.store = store
        self._variants: dict[str, list[Any]] = {}
        self._turns: dict[str, itertools.count] = defaultdict(itertools.count)
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def serve(self, key: str, spec: WorkflowSpec, shape: Shape, n: int, make: Make) -> list[Any]:
        """`n` variants for the spec and shape (whose `variants.variant_key` is `key`), cycling
        through them request by request."""
        variants = self._variants.get(key) or await self._load_or_make(key, spec, shape, make)
        offset = next(self._turns[key]) * n
        return serve(variants, n, offset)

    def hit(self, key: str) -> bool:
        return key in self._variants

    async def _load_or_make(self, key: str, spec: WorkflowSpec, shape: Shape, make: Make) -> list[Any]:
        async with self._locks[key]:
            if key in self._variants:  # made by the request this one waited for
                return self._variants[key]
            variants = await asyncio.to_thread(load_variants, key, self.store)
            if len(variants) < shape.cache_variants:
                variants = await make(spec, shape, shape.cache_variants)
                await asyncio.to_thread(save_variants, key, spec.name, variants, self.store)
            self._variants[key] = variants
            return variants
