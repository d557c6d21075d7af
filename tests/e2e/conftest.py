"""End-to-end fixtures: the real local model server and a real `prefect server`.

The Prefect server keeps its state in PostgreSQL (127.0.0.1:5432, a fresh database per session)
when that server is reachable, else in SQLite; `APPRENTICE_TEST_PREFECT_DB=sqlite` forces SQLite.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from apprentice.backends import local
from apprentice.config import load_settings

PG_ADMIN_URL = "postgresql://root@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def local_model() -> Iterator[str]:
    """The embedded SmolLM2 server on a free port, as every apprentice default points at it."""
    port = free_port()
    os.environ["APPRENTICE_LOCAL_PORT"] = str(port)
    server = local.LocalServer.from_settings(load_settings())
    local.start(server)
    yield server.base_url
    local.stop(server)


@pytest.fixture(scope="session")
def prefect_db_url():
    if os.environ.get("APPRENTICE_TEST_PREFECT_DB") == "sqlite" or not postgres_available():
        yield None
        return
    import psycopg

    name = f"apprentice_prefect_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+asyncpg://root@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def prefect_server(prefect_db_url, tmp_path_factory) -> Iterator[str]:
    """A real `prefect server start`; the test process and its subprocesses all use it."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_UI_ENABLED": "false", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    if prefect_db_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_db_url
    log = tmp_path_factory.mktemp("prefect-server") / "server.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"prefect server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"prefect server did not start: {log.read_text()[-2000:]}")
    os.environ["PREFECT_API_URL"] = url
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield url
    os.environ.pop("PREFECT_API_URL", None)
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return Path(__file__).resolve().parents[2]


T = TypeVar("T")


def run_flow(call: Awaitable[T]) -> T:
    """`asyncio.run` of an async flow's call: Prefect types the call (a coroutine) as an Awaitable."""

    async def wait() -> T:
        return await call

    return asyncio.run(wait())
