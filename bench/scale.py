"""Scale-out, measured: dataset-flow throughput as process workers and Dask workers grow, against a
pool of stub servers, with the Prefect server and the apprentice store on PostgreSQL — beside a raw
httpx loop making the same calls at the same total concurrency, in the same run.

    python bench/scale.py [--quick] [--n 2000] [--workers 1,2,4] [--stubs 4] [--delay-ms 20]
                          [--per-worker 8] [--repeat 3] [--model-n 6] [--modes process,dask,model]

- process: a Prefect process work pool with k workers (`prefect worker start --limit 1`, started
  before the clock), one deployment run of the dataset flow per worker over its share of the N
  records; the time is from submitting the k runs to the last one ending (server timestamps).
- dask: one flow run whose batches go to a running, warmed k-worker Dask cluster (one thread per
  worker) through `DaskTaskRunner(address=...)`.
- model (full run): the dask mode with the embedded SmolLM2 server as the only backend, k = 1 and 2.

Each worker keeps `per-worker` calls in flight; the raw loop, one process, keeps k × per-worker.
CPU by component — backends (stubs or model server), Prefect server, PostgreSQL, workers (every other process this bench
started: workers, their flow runs, Dask, this process running a flow) and other (processes not
ours) — is read from /proc around every flow measurement, to say what limits the curve.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psutil

from _report import report  # bench/ is on sys.path when a bench runs as a script
from throughput import SHAPE, free_port, raw_loop

HERE = Path(__file__).resolve().parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgres@127.0.0.1:5432"
FLOW_ENTRYPOINT = "apprentice.orchestration.dataset.generate_dataset"  # a module path: workers import it from PYTHONPATH


@dataclass
class Stack:
    """What every measurement shares: the stubs, the Prefect server, the shape and the backend file."""

    work: Path
    stub_urls: list[str]
    backend_pids: list[int]  # the stubs, or the embedded model server: CPU counted as "backends"
    server_pid: int
    backends: Path
    shape: Path
    schema: dict
    processes: list[subprocess.Popen] = field(default_factory=list)


# --- processes and databases -------------------------------------------------------------------


@contextmanager
def started_processes() -> Iterator[list[subprocess.Popen]]:
    """Every process the bench starts goes in this list and is ended, with its process group (a
    worker's flow runs, the server's children), when the bench ends or fails."""
    processes: list[subprocess.Popen] = []
    try:
        yield processes
    finally:
        stop(processes)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    processes.clear()


def spawn(processes: list[subprocess.Popen], args: list[str], log: Path) -> subprocess.Popen:
    with log.open("ab") as handle:
        process = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    processes.append(process)
    return process


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database for this run, dropped afterwards (connections and all)."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def table_count(database: str) -> int:
    import psycopg

    with psycopg.connect(f"postgresql://{PG_URL}/{database}") as conn:
        row = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone()
    return int(row[0]) if row else 0


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {timeout_s} s: {log.read_text()[-2000:]}")


def start_stubs(processes: list[subprocess.Popen], work: Path, count: int, delay_ms: float) -> list[tuple[subprocess.Popen, str]]:
    """`count` stub servers, each its own process; (process, base URL) once all answer."""
    stubs = []
    for _ in range(count):
        port = free_port()
        stub = spawn(processes, [sys.executable, str(HERE / "stub_server.py"), str(port), str(delay_ms)], work / "stubs.log")
        stubs.append((stub, f"http://127.0.0.1:{port}/v1"))
    for stub, url in stubs:
        wait_healthy(f"{url}/models", stub, work / "stubs.log")
    return stubs


def stub_pool_file(work: Path, urls: list[str]) -> Path:
    """The stubs as one tier. Their limit is high on purpose: a worker's in-flight calls are set by
    the batches' concurrency, as the raw loop's are by its semaphore."""
    entries = [
        f'[[backends]]\nname = "stub{i}"\nbase_url = "{url}"\nmodel = "stub"\ntier = "fast"\n'
        'max_concurrency = 256\nstructured_output = "none"\n'
        for i, url in enumerate(urls)
    ]
    path = work / "stubs.toml"
    path.write_text("\n".join(entries))
    return path


def start_prefect_server(processes: list[subprocess.Popen], work: Path, port: int, database: str) -> subprocess.Popen:
    """`prefect server start` on the PostgreSQL database, tried twice: on a loaded machine its
    start-up block registration can hit a statement timeout and leave asyncpg's connection broken,
    so the timeouts are raised (they bound only stalls, never a measurement) and a failed start
    is retried once."""
    env = {
        **os.environ,
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://{PG_URL}/{database}",
        "PREFECT_SERVER_DATABASE_TIMEOUT": "60",
        "PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT": "30",
        "PREFECT_UI_ENABLED": "false",
    }
    log = work / "prefect-server.log"
    args = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    for attempt in (1, 2):
        with log.open("ab") as handle:
            server = subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(server)
        try:
            wait_healthy(f"http://127.0.0.1:{port}/api/health", server, log)
            break
        except RuntimeError:
            stop_some(processes, [server])
            if attempt == 2:
                raise
    if not table_count(database):
        raise RuntimeError(f"the Prefect server is not on PostgreSQL database {database}")
    return server


def environment(work: Path, api_port: int, store_database: str) -> None:
    """Settings every process inherits (workers, their flow runs, Dask workers): this tree's code,
    the server, the store on PostgreSQL, quiet logs. Set before Prefect is imported."""
    source = str(HERE.parent / "src")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
    os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{api_port}/api"
    os.environ["APPRENTICE_DATABASE_URL"] = f"postgresql+psycopg://{PG_URL}/{store_database}"
    os.environ["PREFECT_HOME"] = str(work / "prefect")
    os.environ["APPRENTICE_HOME"] = str(work / "home")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    os.environ["PREFECT_WORKER_QUERY_SECONDS"] = "1"  # the default 10 s poll would dominate a short run
    os.environ["DASK_LOGGING__DISTRIBUTED"] = "error"  # a nanny killing a worker at cluster close is not news


# --- CPU by component --------------------------------------------------------------------------


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process, its live descendants and the children it has reaped."""
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for member in members:
        try:
            t = member.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def postgres_cpu_s() -> float:
    total = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "postgres":
            try:
                t = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += t.user + t.system + t.children_user + t.children_system
    return total


