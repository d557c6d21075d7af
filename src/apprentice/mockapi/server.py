"""Running the mock API server: its pool (the embedded model started if the pool needs it),
its OpenAPI operations and workflow directory, on uvicorn (its httptools parser and uvloop when
they are installed). Binds 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import NamedTuple

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


class UvicornParts(NamedTuple):
    """uvicorn's HTTP parser and event loop, by the names `uvicorn.run` takes."""

    http: str
    loop: str


def uvicorn_parts() -> UvicornParts:
    """httptools (a C parser) and uvloop (libuv's loop), what `uvicorn[standard]` installs, each
    when it imports, else h11 and asyncio. The pure-Python h11 parser and the asyncio loop cost
    more per request than a whole `$cache` hit does in the app."""
    return UvicornParts(
        http="httptools" if _importable("httptools") else "h11",
        loop="uvloop" if _importable("uvloop") else "asyncio",
    )


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def serve(options: ServeOptions) -> None:
    import uvicorn

    parts = uvicorn_parts()
    # At level "warning" no access line is ever shown; access_log=False also skips building each one.
    uvicorn.run(
        build_app(options), host=options.host, port=options.port, log_level="warning", access_log=False, http=parts.http, loop=parts.loop
    )
