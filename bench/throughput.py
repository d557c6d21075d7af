"""Dataset-flow throughput vs a raw async httpx loop making the same calls, in one run.

Part 1 (overhead): a local stub server that answers in a fixed delay, N records both ways.
Part 2 (real): the embedded SmolLM2 server, a small N both ways.
Both parts run the sequential pattern of three stages (`SPEC`: city, then country, then
population, a model call each), so the flow pays for its stage tasks: each batch is a subflow
with a task per stage. The raw loop makes the same three calls per record (same prompts and
schemas), parses and validates each answer — everything the flow does per record except
Prefect, the stage boundaries, the ledger, the hooks, the artifacts and the files.

    python bench/throughput.py [--quick] [--n 1000] [--real-n 6] [--delay-ms 20] [--concurrency 8] [--repeat 5]
                               [--api-url http://127.0.0.1:4200/api]

By default the flow runs on Prefect's test harness (a server on SQLite in a subprocess);
`--api-url` runs it on a server you started, e.g. one on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _report import report  # bench/ is on sys.path when a bench runs as a script

HERE = Path(__file__).resolve().parent
SHAPE = {"city": "string", "country": "string", "population": 0}
STAGES: list[dict[str, Any]] = [{"name": field, "role": "generate", "fields": [field]} for field in SHAPE]
SPEC = {"name": "city-stages", "pattern": "sequential", "stages": STAGES}
ONE_CALL: list[dict[str, Any]] = [{"name": "generate", "fields": None}]
"""The default spec's one model call per record (its validate stage makes none for a valid record)."""
"""Three stages, one model call each: what the raw loop does per record, one call after another."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def raw_loop(
    base_url: str | list[str],
    model: str,
    n: int,
    concurrency: int,
    schema: dict,
    structured: str,
    stages: list[dict[str, Any]] | None = None,
) -> tuple[float, int]:
    """`n` records, `concurrency` calls at a time, each answer parsed, coerced and validated as the
    flow does; given several servers (`base_url` a list), record i goes to server i mod their
    number. A record is one call on the whole schema, or with `stages` a call per stage (each on
    its `fields`), one after another."""
    import httpx

    from apprentice.backends.openai import OpenAICompatibleClient
    from apprentice.backends.types import ModelRequest
    from apprentice.config import BackendConfig
    from apprentice.patterns.common import stage_schema
    from apprentice.shapes.prompts import generate_messages
    from apprentice.shapes.repair import RepairCounts, coerce, parse_json
    from apprentice.shapes.validate import validate

    base_urls = [base_url] if isinstance(base_url, str) else base_url
    config = BackendConfig(name="raw", base_url=base_urls[0], model=model, structured_output=structured)
    adapter = OpenAICompatibleClient(config)
    limit = asyncio.Semaphore(concurrency)
    valid = 0

    async def one(clients: list[httpx.AsyncClient], i: int) -> None:
        nonlocal valid
        record: dict[str, Any] = {}
        for stage in stages or ONE_CALL:  # the spec's stages in order, as the sequential pattern runs them
            target = stage_schema(schema, stage["fields"])
            request = ModelRequest(messages=generate_messages(target, instructions=None, index=i), json_schema=target, stage=stage["name"])
            body = adapter.payload(request)  # the very body the flow sends, so both sides make the same calls
            async with limit:
                response = await clients[i % len(clients)].post("/chat/completions", json=body)
            value = coerce(parse_json(response.json()["choices"][0]["message"]["content"], RepairCounts()), target, RepairCounts())
            if validate(value, target):
                return
            record.update(value)
        valid += not validate(record, schema)

    started = time.perf_counter()
    clients = [httpx.AsyncClient(base_url=url, timeout=300, limits=httpx.Limits(max_connections=concurrency)) for url in base_urls]
    try:
        await asyncio.gather(*(one(clients, i) for i in range(n)))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    await adapter.aclose()
    return time.perf_counter() - started, valid


async def flow_run(shape_path: str, backends: str | None, n: int, concurrency: int, batch_size: int, out: str) -> tuple[float, int]:
    from apprentice.orchestration.dataset import generate_dataset

    started = time.perf_counter()
    summary = await generate_dataset(
        shape=shape_path,
        spec=SPEC,
        n=n,
        out=out,
        batch_size=batch_size,
        concurrency=concurrency,
        parallel_batches=2,
        seed=int(time.time()),
        backends_file=backends,
        record_attempts=1,
        monitor=False,
    )
    return time.perf_counter() - started, summary.records


def measure(
    label: str,
    base_url: str,
    model: str,
    structured: str,
    backends: str | None,
    n: int,
    concurrency: int,
    batch_size: int,
    work: Path,
    repeat: int = 1,
) -> dict:
    """Raw loop and flow, alternating `repeat` times; the figures are the medians (one machine with
    2 cores runs the stub, the Prefect server and the client, so single runs are noisy)."""
    from apprentice.shapes.schema import compile_shape

    schema = compile_shape(SHAPE).json_schema
    assert isinstance(schema, dict)  # an example shape compiles to an object schema
    shape_path = work / "city.json"
    shape_path.write_text(json.dumps(SHAPE))
    runs: list[dict[str, Any]] = []
    for i in range(repeat):
        raw_s, raw_valid = asyncio.run(raw_loop(base_url, model, n, concurrency, schema, structured, STAGES))
        flow_s, flow_valid = asyncio.run(flow_run(str(shape_path), backends, n, concurrency, batch_size, str(work / f"{label}-{i}.jsonl")))
        runs.append({"raw_s": round(raw_s, 3), "flow_s": round(flow_s, 3), "raw_valid": raw_valid, "flow_valid": flow_valid})
    raw_s = statistics.median(r["raw_s"] for r in runs)
    flow_s = statistics.median(r["flow_s"] for r in runs)
    raw_valid = min(r["raw_valid"] for r in runs)
    flow_valid = min(r["flow_valid"] for r in runs)
    row: dict[str, Any] = {
        "n": n,
        "concurrency": concurrency,
        "repeat": repeat,
        "raw_records_per_s": round(raw_valid / raw_s, 2),
        "flow_records_per_s": round(flow_valid / flow_s, 2),
        "raw_valid": raw_valid,
        "flow_valid": flow_valid,
        "raw_s": raw_s,
        "flow_s": flow_s,
        "runs": runs,
    }
    row["ratio"] = round(row["flow_records_per_s"] / row["raw_records_per_s"], 3) if row["raw_records_per_s"] else None
    print(
        f"{label:>6}: raw {row['raw_records_per_s']:>8} rec/s | flow {row['flow_records_per_s']:>8} rec/s | ratio {row['ratio']} (n={n}, "
        f"median of {repeat})",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small N, finishes in under a minute")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--real-n", type=int, default=12)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=500, help="records per Prefect task in the flow")
    parser.add_argument("--repeat", type=int, default=5, help="alternating raw/flow runs per figure (median)")
    parser.add_argument("--api-url", help="a running Prefect server's API (default: Prefect's test harness on SQLite)")
    args = parser.parse_args()
    n, real_n, repeat = (200, 2, 1) if args.quick else (args.n, args.real_n, args.repeat)

    work = Path(tempfile.mkdtemp(prefix="apprentice-bench-"))
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    os.environ.setdefault("APPRENTICE_HOME", str(work / "home"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    port = free_port()
    stub = subprocess.Popen([sys.executable, str(HERE / "stub_server.py"), str(port), str(args.delay_ms)])
    stub_url = f"http://127.0.0.1:{port}/v1"
    backends = work / "stub.toml"
    backends.write_text(
        f'[[backends]]\nname = "stub"\nbase_url = "{stub_url}"\nmodel = "stub"\n'
        f'max_concurrency = {args.concurrency}\nstructured_output = "llama_cpp"\n'
    )
    results: dict = {
        "benchmark": "throughput",
        "quick": args.quick,
        "stub_delay_ms": args.delay_ms,
        "batch_size": args.batch_size,
        "prefect_api": args.api_url or "test harness (SQLite)",
    }
    server_context = (
        temporary_settings(updates={PREFECT_API_URL: args.api_url}) if args.api_url else prefect_test_harness(server_startup_timeout=120)
    )
    try:
        with server_context:
            time.sleep(1.0)
            measure("warmup", stub_url, "stub", "llama_cpp", str(backends), 10, args.concurrency, 10, work)
            results["stub"] = measure(
                "stub", stub_url, "stub", "llama_cpp", str(backends), n, args.concurrency, args.batch_size, work, repeat
            )
            from apprentice.backends import local
            from apprentice.config import load_settings

            os.environ["APPRENTICE_LOCAL_PORT"] = str(free_port())
            server = local.LocalServer.from_settings(load_settings())
            local.start(server)
            try:
                asyncio.run(raw_loop(server.base_url, local.MODEL_ALIAS, 1, 1, {"type": "object"}, "llama_cpp"))  # warm the model
                results["real"] = measure(
                    "real", server.base_url, local.MODEL_ALIAS, "llama_cpp", None, real_n, 2, real_n, work, min(repeat, 3)
                )
            finally:
                local.stop(server)
    finally:
        stub.terminate()
    report("throughput", results)


if __name__ == "__main__":
    main()
