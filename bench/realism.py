"""Would a person accept the records? Realism of three shapes on the embedded model, side by side
in one run: the model-only path (the model writes every field; no realism checks — as before the
field plan) against the field-plan path (sampled and derived fields, the model writes the rest,
realism checks with correction and regeneration).

Per shape and path: defect rate by kind in the written records (echo, placeholder, debris,
implausible date, duplicate identifier, near duplicate, broken constraint), distinct ratio per
field, near-duplicate text rate, records/s and model tokens per written record.

    python bench/realism.py [--quick] [--n 200] [--baseline-n 200]

The model-only path is five to ten times slower on the embedded model; `--baseline-n` measures
it on fewer records (its rates are per record, so the columns stay comparable).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _report import report  # bench/ is on sys.path when a bench runs as a script
from apprentice.backends.local import EmbeddedSupervisor, ensure_embedded
from apprentice.backends.pool import BackendPool
from apprentice.config import load_pool_config, load_settings
from apprentice.dataset import RUN_REPAIRS, generate_batch, plan_batches, plan_presets, realism_report, run_scope
from apprentice.realism import DefectKind
from apprentice.shapes.schema import Shape, compile_shape, load_shape
from apprentice.workflows import WorkflowSpec, default_spec, load_spec

ROOT = Path(__file__).resolve().parent.parent
EVENT = {"title": "string", "city": "string", "starts_at": "ISO-8601", "ends_at": "ISO-8601", "attendees": 0, "organizer_email": "email"}


def shapes() -> dict[str, tuple[Shape, WorkflowSpec]]:
    return {
        "user_profile": (load_shape(ROOT / "deployments/user_profile.json"), load_spec(ROOT / "deployments/user_profile.workflow.yaml")),
        "product": (load_shape(ROOT / "deployments/product.json"), default_spec("product")),
        "event": (compile_shape(EVENT), default_spec("event")),
    }


async def run_path(pool: BackendPool, shape: Shape, spec: WorkflowSpec, n: int, *, field_plan: bool, batch: int = 10) -> dict[str, Any]:
    spec = spec.model_copy(update={"sampling": field_plan, "realism_checks": field_plan})
    _plan, presets = plan_presets(spec, shape, n, seed=7)
    started = time.perf_counter()
    outcomes = []
    with run_scope(shape, presets):  # as a run's batches share its realism index and repair odds in `apprentice.run`
        for plan in plan_batches(n, batch, 7, presets):
            outcomes += (await generate_batch(pool, spec, shape, plan, concurrency=2)).outcomes
        repairs = RUN_REPAIRS.get()
    seconds = time.perf_counter() - started
    written = [o for o in outcomes if o.valid]
    realism = realism_report(shape.json_schema, written)
    tokens = sum(o.tokens for o in outcomes)
    count = max(1, len(written))
    return {
        "written": len(written),
        "rejected": len(outcomes) - len(written),
        "records_per_s": round(len(written) / seconds, 3),
        "tokens_per_record": round(tokens / count, 1),
        "clean_share": round(realism.clean_share, 3) if realism else None,
        "defect_rate": {k.value: round(realism.defects.get(k, 0) / count, 3) for k in DefectKind} if realism else {},
        "near_duplicate_rate": round(realism.near_duplicate_rate, 3) if realism else None,
        "distinct": {f.lstrip("/"): round(r.distinct_ratio, 2) for f, r in realism.fields.items()} if realism else {},
        "repairs": dataclasses.asdict(repairs) if repairs else None,
        "sample": [o.record for o in written[:3]],
        "written_records": [o.record for o in written],
    }


async def main(n: int, baseline_n: int, only: list[str] | None = None) -> dict[str, Any]:
    settings = load_settings()
    config = load_pool_config(None, settings)
    ensure_embedded(config.backends, settings)
    pool = BackendPool(config, supervisor=EmbeddedSupervisor(settings))
    results: dict[str, Any] = {}
    try:
        table = shapes()
        for name in only or list(table):
            shape, spec = table[name]
            results[name] = {
                "model_only": await run_path(pool, shape, spec, baseline_n, field_plan=False),
                "field_plan": await run_path(pool, shape, spec, n, field_plan=True),
            }
            print_table(name, results[name])
            (Path(__file__).parent / "results").mkdir(exist_ok=True)
            for path, result in results[name].items():  # every written record, to read by eye
                lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in result.pop("written_records"))
                (Path(__file__).parent / "results" / f"realism.{name}.{path}.jsonl").write_text(lines)
            (Path(__file__).parent / "results" / "realism.partial.json").write_text(json.dumps(results, default=str))
    finally:
        await pool.aclose()
    return results


def print_table(name: str, paths: dict[str, dict]) -> None:
    print(f"\n{name}: {'':<26}{'model only':>12}{'field plan':>12}")
    rows: list[tuple[str, Callable[..., Any]]] = [
        ("written / rejected", lambda r: f"{r['written']}/{r['rejected']}"),
        ("clean share", lambda r: r["clean_share"]),
        ("near-duplicate rate", lambda r: r["near_duplicate_rate"]),
        ("records/s", lambda r: r["records_per_s"]),
        ("tokens per record", lambda r: r["tokens_per_record"]),
    ]
    rows += [(f"defects: {k.value}", lambda r, k=k: r["defect_rate"].get(k.value)) for k in DefectKind]
    fields = sorted(set(paths["model_only"]["distinct"]) | set(paths["field_plan"]["distinct"]))
    rows += [(f"distinct: {f}", lambda r, f=f: r["distinct"].get(f)) for f in fields]
    for label, get in rows:
        print(f"  {label:<34}{str(get(paths['model_only'])):>12}{str(get(paths['field_plan'])):>12}")
    print(flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 record per shape and path")
    parser.add_argument("--n", type=int, default=200, help="records per shape on the field-plan path")
    parser.add_argument("--baseline-n", type=int, default=None, help="records per shape on the model-only path (default: --n)")
    parser.add_argument("--shapes", nargs="*", default=None, help="only these shapes, in this order (user_profile, product, event)")
    args = parser.parse_args()
    n = 1 if args.quick else args.n
    baseline_n = 1 if args.quick else args.baseline_n or n
    started = time.perf_counter()
    results = asyncio.run(main(n, baseline_n, args.shapes))
    report(
        "realism",
        {"bench": "realism", "n": n, "baseline_n": baseline_n, "seconds": round(time.perf_counter() - started, 1), "shapes": results},
    )
