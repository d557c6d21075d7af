"""`apprentice doctor`: is everything a run needs really working here? Each check is one line,
ok or the fix.

The embedded build is checked the way it fails in practice: a llama.cpp compiled for a CPU
feature this machine does not enable dies with SIGILL on its first real prompt, while loading
the model and answering a one-token request still work. So the check runs a real multi-token
completion in a child process (a dying build kills only the child) and puts the build's CPU
features next to the machine's.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pydantic import BaseModel

from apprentice.backends.types import ChatMessage, ModelRequest
from apprentice.config import BackendConfig, PoolConfig, Settings
from apprentice.errors import ApprenticeError

REBUILD = "rebuild llama.cpp portably: `make rebuild-llama` (or `rm -rf .venv && make setup`)"

# llama.cpp's system-info names → /proc/cpuinfo flags
CPU_FLAGS = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "AVX_VNNI": "avx_vnni",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}

_CHILD = """
import json, sys, llama_cpp
print(json.dumps({"system_info": llama_cpp.llama_print_system_info().decode()}), flush=True)
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, n_threads=2, verbose=False)
out = llm.create_completion("The three primary colours are red,", max_tokens=12, temperature=0)
print(json.dumps({"text": out["choices"][0]["text"], "tokens": out["usage"]["completion_tokens"]}), flush=True)
"""

PROMPT = [ChatMessage(role="user", content="Name three colours, separated by commas.")]


class Check(BaseModel):
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None


def build_features(system_info: str) -> list[str]:
    """The CPU features a llama.cpp build uses, from its system-info line (`AVX2 = 1 | ...`)."""
    return [name for name, on in re.findall(r"([A-Z][A-Z0-9_]*) = (\d)", system_info) if on == "1" and name in CPU_FLAGS]


def machine_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """This CPU's feature flags as the kernel lists them, or None where there is no /proc."""
    try:
        line = next(x for x in cpuinfo.read_text().splitlines() if x.startswith("flags"))
    except (OSError, StopIteration):
        return None
    return set(line.split(":", 1)[1].split())


def check_build(model_file: Path, timeout_s: float = 180.0) -> Check:
    """Load the GGUF with the installed llama-cpp-python and complete a multi-token prompt."""
    try:
        child = subprocess.run([sys.executable, "-c", _CHILD, str(model_file)], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return Check(name="embedded build", ok=False, detail=f"no completion within {timeout_s:.0f}s", fix=REBUILD)
    lines = [json.loads(x) for x in child.stdout.splitlines() if x.startswith("{")]
    info = next((x["system_info"] for x in lines if "system_info" in x), "")
    features, flags = build_features(info), machine_flags()
    lacking = sorted(f for f in features if flags is not None and CPU_FLAGS[f] not in flags)
    uses = f"build uses {' '.join(features) or 'no SIMD'}; this CPU lacks {' '.join(lacking) or 'none of them'}"
    if child.returncode < 0:
        name = signal.Signals(-child.returncode).name
        why = (signal.strsignal(-child.returncode) or name).lower()
        return Check(name="embedded build", ok=False, detail=f"dies with {name} ({why}) on a multi-token prompt; {uses}", fix=REBUILD)
    answer = next((x for x in lines if "text" in x), None)
    if child.returncode != 0 or answer is None:
        tail = " | ".join(child.stderr.strip().splitlines()[-2:])
        return Check(name="embedded build", ok=False, detail=f"exit code {child.returncode}: {tail}", fix=REBUILD)
    return Check(name="embedded build", ok=True, detail=f"{answer['tokens']} tokens: {answer['text'].strip()!r}; {uses}")


async def check_backend(backend: BackendConfig, pool_config: PoolConfig) -> Check:
    """A real one-token and a real multi-token completion, straight to the backend (no failover)."""
    from apprentice.backends.pool import BackendPool

    pool = BackendPool(pool_config)
    try:
        client = pool.client(backend)
        timings = []
        for max_tokens in (1, 24):
            started = time.perf_counter()
            answer = await client.complete(ModelRequest(messages=PROMPT, max_tokens=max_tokens, temperature=0, stage="doctor"))
            timings.append(f"{answer.output_tokens} token(s) in {time.perf_counter() - started:.1f}s")
        return Check(
            name=f"backend {backend.name}", ok=True, detail=f"{backend.base_url}: {', '.join(timings)}: {answer.text.strip()[:40]!r}"
        )
    except ApprenticeError as exc:
        fix = "start it with `apprentice server start`" if backend.embedded else "check the server, its URL and its key"
        return Check(name=f"backend {backend.name}", ok=False, detail=str(exc), fix=fix)
    finally:
        await pool.aclose()


def check_prefect(api_url: str | None) -> Check:
    if not api_url:
        return Check(
            name="prefect api",
            ok=True,
            detail=(
                "PREFECT_API_URL is not set: each command runs its flows on a temporary Prefect server (start `prefect server start` "
                "to keep runs)"
            ),
        )
    try:
        healthy = httpx.get(f"{api_url.rstrip('/')}/health", timeout=5).status_code == 200
    except httpx.HTTPError as exc:
        return Check(
            name="prefect api",
            ok=False,
            detail=f"{api_url}: {type(exc).__name__}",
            fix="start it: `prefect server start`, or unset PREFECT_API_URL",
        )
    return Check(name="prefect api", ok=healthy, detail=api_url, fix=None if healthy else "the server answers but is not healthy")


def check_store(settings: Settings) -> Check:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from apprentice.store import engine_for

    try:
        engine = engine_for(settings.db_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return Check(name="store", ok=False, detail=type(exc).__name__, fix="check APPRENTICE_DATABASE_URL")
    return Check(name="store", ok=True, detail=engine.url.render_as_string(hide_password=True))


def check_result_cache(settings: Settings, storage_block: str | None) -> Check:
    if storage_block:
        return Check(name="result cache", ok=True, detail=f"Prefect storage block {storage_block}")
    folder = settings.results_dir
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    size = sum(p.stat().st_size for p in files) / 1e6
    return Check(
        name="result cache",
        ok=True,
        detail=f"{folder}: {len(files)} finished stages of batches, {size:.1f} MB (`--fresh` ignores them, `make clean` removes them)",
    )


def check_backends(pool_config: PoolConfig) -> list[Check]:
    async def run() -> list[Check]:
        return list(await asyncio.gather(*(check_backend(b, pool_config) for b in pool_config.backends if b.enabled)))

    return asyncio.run(run())
