"""Checks made before a run starts, so bad input fails in one line and nothing is half-done."""

from __future__ import annotations

import httpx

from apprentice.config import BackendConfig, PoolConfig, Settings
from apprentice.errors import BackendUnavailableError, ShapeTooLargeError, UnknownBackendError
from apprentice.shapes.budget import CHARS_PER_TOKEN, fit_schema, floor_tokens
from apprentice.shapes.prompts import MAX_SCHEMA_CHARS, generate_messages
from apprentice.shapes.schema import Shape
from apprentice.workflows import Pattern, WorkflowSpec


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


def preflight(spec: WorkflowSpec, pool: PoolConfig, settings: Settings, shape: Shape | None = None) -> None:
    """Unknown backends, missing API keys, a shape too large for every backend's context and
    unreachable servers, each as one clear error.

    The embedded local server is started when it is needed and down.
    """
    from apprentice.backends.local import ensure_embedded

    needed = backends_for(spec, pool)
    for backend in needed:
        backend.api_key()  # raises MissingApiKeyError naming the variable
    if shape is not None:
        check_fits(spec, shape, pool, settings)
    ensure_embedded(needed, settings)
    dead = [b for b in needed if not reachable(b)]
    if dead and len(dead) == len(needed):
        where = ", ".join(f"'{b.name}' at {b.base_url}" for b in dead)
        raise BackendUnavailableError(f"no backend is reachable: {where}")


def check_fits(spec: WorkflowSpec, shape: Shape, pool: PoolConfig, settings: Settings) -> None:
    """Refuse, in one line and before any call, a shape that no backend the spec may use can
    take in one call: the prompt (the schema without its optional parts) plus the smallest valid
    record exceed its context window. A backend whose window is unknown may fit; the parallel
    pattern writes a record in parts, so its stages are not held to the whole shape."""
    if spec.pattern is Pattern.parallel or not isinstance(shape.json_schema, dict):
        return
    fitted = fit_schema(shape.json_schema, MAX_SCHEMA_CHARS)
    prompt = "\n".join(m.content for m in generate_messages(fitted, instructions=None, index=0))
    answer = floor_tokens(shape.json_schema)
    refusals = []
    for backend in backends_for(spec, pool):
        window = backend.context_tokens or (settings.local_ctx if backend.embedded else None)
        if window is None:
            return
        if len(prompt) + 1 + answer <= window:  # a token covers at least one character (+1: the BOS token): fits without counting
            return
        tokens = prompt_tokens(prompt, backend)
        if tokens + answer <= window:
            return
        refusals.append(f"backend '{backend.name}' has a {window:,}-token context")
    if refusals:
        raise ShapeTooLargeError(
            f"the schema needs about {tokens:,} prompt tokens even without its optional fields, and a valid record at least "
            f"{answer:,} more; {'; '.join(refusals)}: add a backend with a larger context_tokens, or split the shape"
        )


def prompt_tokens(prompt: str, backend: BackendConfig) -> int:
    """The embedded model counts exactly with its own tokenizer; others are estimated."""
    if backend.embedded:
        from apprentice.backends.gbnf import count_tokens

        counted = count_tokens(prompt)
        if counted is not None:
            return counted
    return round(len(prompt) / CHARS_PER_TOKEN)