def cpu_snapshot(stack: Stack) -> dict[str, float]:
    machine = psutil.cpu_times()
    return {
        "machine": sum(machine) - machine.idle - getattr(machine, "iowait", 0.0),
        "backends": sum(tree_cpu_s(pid) for pid in stack.backend_pids),
        "prefect_server": tree_cpu_s(stack.server_pid),
        "postgres": postgres_cpu_s(),
        "ours": tree_cpu_s(os.getpid()),  # every process the bench started descends from it
    }


def cpu_use(before: dict[str, float], after: dict[str, float], seconds: float, records: int) -> dict[str, float]:
    """Cores busy over the measurement, and CPU seconds per 1,000 records by component: "workers"
    is what the bench's processes spent besides the stubs and the server, "other" what processes
    not ours spent (PostgreSQL's figure includes other clients' queries)."""
    spent = {k: after[k] - before[k] for k in before}
    spent["workers"] = spent.pop("ours") - spent["backends"] - spent["prefect_server"]
    spent["other"] = spent["machine"] - spent["backends"] - spent["prefect_server"] - spent["postgres"] - spent["workers"]
    per_k = {f"{k}_cpu_s_per_1k": round(1000 * v / max(records, 1), 2) for k, v in spent.items()}
    return {"cores_busy": round(spent["machine"] / seconds, 2), "cores": psutil.cpu_count() or 0, **per_k}


# --- the flow, three ways ----------------------------------------------------------------------


