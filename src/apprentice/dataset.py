"""Datasets: N records in batches with bounded concurrency, written as JSONL, summarised.

Plain Python; `flows/dataset.py` wraps `generate_batch` in a cached Prefect task so that a killed
run resumes batch by batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from apprentice.backends.pool import BackendPool
from apprentice.patterns import run_pattern
from apprentice.numeric import NumericReport
from apprentice.records import RecordContext, RecordOutcome
from apprentice.shapes.schema import Shape
from apprentice.workflows import WorkflowSpec


class BatchPlan(BaseModel):
    """Which records a batch produces. Its key depends on content only, never on tuning knobs."""

    index: int
    start: int
    count: int
    seed: int
    total: int = Field(0, description="records in the whole dataset (routing looks at N)")
    presets: list[dict[str, Any]] | None = Field(None, description="fixed values per record (statistics path)")

    def cache_key(self, spec: WorkflowSpec, shape: Shape) -> str:
        presets = json.dumps(self.presets, sort_keys=True) if self.presets else ""
        raw = f"{spec.content_hash}:{shape.fingerprint}:{self.start}:{self.count}:{self.seed}:{self.total}:{presets}"
        return "batch-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def plan_batches(n: int, batch_size: int, seed: int, presets: list[dict[str, Any]] | None = None) -> list[BatchPlan]:
    if n < 0 or batch_size < 1:
        raise ValueError("n must be >= 0 and batch_size >= 1")
    return [
        BatchPlan(
            index=i, start=start, count=min(batch_size, n - start), seed=seed, total=n,
            presets=presets[start : start + batch_size] if presets else None,
        )  # fmt: skip
        for i, start in enumerate(range(0, n, batch_size))
    ]


class BackendUsage(BaseModel):
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0


class BatchResult(BaseModel):
    workflow: str
    version: str
    plan: BatchPlan
    outcomes: list[RecordOutcome]


class DatasetSummary(BaseModel):
    """What a dataset run produced: counts, cost, time per backend, and where the files are."""

    workflow: str
    version: str
    requested: int
    records: int = 0
    invalid: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    per_backend: dict[str, BackendUsage] = Field(default_factory=dict)
    out: str | None = None
    rejects: str | None = None
    batches_reused: int = 0
    from_cache: int = Field(0, description="records served from `$cache` variants without a model call")
    numeric: NumericReport | None = Field(None, description="statistics path: the sample's verification")
    generated: int = Field(0, description="records a model made in this run; 0 when all were reused or served from `$cache`")
    quality: float | None = Field(None, description="mean first-pass quality of the records (see `records.first_pass_quality`)")
    seconds_per_record: float | None = Field(None, description="mean model and repair time per record, all stages")


async def generate_batch(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    plan: BatchPlan,
    *,
    concurrency: int = 4,
    record_attempts: int = 3,
) -> BatchResult:
    """Produce the batch's records concurrently (at most `concurrency` in flight).

    A record that comes out invalid is regenerated from scratch with a new seed, up to
    `record_attempts` times; every attempt's calls and stage metrics stay on the outcome.
    """
    limit = asyncio.Semaphore(concurrency)
    context = RecordContext(n=plan.total or plan.count, presets={plan.start + i: p for i, p in enumerate(plan.presets or [])})

    async def one(index: int) -> RecordOutcome:
        async with limit:
            spent: RecordOutcome | None = None
            for attempt in range(max(1, record_attempts)):
                seed = (plan.seed * 1_000_003 + index) * 7 + attempt
                outcome = await run_pattern(pool, spec, shape, index=index, seed=seed, context=context)
                if spent is not None:
                    outcome.stages = spent.stages + outcome.stages
                    outcome.calls = spent.calls + outcome.calls
                outcome.meta["record_attempts"] = attempt + 1
                if outcome.valid:
                    return outcome
                spent = outcome
            return outcome

    outcomes = await asyncio.gather(*(one(plan.start + i) for i in range(plan.count)))
    return BatchResult(workflow=spec.name, version=spec.version, plan=plan, outcomes=list(outcomes))


def summarise(spec: WorkflowSpec, requested: int, batches: list[BatchResult]) -> DatasetSummary:
    summary = DatasetSummary(workflow=spec.name, version=spec.version, requested=requested)
    usage: dict[str, BackendUsage] = defaultdict(BackendUsage)
    quality = seconds = 0.0
    for batch in batches:
        for outcome in batch.outcomes:
            summary.records += outcome.valid
            summary.invalid += not outcome.valid
            quality += outcome.quality
            seconds += outcome.seconds
            for call in outcome.calls:
                u = usage[call.backend]
                u.calls += 1
                u.input_tokens += call.input_tokens
                u.output_tokens += call.output_tokens
                u.cost_usd += call.cost_usd
                u.seconds += call.latency_s
    summary.per_backend = dict(usage)
    summary.input_tokens = sum(u.input_tokens for u in usage.values())
    summary.output_tokens = sum(u.output_tokens for u in usage.values())
    summary.cost_usd = sum(u.cost_usd for u in usage.values())
    if made := summary.records + summary.invalid:
        summary.quality, summary.seconds_per_record = quality / made, seconds / made
    return summary


def write_outputs(batches: list[BatchResult], out: Path, numeric: NumericReport | None = None) -> tuple[Path, Path | None]:
    """Write valid records to `out` (JSONL, in index order), rejects with reasons beside it, and
    each record's pattern facts (routing score and tier, branches, attempts, votes) in
    `NAME.meta.jsonl`; with a statistics-path report, `NAME.verification.json` too.

    Files are written to a temporary name and renamed, so a killed run never leaves half a file.
    """
    outcomes = sorted((o for b in batches for o in b.outcomes), key=lambda o: o.index)
    out.parent.mkdir(parents=True, exist_ok=True)
    _atomic_jsonl(out, (o.record for o in outcomes if o.valid))
    _atomic_jsonl(meta_path(out), ({"index": o.index, "valid": o.valid, **o.meta} for o in outcomes))
    if numeric is not None:
        verification = out.with_suffix(".verification.json")
        verification.write_text(numeric.model_dump_json(indent=2))
    rejected = [o for o in outcomes if not o.valid]
    rejects = rejects_path(out)
    if rejected:
        _atomic_jsonl(rejects, ({"index": o.index, "reason": o.reason, "record": o.record} for o in rejected))
        return out, rejects
    rejects.unlink(missing_ok=True)
    return out, None


def meta_path(out: Path) -> Path:
    return out.with_suffix(".meta.jsonl")


def rejects_path(out: Path) -> Path:
    """Where the rejects of an output file go: beside it, `NAME.rejects.jsonl`."""
    return out.with_suffix(".rejects.jsonl")


def _atomic_jsonl(path: Path, rows: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)
