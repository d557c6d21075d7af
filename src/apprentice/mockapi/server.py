"""Running the mock API server: its pool (the embedded model started if the pool needs it),
its OpenAPI operations and workflow directory, on uvicorn. Binds 127.0.0.1 unless told otherwise."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from apprentice.backends.ledger import LedgerBook
from apprentice.backends.local import EmbeddedSupervisor, ensure_embedded
from apprentice.backends.pool import BackendPool
from apprentice.config import load_pool_config, load_settings
from apprentice.mockapi.app import create_app
from apprentice.mockapi.engine import MockEngine
from apprentice.mockapi.limits import Limits
from apprentice.mockapi.openapi import load_operations


class ServeOptions(BaseModel):
    """What `apprentice serve` was given."""

    host: str = "127.0.0.1"
    port: int = Field(5116, ge=0, le=65535)
    backends_file: Path | None = None
    openapi: Path | None = None
    workflows_dir: Path | None = Field(None, description="where X-Workflow names are looked up")
    api_key: str | None = Field(None, description="needed by every route outside /api/mock/")
    limits: Limits = Field(default_factory=Limits)


def build_app(options: ServeOptions):
    """The app for `options`; a bad backend file or OpenAPI document fails here, in one line."""
    settings = load_settings()
    config = load_pool_config(options.backends_file, settings)
    operations = load_operations(options.openapi) if options.openapi else []
    ensure_embedded(config.backends, settings)
    pool = BackendPool(config, supervisor=EmbeddedSupervisor(settings), book=LedgerBook())
    engine = MockEngine(pool, limits=options.limits, workflows_dir=options.workflows_dir, operations=operations)
    return create_app(engine, api_key=options.api_key)


def serve(options: ServeOptions) -> None:
    import uvicorn

    uvicorn.run(build_app(options), host=options.host, port=options.port, log_level="warning")
