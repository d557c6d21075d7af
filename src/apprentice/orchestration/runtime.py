"""One backend pool per (event loop, backend file), so tasks of a flow run share clients,
breakers and concurrency limits."""

from __future__ import annotations

import asyncio

from apprentice.backends.pool import BackendPool
from apprentice.config import PoolConfig, load_pool_config
from apprentice.run import open_pool

_POOLS: dict[tuple[int, str | None], BackendPool] = {}


def pool_config(backends_file: str | None) -> PoolConfig:
    return load_pool_config(backends_file)


def pool_for(backends_file: str | None = None) -> BackendPool:
    """The pool for this event loop; starts the embedded local server if the config needs it."""
    loop = asyncio.get_running_loop()
    key = (id(loop), backends_file)
    if key not in _POOLS:
        _POOLS[key] = open_pool(backends_file)
    return _POOLS[key]


async def close_pools() -> None:
    loop_id = id(asyncio.get_running_loop())
    for key in [k for k in _POOLS if k[0] == loop_id]:
        await _POOLS.pop(key).aclose()
