"""Valid records for real-world JSON Schemas (JSONSchemaBench) with the validate-and-correct
pattern on the embedded local model.

For every schema of a sample per subset: refuse it up front if it is invalid, unsupported or
unsatisfiable (with the reason), else generate one record with the correct-loop pattern and
check it with jsonschema. Reports per subset the share of schemas that got a valid record, the
share rejected up front (and why), mean model calls and seconds per schema. Beside it, on the
same schemas in the same run: one single pass — the model's first answer exactly as sent
(grammar-constrained by llama.cpp), with no repair, fixup or correction — and the correct loop
with the field plan on (sampled and derived fields given, realism checks), with the share of
each schema's top-level fields that were sampled or derived.

    python bench/jsonschemabench.py [--quick] [--per-subset 10 [--seed 7] | --all] [FILE.jsonl ...]

`--per-subset N` takes a seeded random sample of N schemas per file. Each schema's result is
kept as it finishes (`bench/results/jsonschemabench.rows.jsonl`, with the commit it ran on), so a
run cut short resumes where it stopped: a rerun with the same options skips the schemas it has
(`--fresh` starts over). `--redo-plan` runs only the field-plan path again on the kept schemas
(the other two paths do not use it), recording its own commit: for a change to the field plan
or the realism checks.

Every path runs under `record_timeout_s` equal to `--timeout`, so a record the realism checks
refused and the clock then stopped is a rejection with its defects, as a user's run keeps it.

Any JSONL file with one {"id": ..., "schema": {...}} per line can be given.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _report import report  # bench/ is on sys.path when a bench runs as a script

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "jsonschemabench"
PAPER = (
    "JSONSchemaBench (Geng et al., 2025), hardest GitHub subset, single pass: best engine 41%, llama.cpp 39%, OpenAI structured outputs 9%"
)


def read_schemas(path: Path) -> tuple[list[dict], dict]:
    """Schemas of a JSONL file, tolerating damage: NUL padding and unparseable lines are counted."""
    raw = path.read_bytes()
    nul = raw.count(b"\x00")
    rows: list[Any] = []
    broken = 0
    for line in raw.replace(b"\x00", b"").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append({"id": str(row.get("id", len(rows))), "schema": row["schema"]})
        except (ValueError, KeyError, TypeError, AttributeError):
            broken += 1
    return rows, {"nul_bytes": nul, "unreadable_lines": broken}


def correct_loop_spec(max_rounds: int, max_tokens: int = 1536):
    from apprentice.workflows import parse_spec

    return parse_spec(
        {
            "name": "jsonschemabench",
            "pattern": "correct_loop",
            "max_rounds": max_rounds,
            "sampling": False,
            "realism_checks": False,
            "stages": [
                {"name": "draft", "role": "generate", "max_tokens": max_tokens, "temperature": 0.2},
                {"name": "fix", "role": "correct", "max_tokens": max_tokens, "temperature": 0.2},
            ],
        }
    )


def single_pass_spec(max_tokens: int = 1536):
    from apprentice.workflows import parse_spec

    return parse_spec(
        {
            "name": "single-pass",
            "stages": [{"name": "draft", "role": "generate", "max_tokens": max_tokens, "temperature": 0.2, "corrections": 0}],
        }
    )


PATHS = ("single", "loop", "plan")


async def one_schema(pool, row: dict, loop_spec, single_spec, timeout: float = 600, paths: tuple[str, ...] = PATHS) -> dict:
    from apprentice.dataset import generate_batch, plan_batches, plan_presets
    from apprentice.errors import ApprenticeError
    from apprentice.shapes.schema import compile_shape
    from apprentice.shapes.validate import validate

    try:
        shape = compile_shape(row["schema"])
        validate({}, shape.json_schema)  # resolves $refs: an unresolvable one is refused here
    except ApprenticeError as exc:
        return {"id": row["id"], "status": "rejected", "reason": str(exc).split(":")[0][:120]}
    result = {"id": row["id"], "status": "attempted"}
    planned = loop_spec.model_copy(update={"sampling": True, "realism_checks": True})
    try:
        field_plan, presets = plan_presets(planned, shape, 1, seed=17)
    except ApprenticeError as exc:
        field_plan, presets = None, None
        result["plan_error"] = str(exc)[:200]
    result["sampled_share"] = round(field_plan.sampled_share(), 3) if field_plan is not None else 0.0
    runs = (("single", single_spec, 1, None), ("loop", loop_spec, 2, None), ("plan", planned, 2, presets))
    for label, spec, attempts, given in (run for run in runs if run[0] in paths):
        spec = spec.model_copy(update={"record_timeout_s": timeout})
        (plan,) = plan_batches(1, 1, 17, given)
        started = time.perf_counter()
        try:
            batch = await asyncio.wait_for(generate_batch(pool, spec, shape, plan, concurrency=1, record_attempts=attempts), timeout + 30)
            (outcome,) = batch.outcomes
            if label == "single":  # the paper's measure: the model's first answer as sent, no repair
                valid = bool(outcome.calls) and _valid_as_sent(outcome.calls[0].text, shape.json_schema)
            else:
                valid = outcome.valid and not validate(outcome.record, shape.json_schema)
            # the field plan also refuses valid records for realism defects: was its record valid for the schema?
            schema_valid = valid or (outcome.record is not None and label != "single" and not validate(outcome.record, shape.json_schema))
            calls, reason = len(outcome.calls), outcome.reason
        except (TimeoutError, ApprenticeError) as exc:
            valid, schema_valid, calls, reason = False, False, 0, f"{type(exc).__name__}: {exc}"[:200]
        result[label] = {
            "valid": valid,
            "schema_valid": schema_valid,
            "calls": calls,
            "seconds": round(time.perf_counter() - started, 2),
            "reason": None if valid else (reason or "")[:200],
        }
    return result


def _valid_as_sent(text: str, schema) -> bool:
    from apprentice.shapes.validate import validate

    try:
        return not validate(json.loads(text), schema)
    except ValueError:
        return False


def summarise(subset: str, results: list[dict], damage: dict, total: int) -> dict:
    attempted = [r for r in results if r["status"] == "attempted"]
    rejected = [r for r in results if r["status"] == "rejected"]

    def share(path: str, measure: str = "valid") -> float | None:
        return round(sum(r[path].get(measure, r[path]["valid"]) for r in attempted) / len(attempted), 3) if attempted else None

    return {
        "subset": subset,
        "schemas_in_file": total,
        "sampled": len(results),
        **damage,
        "rejected": len(rejected),
        "rejected_share": round(len(rejected) / len(results), 3) if results else None,
        "rejection_reasons": dict(Counter(r["reason"] for r in rejected)),
        "valid_share_of_attempted": share("loop"),
        "single_pass_valid_share": share("single"),
        "field_plan_valid_share": share("plan"),
        "field_plan_schema_valid_share": share("plan", "schema_valid"),
        "mean_sampled_share": round(statistics.mean(r["sampled_share"] for r in attempted), 3) if attempted else None,
        "field_plan_failures": [{"id": r["id"], "reason": r["plan"]["reason"]} for r in attempted if not r["plan"]["valid"]],
        "mean_calls": round(statistics.mean(r["loop"]["calls"] for r in attempted), 2) if attempted else None,
        "mean_seconds": round(statistics.mean(r["loop"]["seconds"] for r in attempted), 2) if attempted else None,
        "failures": [{"id": r["id"], "reason": r["loop"]["reason"]} for r in attempted if not r["loop"]["valid"]],
        "server_crashes": sum(bool(r.get("server_crashed")) for r in results),
        "commits": sorted({str(r.get("commit")) for r in results}),
        "field_plan_commits": sorted({str(r.get("plan_commit", r.get("commit"))) for r in results}),
    }


ROWS = HERE / "results" / "jsonschemabench.rows.jsonl"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def kept_rows(options: dict) -> dict[tuple[str, str], dict]:
    """Results of an earlier run with the same options, by (subset, schema id)."""
    kept = {}
    for line in ROWS.read_text().splitlines() if ROWS.exists() else []:
        row = json.loads(line)
        if row.get("options") == options:
            kept[(row["subset"], row["result"]["id"])] = row["result"] | {"commit": row.get("commit")}
    return kept


async def run(
    files: list[Path],
    per_subset: int | None,
    quick: bool,
    max_rounds: int,
    server,
    seed: int = 7,
    timeout: float = 600,
    fresh: bool = False,
    redo_plan: bool = False,
) -> list[dict]:
    from apprentice.backends import local
    from apprentice.backends.pool import BackendPool
    from apprentice.config import load_pool_config

    pool = BackendPool(load_pool_config())
    tokens = 256 if quick else 1536
    loop_spec, single_spec = correct_loop_spec(max_rounds, tokens), single_pass_spec(tokens)
    samples = {path: sample_of(path, per_subset, quick, seed) for path in files}
    results: dict[Path, list[dict]] = {path: [] for path in files}
    options = {"per_subset": per_subset, "quick": quick, "max_rounds": max_rounds, "seed": seed, "timeout": timeout}
    kept = {} if fresh else kept_rows(options)
    ROWS.parent.mkdir(exist_ok=True)
    this_commit = commit()
    try:
        for path, row in interleaved(samples):  # subsets in turn, so a run cut short has covered each
            r = kept.get((path.stem, row["id"]))
            redo = r is not None and redo_plan and r["status"] == "attempted" and r.get("plan_commit") != this_commit
            if r is None or redo:
                ran = await one_schema(pool, row, loop_spec, single_spec, timeout, paths=("plan",) if redo else PATHS)
                if redo and ran["status"] == "attempted":  # the kept paths' results, this run's field plan
                    assert r is not None
                    ran_on = r.get("commit")
                    r = {k: v for k, v in r.items() if k not in ("commit", "plan_error")} | {
                        k: ran[k] for k in ("plan", "sampled_share", "plan_error") if k in ran
                    }
                else:
                    ran_on, r = this_commit, ran
                r["plan_commit"] = this_commit
                if not local.is_listening(server.base_url):  # the schema crashed the model server
                    r["server_crashed"] = True
                    await asyncio.to_thread(local.start, server)
                    await pool.aclose()
                    pool = BackendPool(load_pool_config())
                with ROWS.open("a") as rows:
                    rows.write(json.dumps({"options": options, "subset": path.stem, "commit": ran_on, "result": r}) + "\n")
                r["commit"] = ran_on
            results[path].append(r)
            print(f"  {path.stem:<16} {r['id']:<12} {status_line(r)}", flush=True)
    finally:
        await pool.aclose()
    return [summarise(path.stem, results[path], damage, total) for path, (_, damage, total) in samples.items()]


def sample_of(path: Path, per_subset: int | None, quick: bool, seed: int) -> tuple[list[dict], Any, int]:
    """The schemas to run from one file (a seeded random sample, the smallest with --quick, or
    all), what reading the file found, and how many schemas it holds."""
    schemas, damage = read_schemas(path)
    if quick:
        return sorted(schemas, key=lambda r: len(json.dumps(r["schema"])))[:1], damage, len(schemas)
    picked = random.Random(f"{seed}:{path.stem}").sample(schemas, min(per_subset, len(schemas))) if per_subset else schemas
    return picked, damage, len(schemas)


def interleaved(samples: dict[Path, tuple[list[dict], Any, int]]) -> list[tuple[Path, dict]]:
    """One schema of each subset in turn: the first of each, then the second of each, …"""
    rows = [[(path, row) for row in sample] for path, (sample, _, _) in samples.items()]
    return [pair for turn in itertools.zip_longest(*rows) for pair in turn if pair is not None]


def status_line(r: dict) -> str:
    """One schema's outcome on the three paths; why the field-plan path failed, when it did."""
    if r["status"] == "rejected":
        return str(r["status"])
    line = (
        ("valid" if r["loop"]["valid"] else "INVALID") + f" (single pass {'valid' if r['single']['valid'] else 'invalid'}, "
        f"field plan {'valid' if r['plan']['valid'] else 'INVALID'}, {r['sampled_share']:.0%} of fields sampled)"
    )
    return line if r["plan"]["valid"] else f"{line} field plan: {r['plan']['reason']}"


