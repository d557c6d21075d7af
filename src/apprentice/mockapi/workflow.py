"""Which workflow version serves a mock request: a spec file named by `X-Workflow` /
`?workflow=` (looked up only inside the server's workflow directory), else one generate stage
plus validation named after the endpoint; `X-LLM-Backend` / `?backend=` then sends every stage
to that backend, or to that tier. A name outside the pool is refused, never called."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, NamedTuple

from apprentice.backends.pool import BackendPool
from apprentice.config import Tier
from apprentice.errors import ConfigError
from apprentice.mockapi.errors import BadMockRequest
from apprentice.mockapi.shape_memory import endpoint
from apprentice.workflows import WorkflowSpec, default_spec, load_spec

SPEC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
SPEC_SUFFIXES = (".workflow.yaml", ".workflow.yml", ".yaml", ".yml", ".json")


@functools.lru_cache(maxsize=1_024)
def endpoint_workflow(path: str) -> str:
    """The workflow name of an endpoint without a spec: `mock.users.generate`, `mock.users.id`
    (remembered per path: a regular expression per segment on every request is a `$cache`
    hit's cost for nothing)."""
    words = [re.sub(r"[^A-Za-z0-9_-]+", "-", seg).strip("-") or "x" for seg in endpoint(path).replace("{id}", "id").split("/") if seg]
    return ".".join(["mock", *words])[:120]


def spec_file(name: str, directory: Path | None) -> Path:
    """The spec file `name` names inside `directory`; anything that would leave it is refused."""
    if directory is None:
        raise BadMockRequest("this server has no workflow directory; start it with --workflows DIR to use X-Workflow")
    if not SPEC_NAME.match(name) or ".." in name:
        raise BadMockRequest(f"workflow name {name!r} must be letters, digits, '.', '_' or '-'")
    root = directory.resolve()
    for suffix in SPEC_SUFFIXES:
        candidate = (root / f"{name}{suffix}").resolve()
        if candidate.parent == root and candidate.is_file():
            return candidate
    raise BadMockRequest(f"no workflow '{name}' in the server's workflow directory")


class ServingSpec(NamedTuple):
    """A request's spec and its content hash (the `$cache` variants' key is built on it)."""

    spec: WorkflowSpec
    content_hash: str


class SpecResolver:
    """The spec a request runs (its named workflow or the endpoint's default, sent to its
    backend), built and hashed once per endpoint (or spec file as it is on disk) and
    backend: building and hashing a spec on every request cost more than the rest of a `$cache`
    hit. A spec file edited while the server runs is read again (its modification time is in
    the key); a refused request is never remembered."""

    def __init__(self, pool: BackendPool, directory: Path | None, size: int = 256) -> None:
        self.pool = pool
        self.directory = directory
        self._resolved = functools.lru_cache(maxsize=size)(self._resolve)

    def resolve(self, path: str, workflow: str | None, backend: str | None) -> ServingSpec:
        return self._resolved(_spec_source(path, workflow, self.directory), backend)

    def _resolve(self, source: SpecSource, backend: str | None) -> ServingSpec:
        spec = _build_spec(self.pool, source, backend)
        return ServingSpec(spec, spec.content_hash)


class SpecSource(NamedTuple):
    """Where a request's spec comes from: a spec file as last modified (time, size), or an endpoint."""

    file: Path | None
    modified: tuple[int, int]
    endpoint: str


def _spec_source(path: str, workflow: str | None, directory: Path | None) -> SpecSource:
    if workflow:
        file = spec_file(workflow, directory)
        stat = file.stat()
        return SpecSource(file, (stat.st_mtime_ns, stat.st_size), "")
    return SpecSource(None, (0, 0), endpoint_workflow(path))


def _build_spec(pool: BackendPool, source: SpecSource, backend: str | None) -> WorkflowSpec:
    if source.file is not None:
        try:
            spec = load_spec(source.file)
        except ConfigError as exc:
            raise BadMockRequest(str(exc)) from None
    else:
        spec = default_spec(source.endpoint)
    check_backends(pool, spec)
    return spec if backend is None else on_backend(pool, spec, backend)


def on_backend(pool: BackendPool, spec: WorkflowSpec, backend: str) -> WorkflowSpec:
    """Every stage (and route) of `spec` on the named backend, or on the named tier."""
    update: dict[str, Any]
    if backend in Tier.__members__:
        update = {"backend": None, "tier": Tier(backend)}
    elif backend in pool.config.by_name:
        update = {"backend": backend, "tier": pool.config.by_name[backend].tier}
    else:
        raise BadMockRequest(
            f"unknown backend or tier '{backend}' (the pool has: {', '.join(pool.config.by_name)}; tiers: {', '.join(Tier)})"
        )
    stages = [stage.model_copy(update=update) for stage in spec.stages]
    routes = {tier: on_backend(pool, route, backend) for tier, route in spec.routes.items()}
    return spec.model_copy(update={"stages": stages, "routes": routes})


def check_backends(pool: BackendPool, spec: WorkflowSpec) -> None:
    """A spec file that names a backend outside the pool is refused before any call."""
    for stage in spec.stages:
        if stage.backend is not None and stage.backend not in pool.config.by_name:
            raise BadMockRequest(f"workflow {spec.key} stage '{stage.name}' names backend '{stage.backend}', which is not in the pool")
    for route in spec.routes.values():
        check_backends(pool, route)
