"""Checks made before a run starts, so bad input fails in one line and nothing is half-done."""

from __future__ import annotations

import httpx

from apprentice.config import BackendConfig, PoolConfig, Settings
from apprentice.errors import BackendUnavailableError, UnknownBackendError
from apprentice.workflows import WorkflowSpec


def backends_for(spec: WorkflowSpec, pool: PoolConfig) -> list[BackendConfig]:
    """The backends a spec's stages name, or every enabled one when stages ask by tier."""
    named = []
    for stage in spec.stages:
        if stage.backend is not None:
            if stage.backend not in pool.by_name:
                known = ", ".join(pool.by_name)
                raise UnknownBackendError(f"stage '{stage.name}' names unknown backend '{stage.backend}' (the pool has: {known})")
            named.append(pool.by_name[stage.backend])
    by_tier = any(s.backend is None for s in spec.stages)
    return named + ([b for b in pool.backends if b.enabled and b not in named] if by_tier else [])


def reachable(backend: BackendConfig, timeout_s: float = 3.0) -> bool:
    path = "/models" if backend.provider == "openai" else "/api/tags"
    headers = {}
    key = backend.api_key()
    if key is not None:
        headers["Authorization"] = f"Bearer {key.get_secret_value()}"
    try:
        httpx.get(backend.base_url + path, headers=headers, timeout=timeout_s)
        return True
    except (httpx.ReadTimeout, httpx.WriteTimeout):  # it accepted the connection and is busy: requests will queue
        return True
    except httpx.HTTPError:
        return False


def preflight(spec: WorkflowSpec, pool: PoolConfig, settings: Settings) -> None:
    """Unknown backends, missing API keys and unreachable servers, each as one clear error.

    The embedded local server is started when it is needed and down.
    """
    from apprentice.backends.local import ensure_embedded

    needed = backends_for(spec, pool)
    for backend in needed:
        backend.api_key()  # raises MissingApiKeyError naming the variable
    ensure_embedded(needed, settings)
    dead = [b for b in needed if not reachable(b)]
    if dead and len(dead) == len(needed):
        where = ", ".join(f"'{b.name}' at {b.base_url}" for b in dead)
        raise BackendUnavailableError(f"no backend is reachable: {where}")
