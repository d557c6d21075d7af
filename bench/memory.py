"""Peak memory of a dataset run by N: records held until the end (baseline) vs batches streamed.

Each run is `apprentice.generate` (the library call, no Prefect) in a child process of its own
against the stub server (`bench/stub_server.py`), and its peak RSS is what the child reports
(`ru_maxrss`). The baseline is the commit before streaming, checked out in a `git worktree` and
imported through PYTHONPATH with the same venv; the worktree is removed afterwards.

    python bench/memory.py [--quick] [--sizes 1000,10000,100000] [--baseline COMMIT] [--batch-size 100]

Goal: the streamed design's peak RSS flat within 20% from 10k to 100k records.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import report  # bench/ is on sys.path when a bench runs as a script

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
SHAPE = {"city": "string", "country": "string", "population": 0}
BASELINE = "419a3a8"  # the library entry point, before batches were streamed to the files

CHILD = """
import json, resource, sys, time
import apprentice
args = json.loads(sys.argv[1])
started = time.perf_counter()
summary = apprentice.generate(args["shape"], n=args["n"], out=args["out"], batch_size=args["batch_size"], concurrency=16,
                              parallel_batches=2, record_attempts=1, seed=args["n"], backends_file=args["backends"])
print(json.dumps({"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "seconds": round(time.perf_counter() - started, 1),
                  "records": summary.records, "module": apprentice.__file__}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(src: Path, n: int, work: Path, backends: Path, shape: Path, batch_size: int, label: str) -> dict:
    """One run in a fresh child (own apprentice home, so no store is shared) → its peak RSS."""
    home = work / f"{label}-{n}"
    env = {**os.environ, "PYTHONPATH": str(src), "APPRENTICE_HOME": str(home), "PREFECT_HOME": str(work / "prefect")}
    args = {"shape": str(shape), "n": n, "out": str(home / "out.jsonl"), "batch_size": batch_size, "backends": str(backends)}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], env=env, capture_output=True, text=True, check=True)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row.pop("module").startswith(str(src)), f"{label} imported apprentice from elsewhere"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 5k records, under a minute")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--baseline", default=BASELINE, help="commit of today's design")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--delay-ms", type=float, default=1.0, help="the stub's answer delay")
    args = parser.parse_args()
    sizes = [1000, 5000] if args.quick else [int(s) for s in args.sizes.split(",")]

    work = Path(tempfile.mkdtemp(prefix="apprentice-memory-"))
    baseline = work / "baseline"
    subprocess.run(["git", "-C", str(PROJECT), "worktree", "add", "--detach", "--quiet", str(baseline), args.baseline], check=True)
    port = free_port()
    stub = subprocess.Popen([sys.executable, str(HERE / "stub_server.py"), str(port), str(args.delay_ms)])
    backends = work / "stub.toml"
    backends.write_text(
        f'[[backends]]\nname = "stub"\nbase_url = "http://127.0.0.1:{port}/v1"\nmodel = "stub"\nmax_concurrency = 16\nstructured_output '
        f'= "none"\n'
    )
    shape = work / "city.json"
    shape.write_text(json.dumps(SHAPE))
    rows = []
    try:
        time.sleep(1.5)
        for n in sizes:
            old = measure(baseline / "src", n, work, backends, shape, args.batch_size, "baseline")
            new = measure(PROJECT / "src", n, work, backends, shape, args.batch_size, "streamed")
            rows.append(
                {
                    "n": n,
                    "baseline_peak_rss_mb": old["peak_rss_mb"],
                    "streamed_peak_rss_mb": new["peak_rss_mb"],
                    "baseline_s": old["seconds"],
                    "streamed_s": new["seconds"],
                    "records": [old["records"], new["records"]],
                }
            )
            print(
                f"n={n:>7}: baseline {old['peak_rss_mb']:>7} MB ({old['seconds']} s) | streamed {new['peak_rss_mb']:>7} MB "
                f"({new['seconds']} s)",
                flush=True,
            )
    finally:
        stub.terminate()
        subprocess.run(["git", "-C", str(PROJECT), "worktree", "remove", "--force", str(baseline)], check=False)
    small, large = rows[-2], rows[-1]
    growth = large["streamed_peak_rss_mb"] / small["streamed_peak_rss_mb"] - 1
    report(
        "memory",
        {
            "benchmark": "memory",
            "quick": args.quick,
            "batch_size": args.batch_size,
            "stub_delay_ms": args.delay_ms,
            "baseline": args.baseline,
            "rows": rows,
            "streamed_growth": round(growth, 3),
            "between": [small["n"], large["n"]],
            "flat_within_20pct": growth <= 0.2,
        },
    )


if __name__ == "__main__":
    main()