def flow_parameters(stack: Stack, n: int, batches: int, in_flight: int, seed: int, out: Path, backends: str | None) -> dict[str, Any]:
    """`n` records in `batches` equal batches, all submitted at once, each with `in_flight` calls."""
    return {
        "shape": str(stack.shape),
        "n": n,
        "out": str(out),
        "batch_size": math.ceil(n / batches),
        "concurrency": in_flight,
        "parallel_batches": batches,
        "record_attempts": 1,
        "seed": seed,
        "backends_file": backends,
        "monitor": False,
    }


def count_records(paths: list[Path]) -> int:
    return sum(len(path.read_text().splitlines()) for path in paths if path.exists())


async def deploy(pool: str) -> Any:
    """A process work pool and a deployment of the dataset flow on it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    async with get_client() as client:
        await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        flow_id = await client.create_flow_from_name("generate-dataset")
        return await client.create_deployment(flow_id, "scale", work_pool_name=pool, entrypoint=FLOW_ENTRYPOINT)


@contextmanager
def process_workers(stack: Stack, pool: str, k: int) -> Iterator[None]:
    """k process workers, each taking one flow run at a time, online before the clock starts."""
    names = [f"{pool}-{k}-{i}" for i in range(k)]
    workers = []
    for name in names:
        args = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process", "--limit", "1", "--name", name]
        workers.append(spawn(stack.processes, args, stack.work / f"{name}.log"))
    try:
        asyncio.run(wait_workers_online(pool, names))
        yield
    finally:
        stop_some(stack.processes, workers)


def stop_some(processes: list[subprocess.Popen], some: list[subprocess.Popen]) -> None:
    stop(list(some))
    processes[:] = [p for p in processes if p not in some]


async def wait_workers_online(pool: str, names: list[str], timeout_s: float = 180) -> None:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout_s
    async with get_client() as client:
        while time.monotonic() < deadline:
            workers = await client.read_workers_for_work_pool(pool)
            if set(names) <= {w.name for w in workers if str(w.status).upper().endswith("ONLINE")}:
                return
            await asyncio.sleep(0.5)
    raise RuntimeError(f"workers {names} were not online in {timeout_s} s")


async def run_deployments(deployment_id: Any, parameters: list[dict[str, Any]]) -> dict[str, float]:
    """Submit one flow run per worker and wait for all. Seconds from submission to the last run's
    end, to the first run's start (a worker's poll, then a new process importing Prefect and
    apprentice), and from that start to the last end; from the server's timestamps."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        submitted = time.time()  # the server runs on this machine: one clock
        ids = [(await client.create_flow_run_from_deployment(deployment_id, parameters=p)).id for p in parameters]
        while True:
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
            if len(runs) == len(ids) and all(r.state and r.state.is_final() for r in runs):
                break
            await asyncio.sleep(0.5)
    failed = [r.state.message for r in runs if r.state and not r.state.is_completed()]
    if failed:
        raise RuntimeError(f"flow runs failed: {failed}")
    ended = max(r.end_time.timestamp() for r in runs if r.end_time)
    started = min(r.start_time.timestamp() for r in runs if r.start_time)
    return {"seconds": ended - submitted, "to_first_start_s": round(started - submitted, 2), "running_s": round(ended - started, 3)}


