"""Big real-world schemas on the embedded model: a valid record within the time budget, or a fast
clear "no" — never a wait for nothing, never a dead server.

The shared JSONSchemaBench schemas of 20 KB or more (nine of them, up to 60 KB), one record each
with the validate-and-correct pattern, side by side in one run:
- *before*: the whole schema as the grammar and the prompt cut at 6,000 characters mid-JSON,
  as apprentice sent it until this change;
- *now*: preflight (`check_fits`: refused in one line when no backend's context can take it),
  then the prompt and the grammar get the schema without its optional parts (`fit_schema`).
Both paths run under the same per-record time budget (`record_timeout_s`). Per path: delivered
valid, invalid, refused (with reason and seconds to refuse), timed out, server crashes, p50/p95
seconds per record.

    python bench/big_schemas.py [--quick] [--budget 120] [--min-kb 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _report import report  # bench/ is on sys.path when a bench runs as a script

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "jsonschemabench"


def big_schemas(min_chars: int) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            size = len(json.dumps(row["schema"]))
            if size >= min_chars:
                rows.append({"subset": path.stem, "id": row["id"], "chars": size, "schema": row["schema"]})
    return sorted(rows, key=lambda r: r["chars"])


@contextmanager
def as_before():
    """apprentice's handling before fit_schema: the full schema as the grammar, the prompt cut."""
    from apprentice import generation
    from apprentice.shapes import prompts

    def cut(schema: Any) -> str:
        text = json.dumps(schema, separators=(",", ":"))
        return text if len(text) <= prompts.MAX_SCHEMA_CHARS else text[: prompts.MAX_SCHEMA_CHARS] + "…(truncated)"

    saved = generation.fit_schema, prompts.schema_text
    generation.fit_schema, prompts.schema_text = (lambda schema, max_chars: schema), cut
    try:
        yield
    finally:
        generation.fit_schema, prompts.schema_text = saved


def loop_spec(budget: float):
    from apprentice.workflows import parse_spec

    return parse_spec(
        {
            "name": "big-schemas",
            "pattern": "correct_loop",
            "max_rounds": 2,
            "sampling": False,
            "realism_checks": False,
            "record_timeout_s": budget,
            "stages": [{"name": "draft", "role": "generate", "temperature": 0.2}, {"name": "fix", "role": "correct", "temperature": 0.2}],
        }
    )


async def one(pool, row: dict, spec, preflight: bool) -> dict:
    from apprentice.config import load_pool_config, load_settings
    from apprentice.dataset import generate_batch, plan_batches
    from apprentice.errors import ApprenticeError
    from apprentice.preflight import check_fits
    from apprentice.records import FailureKind
    from apprentice.shapes.schema import compile_shape
    from apprentice.shapes.validate import validate

    started = time.perf_counter()
    try:
        shape = compile_shape(row["schema"])
        if preflight:
            await asyncio.to_thread(check_fits, spec, shape, load_pool_config(), load_settings())
    except ApprenticeError as exc:
        return {"outcome": "refused", "reason": str(exc)[:200], "seconds": round(time.perf_counter() - started, 2)}
    (plan,) = plan_batches(1, 1, 17)
    batch = await generate_batch(pool, spec, shape, plan, concurrency=1, record_attempts=1)
    (outcome,) = batch.outcomes
    valid = outcome.valid and not validate(outcome.record, shape.json_schema)
    kind = (
        "valid"
        if valid
        else "timed_out"
        if outcome.failure is FailureKind.timed_out
        else "not_made"
        if outcome.failure is FailureKind.backend
        else "invalid"
    )
    return {
        "outcome": kind,
        "calls": len(outcome.calls),
        "reason": None if valid else (outcome.reason or "")[:200],
        "seconds": round(time.perf_counter() - started, 2),
    }


def summarise(results: list[dict]) -> dict:
    seconds = sorted(r["seconds"] for r in results)
    counts = {k: sum(r["outcome"] == k for r in results) for k in ("valid", "invalid", "refused", "timed_out", "not_made")}
    return {
        **counts,
        "server_crashes": sum(r.get("server_crashed", False) for r in results),
        "p50_s": round(statistics.median(seconds), 1) if seconds else None,
        "p95_s": round(seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))], 1) if seconds else None,
        "slowest_refusal_s": max((r["seconds"] for r in results if r["outcome"] == "refused"), default=None),
    }


async def run(rows: list[dict], budget: float, server) -> dict[str, Any]:
    from apprentice.backends import local
    from apprentice.backends.pool import BackendPool
    from apprentice.config import load_pool_config

    spec = loop_spec(budget)
    out: dict[str, list[dict]] = {"before": [], "now": []}
    pool = BackendPool(load_pool_config())
    try:
        for row in rows:
            for path in ("before", "now"):
                if path == "before":
                    with as_before():
                        result = await one(pool, row, spec, preflight=False)
                else:
                    result = await one(pool, row, spec, preflight=True)
                if not local.is_listening(server.base_url):  # the schema crashed the model server
                    result["server_crashed"] = True
                    await asyncio.to_thread(local.start, server)
                    await pool.aclose()
                    pool = BackendPool(load_pool_config())
                out[path].append({"id": row["id"], "subset": row["subset"], "kb": round(row["chars"] / 1000, 1), **result})
                print(
                    f"  {row['subset']:<15} {row['id']:<8} {row['chars'] / 1000:5.1f} KB  {path:<6} {result['outcome']:<9} "
                    f"{result['seconds']:6.1f} s  "
                    f"{(result.get('reason') or '')[:90]}",
                    flush=True,
                )
    finally:
        await pool.aclose()
    return {path: {"summary": summarise(results), "schemas": results} for path, results in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smallest big schema only, with a 25 s budget")
    parser.add_argument("--budget", type=float, default=120.0, help="record_timeout_s for every record")
    parser.add_argument("--min-kb", type=float, default=20.0)
    args = parser.parse_args()
    rows = big_schemas(int(args.min_kb * 1000))
    budget = 25.0 if args.quick else args.budget
    rows = rows[:1] if args.quick else rows

    os.environ.setdefault("APPRENTICE_HOME", tempfile.mkdtemp(prefix="apprentice-big-"))
    from apprentice.backends import local
    from apprentice.config import load_settings

    server = local.LocalServer.from_settings(load_settings())
    started_here = not local.is_listening(server.base_url)
    if started_here:
        local.start(server)
    began = time.perf_counter()
    try:
        results = asyncio.run(run(rows, budget, server))
    finally:
        if started_here:
            local.stop(server)
    print(f"\n{'':<10}" + "".join(f"{k:>10}" for k in ("valid", "invalid", "refused", "timed_out", "crashes", "p50 s", "p95 s")))
    for path in ("before", "now"):
        s = results[path]["summary"]
        print(
            f"{path:<10}"
            + "".join(
                f"{v!s:>10}" for v in (s["valid"], s["invalid"], s["refused"], s["timed_out"], s["server_crashes"], s["p50_s"], s["p95_s"])
            )
        )
    report(
        "big_schemas",
        {
            "bench": "big_schemas",
            "quick": args.quick,
            "schemas": len(rows),
            "budget_s": budget,
            "seconds": round(time.perf_counter() - began, 1),
            **results,
        },
    )


if __name__ == "__main__":
    main()
