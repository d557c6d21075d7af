"""Parallel fan-out vs sequential stages for seed 000's three-aspect product, in one run.

Three backends (each a stub model server answering in a fixed delay, standing in for three
remote models) serve the details, pricing and inventory branches. The parallel pattern runs the
branches at once; the baseline runs the same three stages one after another (sequential pattern).
Wall time per record should come close to the slowest branch for parallel and to the sum for
sequential.

    python bench/patterns.py [--quick] [--n 20] [--delay-ms 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _report import report  # bench/ is on sys.path when a bench runs as a script

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STAGES = [
    {"name": "details", "role": "generate", "backend": "one", "fields": ["sku", "name", "description"]},
    {"name": "pricing", "role": "generate", "backend": "two", "fields": ["price", "currency"]},
    {"name": "inventory", "role": "generate", "backend": "three", "fields": ["stock", "warehouse"]},
]


async def per_record_seconds(pool, spec, shape, n: int) -> tuple[list[float], int]:
    from apprentice.patterns import run_pattern

    times, valid = [], 0
    for i in range(n):
        started = time.perf_counter()
        outcome = await run_pattern(pool, spec, shape, index=i, seed=i)
        times.append(time.perf_counter() - started)
        valid += outcome.valid
    return times, valid


async def measure(urls: list[str], n: int) -> dict:
    from apprentice.backends.pool import BackendPool
    from apprentice.config import BackendConfig, PoolConfig
    from apprentice.shapes.schema import load_shape
    from apprentice.workflows import parse_spec

    shape = load_shape(ROOT / "deployments" / "product.json")
    pool = BackendPool(
        PoolConfig(
            backends=[
                BackendConfig(name=name, base_url=url, model="stub", structured_output="llama_cpp")
                for name, url in zip(("one", "two", "three"), urls, strict=True)
            ]
        )
    )
    parallel = parse_spec({"name": "products-parallel", "pattern": "parallel", "stages": STAGES})
    sequential = parse_spec(
        {"name": "products-sequential", "pattern": "sequential", "stages": [STAGES[0]] + [{**s, "role": "enrich"} for s in STAGES[1:]]}
    )
    await per_record_seconds(pool, parallel, shape, 2)  # warm the connections
    par, par_valid = await per_record_seconds(pool, parallel, shape, n)
    seq, seq_valid = await per_record_seconds(pool, sequential, shape, n)
    await pool.aclose()
    return {
        "n": n,
        "parallel_s_per_record": round(statistics.median(par), 3),
        "sequential_s_per_record": round(statistics.median(seq), 3),
        "speedup": round(statistics.median(seq) / statistics.median(par), 2),
        "parallel_valid": par_valid,
        "sequential_valid": seq_valid,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--delay-ms", type=float, default=300.0)
    args = parser.parse_args()
    n = 5 if args.quick else args.n
    sys.path.insert(0, str(HERE))
    from throughput import free_port

    ports = [free_port() for _ in range(3)]
    stubs = [subprocess.Popen([sys.executable, str(HERE / "stub_server.py"), str(p), str(args.delay_ms)]) for p in ports]
    try:
        time.sleep(2.0)
        result = {"benchmark": "patterns", "quick": args.quick, "branch_delay_ms": args.delay_ms}
        result |= asyncio.run(measure([f"http://127.0.0.1:{p}/v1" for p in ports], n))
    finally:
        for stub in stubs:
            stub.terminate()
    print(
        f"three-aspect product: parallel {result['parallel_s_per_record']} s/record | sequential {result['sequential_s_per_record']} "
        f"s/record | speedup {result['speedup']}x"
    )
    report("patterns", result)


if __name__ == "__main__":
    main()