def table(rows: list[dict]) -> str:
    lines = [
        "| subset | schemas sampled | rejected up front | valid (correct loop) | valid (single pass) | valid (loop + field plan) | "
        "valid and realistic (field plan) | fields sampled | mean calls | mean s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    pct = lambda v: "–" if v is None else f"{100 * v:.0f}%"  # noqa: E731
    for r in rows:
        lines.append(
            f"| {r['subset']} | {r['sampled']} | {r['rejected']} | {pct(r['valid_share_of_attempted'])} | "
            f"{pct(r['single_pass_valid_share'])} | "
            f"{pct(r['field_plan_schema_valid_share'])} | {pct(r['field_plan_valid_share'])} | "
            f"{pct(r['mean_sampled_share'])} | {r['mean_calls']} | {r['mean_seconds']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--quick", action="store_true", help="the smallest schema of each subset, one round")
    parser.add_argument("--per-subset", type=int, default=10)
    parser.add_argument("--all", action="store_true", help="every schema of every file")
    parser.add_argument("--max-rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7, help="the random sample of --per-subset")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per schema and path before it counts as not valid")
    parser.add_argument("--fresh", action="store_true", help="run every schema again instead of resuming from kept results")
    parser.add_argument("--redo-plan", action="store_true", help="run the field-plan path again on kept schemas run on another commit")
    args = parser.parse_args()
    files = args.files or sorted(DATA.glob("*.jsonl"))
    if not files:
        sys.exit(f"no JSONL files given and none under {DATA}")

    work = Path(tempfile.mkdtemp(prefix="apprentice-jsb-"))
    os.environ.setdefault("APPRENTICE_HOME", str(work / "home"))
    from apprentice.backends import local
    from apprentice.config import load_settings

    server = local.LocalServer.from_settings(load_settings())
    started_here = not local.is_listening(server.base_url)
    if started_here:
        local.start(server)
    try:
        began = time.perf_counter()
        rows = asyncio.run(
            run(
                files,
                None if args.all else args.per_subset,
                args.quick,
                1 if args.quick else args.max_rounds,
                server,
                args.seed,
                args.timeout,
                args.fresh,
                args.redo_plan,
            )
        )
        elapsed = round(time.perf_counter() - began, 1)
    finally:
        if started_here:
            local.stop(server)
    print()
    print(table(rows))
    print(f"\nbaseline from the paper: {PAPER}")
    attempted = sum(r["sampled"] - r["rejected"] for r in rows)
    valid = sum(round((r["valid_share_of_attempted"] or 0) * (r["sampled"] - r["rejected"])) for r in rows)
    single = sum(round((r["single_pass_valid_share"] or 0) * (r["sampled"] - r["rejected"])) for r in rows)
    planned = sum(round((r["field_plan_valid_share"] or 0) * (r["sampled"] - r["rejected"])) for r in rows)
    result = {
        "benchmark": "jsonschemabench",
        "quick": args.quick,
        "model": "SmolLM2-135M-Instruct (llama.cpp)",
        "seconds": elapsed,
        "attempted": attempted,
        "valid": valid,
        "valid_share": round(valid / attempted, 3) if attempted else None,
        "single_pass_valid_share": round(single / attempted, 3) if attempted else None,
        "field_plan_valid_share": round(planned / attempted, 3) if attempted else None,
        "field_plan_schema_valid_share": round(
            sum(round((r["field_plan_schema_valid_share"] or 0) * (r["sampled"] - r["rejected"])) for r in rows) / attempted, 3
        )
        if attempted
        else None,
        "commits": sorted({c for r in rows for c in r["commits"]}),
        "field_plan_commits": sorted({c for r in rows for c in r["field_plan_commits"]}),
        "rejected": sum(r["rejected"] for r in rows),
        "subsets": rows,
        "paper": PAPER,
    }
    report("jsonschemabench", result)


if __name__ == "__main__":
    main()