def process_flow(stack: Stack, deployment_id: Any, k: int, n: int, per_worker: int, seed: int, label: str) -> dict[str, Any]:
    """k deployment runs, each two parallel batches over its share of n, per_worker calls in flight."""
    shares = [n // k + (i < n % k) for i in range(k)]
    outs = [stack.work / f"{label}-{i}.jsonl" for i in range(k)]
    parameters = [
        flow_parameters(stack, share, 2, max(1, per_worker // 2), seed + i, out, str(stack.backends))
        for i, (share, out) in enumerate(zip(shares, outs, strict=True))
    ]
    return {**asyncio.run(run_deployments(deployment_id, parameters)), "records": count_records(outs)}


@contextmanager
def dask_cluster(k: int) -> Iterator[tuple[str, float]]:
    """A k-process Dask cluster, one thread per worker; yields its address and start-up seconds."""
    import distributed

    started = time.perf_counter()
    with distributed.LocalCluster(n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address, round(time.perf_counter() - started, 2)


def dask_flow(stack: Stack, address: str, k: int, n: int, per_worker: int, backends: str | None, seed: int, label: str) -> dict[str, Any]:
    """One flow run over n records in 2k batches, all submitted; each of the k single-thread
    workers runs one batch at a time with per_worker calls in flight."""
    from prefect_dask import DaskTaskRunner

    from apprentice.orchestration.dataset import generate_dataset

    out = stack.work / f"{label}.jsonl"
    # A TaskRunner of PrefectDaskFuture: with_options' parameter is invariant in the future type.
    flow = generate_dataset.with_options(task_runner=DaskTaskRunner(address=address))  # type: ignore[arg-type]
    started = time.perf_counter()
    summary = asyncio.run(_awaited(flow(**flow_parameters(stack, n, 2 * k, per_worker, seed, out, backends))))
    return {"seconds": time.perf_counter() - started, "records": summary.records}


async def _awaited(call: Any) -> Any:
    return await call


def raw_run(urls: str | list[str], model: str, n: int, in_flight: int, schema: dict, structured: str) -> tuple[float, int]:
    """The baseline: `throughput.raw_loop`'s plain httpx calls, `in_flight` at a time from one process."""
    return asyncio.run(raw_loop(urls, model, n, in_flight, schema, structured))


# --- one point of the curve --------------------------------------------------------------------


def measure_point(
    stack: Stack,
    mode: str,
    k: int,
    in_flight: int,
    n: int,
    repeat: int,
    run_flow: Callable[[int, str], dict[str, Any]],
    raw: Callable[[], tuple[float, int]],
) -> dict[str, Any]:
    """Raw loop and flow alternating `repeat` times; figures are medians, CPU is the median run's."""
    runs: list[dict[str, Any]] = []
    for i in range(repeat):
        raw_s, raw_valid = raw()
        before = cpu_snapshot(stack)
        flow = run_flow(int(time.time() * 1000) % 1_000_000_000 + 1000 * i, f"{mode.split()[0]}-{k}-{i}")
        cpu = cpu_use(before, cpu_snapshot(stack), flow["seconds"], flow["records"])
        runs.append({"raw_s": round(raw_s, 3), "raw_valid": raw_valid, "flow_s": round(flow["seconds"], 3), **flow, "cpu": cpu})
    median = sorted(runs, key=lambda r: r["flow_s"])[len(runs) // 2]
    raw_rps = min(r["raw_valid"] for r in runs) / statistics.median(r["raw_s"] for r in runs)
    flow_rps = min(r["records"] for r in runs) / statistics.median(r["flow_s"] for r in runs)
    row = {
        "mode": mode,
        "workers": k,
        "in_flight": in_flight,
        "n": n,
        "repeat": repeat,
        "raw_records_per_s": rate(raw_rps),
        "flow_records_per_s": rate(flow_rps),
        "ratio": round(flow_rps / raw_rps, 3) if raw_rps else None,
        **running_figures(runs),
        "cpu": median["cpu"],
        "runs": [{k_: v for k_, v in r.items() if k_ != "cpu"} for r in runs],
    }
    print_progress(row)
    return row


def rate(records_per_s: float) -> float:
    """Records per second to three significant figures or one decimal: a model makes a fraction of one."""
    return round(records_per_s, 1) if records_per_s >= 100 else float(f"{records_per_s:.3g}")


def running_figures(runs: list[dict[str, Any]]) -> dict[str, float]:
    """For deployment runs: the medians of the wait until the first run started, and of the
    throughput once runs were running (what a long run approaches)."""
    if "running_s" not in runs[0]:
        return {}
    records = min(r["records"] for r in runs)
    return {
        "to_first_start_s": statistics.median(r["to_first_start_s"] for r in runs),
        "running_records_per_s": rate(records / statistics.median(r["running_s"] for r in runs)),
    }


def print_progress(row: dict[str, Any]) -> None:
    print(
        f"  {row['mode']}, k = {row['workers']}: raw {row['raw_records_per_s']} rec/s, flow {row['flow_records_per_s']} rec/s, "
        f"ratio {row['ratio']}, {row['cpu']['cores_busy']} cores busy",
        flush=True,
    )


def add_speedups(rows: list[dict[str, Any]]) -> None:
    """Each point's flow throughput over its mode's first point (k = 1): the curve."""
    first: dict[str, float] = {}
    for row in rows:
        base = first.setdefault(row["mode"], row["flow_records_per_s"])
        row["speedup"] = round(row["flow_records_per_s"] / base, 2) if base else None


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = ("mode", "k", "in flight", "raw rec/s", "flow rec/s", "flow/raw", "speed-up", "running rec/s", "to start s", "cores busy")
    print("\n" + " | ".join(columns) + " | CPU s per 1k records: backends / Prefect server / PostgreSQL / workers / other")
    for row in rows:
        cpu = row["cpu"]
        parts = " / ".join(f"{cpu[f'{k}_cpu_s_per_1k']:.2f}" for k in ("backends", "prefect_server", "postgres", "workers", "other"))
        cells = (
            row["mode"],
            row["workers"],
            row["in_flight"],
            row["raw_records_per_s"],
            row["flow_records_per_s"],
            row["ratio"],
            row["speedup"],
            row.get("running_records_per_s", "–"),
            row.get("to_first_start_s", "–"),
            cpu["cores_busy"],
        )
        print(" | ".join(str(c) for c in cells) + f" | {parts}", flush=True)


# --- the curves --------------------------------------------------------------------------------


def process_curve(stack: Stack, args: argparse.Namespace, workers: list[int]) -> list[dict[str, Any]]:
    pool = f"scale-{uuid.uuid4().hex[:6]}"
    deployment_id = asyncio.run(deploy(pool))
    rows = []
    for k in workers:
        with process_workers(stack, pool, k):
            if k == workers[0]:  # the first runs on a fresh server and a cold disk cache pay for both
                process_flow(stack, deployment_id, k, 4 * k, args.per_worker, 1, f"warmup-process-{k}")
            in_flight = k * args.per_worker
            rows.append(
                measure_point(
                    stack,
                    "process",
                    k,
                    in_flight,
                    args.n,
                    args.repeat,
                    partial(process_flow, stack, deployment_id, k, args.n, args.per_worker),
                    partial(raw_run, stack.stub_urls, "stub", args.n, in_flight, stack.schema, "none"),
                )
            )
    return rows


def dask_curve(
    stack: Stack,
    workers: list[int],
    n: int,
    per_worker: int,
    repeat: int,
    mode: str,
    backends: str | None,
    raw_target: tuple[Any, str, str],
) -> list[dict[str, Any]]:
    """The dask mode at each k; `raw_target` is (server URLs, model, structured output) for the raw loop."""
    urls, model, structured = raw_target
    rows = []
    for k in workers:
        with dask_cluster(k) as (address, startup_s):
            dask_flow(stack, address, k, 2 * k, per_worker, backends, 1, f"warmup-{mode.split()[0]}-{k}")  # workers import and connect
            in_flight = k * per_worker
            row = measure_point(
                stack,
                mode,
                k,
                in_flight,
                n,
                repeat,
                partial(dask_flow, stack, address, k, n, per_worker, backends),
                partial(raw_run, urls, model, n, in_flight, stack.schema, structured),
            )
            rows.append({**row, "cluster_start_s": startup_s})
    return rows


def model_curve(stack: Stack, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The embedded SmolLM2 server as the only backend, dask mode at k = 1 and 2, one call per worker."""
    from apprentice.backends import local
    from apprentice.config import load_settings

    os.environ["APPRENTICE_LOCAL_PORT"] = str(free_port())
    server = local.LocalServer.from_settings(load_settings())
    model_stack = replace(stack, backend_pids=[local.start(server)])
    try:
        asyncio.run(raw_loop(server.base_url, local.MODEL_ALIAS, 1, 1, {"type": "object"}, "llama_cpp"))  # load the model
        target = (server.base_url, local.MODEL_ALIAS, "llama_cpp")
        return dask_curve(model_stack, [1, 2], args.model_n, 1, 1, "dask, SmolLM2", None, target)
    finally:
        local.stop(server)


# --- main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="k = 1, 2, small N, no model: finishes in under a minute on a quiet machine")
    parser.add_argument("--n", type=int, default=2000, help="records per measurement, split over the workers")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure")
    parser.add_argument("--stubs", type=int, default=4, help="stub servers in the backend tier")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="each stub's answer delay")
    parser.add_argument("--per-worker", type=int, default=8, help="calls in flight per worker (the raw loop: workers × this)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating raw/flow runs per point (median)")
    parser.add_argument("--model-n", type=int, default=6, help="records per embedded-model point")
    parser.add_argument("--modes", default="process,dask,model", help="which curves: process, dask, model")
    args = parser.parse_args()
    if args.quick:
        args.n, args.workers, args.repeat, args.modes = 200, "1,2", 1, "process,dask"
    return args


def main() -> None:
    args = parse_args()
    workers = [int(k) for k in args.workers.split(",")]
    load_before = os.getloadavg()[0]
    if load_before >= 1.5:
        print(f"warning: load {load_before:.1f} on {psutil.cpu_count()} cores: the figures will not be meaningful", flush=True)
    work = Path(tempfile.mkdtemp(prefix="apprentice-scale-"))
    started = time.perf_counter()
    try:
        with fresh_database("apprentice_scale_prefect") as prefect_db, fresh_database("apprentice_scale_store") as store_db:
            api_port = free_port()
            environment(work, api_port, store_db)
            with started_processes() as processes:
                stack = build_stack(processes, work, api_port, prefect_db, args)
                results = measure_all(stack, args, workers)
    except BaseException:
        print(f"logs kept in {work}", file=sys.stderr)
        raise
    shutil.rmtree(work, ignore_errors=True)
    results.update(prefect_database="PostgreSQL", store_database="PostgreSQL", load_before=load_before)
    results["seconds"] = round(time.perf_counter() - started, 1)
    report("scale", results)


def build_stack(processes: list[subprocess.Popen], work: Path, api_port: int, prefect_db: str, args: argparse.Namespace) -> Stack:
    from apprentice.shapes.schema import compile_shape

    stubs = start_stubs(processes, work, args.stubs, args.delay_ms)
    server = start_prefect_server(processes, work, api_port, prefect_db)
    shape = work / "city.json"
    shape.write_text(json.dumps(SHAPE))
    schema = compile_shape(SHAPE).json_schema
    assert isinstance(schema, dict)  # an example shape compiles to an object schema
    urls = [url for _, url in stubs]
    return Stack(work, urls, [stub.pid for stub, _ in stubs], server.pid, stub_pool_file(work, urls), shape, schema, processes)


def measure_all(stack: Stack, args: argparse.Namespace, workers: list[int]) -> dict[str, Any]:
    print(f"{len(stack.stub_urls)} stubs at {args.delay_ms} ms, {args.per_worker} calls in flight per worker, {psutil.cpu_count()} cores")
    modes = args.modes.split(",")
    rows = process_curve(stack, args, workers) if "process" in modes else []
    if "dask" in modes:
        stub_target = (stack.stub_urls, "stub", "none")
        rows += dask_curve(stack, workers, args.n, args.per_worker, args.repeat, "dask", str(stack.backends), stub_target)
    if "model" in modes:
        rows += model_curve(stack, args)
    add_speedups(rows)
    print_table(rows)
    return {
        "benchmark": "scale",
        "quick": args.quick,
        "modes": modes,
        "stubs": len(stack.stub_urls),
        "stub_delay_ms": args.delay_ms,
        "per_worker_in_flight": args.per_worker,
        "cores": psutil.cpu_count(),
        "points": rows,
    }


if __name__ == "__main__":
    main()
