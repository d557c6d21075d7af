"""Which workflow version serves a mock request: a spec file named by `X-Workflow` /
`?workflow=` (looked up only inside the server's workflow directory), else one generate stage
plus validation named after the endpoint; `X-LLM-Backend` / `?backend=` then sends every stage
to that backend, or to that tier. A name outside the pool is refused, never called."""

from __future__ import annotations

import re
from pathlib import Path

from apprentice.backends.pool import BackendPool
from apprentice.config import Tier
from apprentice.errors import ConfigError
from apprentice.mockapi.errors import BadMockRequest
from apprentice.mockapi.shape_memory import endpoint
from apprentice.workflows import WorkflowSpec, default_spec, load_spec

SPEC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
SPEC_SUFFIXES = (".workflow.yaml", ".workflow.yml", ".yaml", ".yml", ".json")


def endpoint_workflow(path: str) -> str:
    """The workflow name of an endpoint without a spec: `mock.users.generate`, `mock.users.id`."""
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


def request_spec(pool: BackendPool, path: str, workflow: str | None, backend: str | None, directory: Path | None) -> WorkflowSpec:
    """The spec a request runs: its named workflow or the endpoint's default, sent to `backend`."""
    if workflow:
        try:
            spec = load_spec(spec_file(workflow, directory))
        except ConfigError as exc:
            raise BadMockRequest(str(exc)) from None
    else:
        spec = default_spec(endpoint_workflow(path))
    check_backends(pool, spec)
    return spec if backend is None else on_backend(pool, spec, backend)


def on_backend(pool: BackendPool, spec: WorkflowSpec, backend: str) -> WorkflowSpec:
    """Every stage (and route) of `spec` on the named backend, or on the named tier."""
    if backend in Tier.__members__:
        update = {"backend": None, "tier": Tier(backend)}
    elif backend in pool.config.by_name:
        update = {"backend": backend, "tier": pool.config.by_name[backend].tier}
    else:
        raise BadMockRequest(f"unknown backend or tier '{backend}' (the pool has: {', '.join(pool.config.by_name)}; tiers: {', '.join(Tier)})")
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
