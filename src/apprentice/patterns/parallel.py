"""Parallel fan-out and merge: the spec's generate stages are branches run at once (each on its
own backend or tier, each filling its `fields`), then merged by the spec's policy.

- `all_required`: every branch must produce a valid part, or the record fails naming the branches.
- `quorum`: branches may overlap; each field needs `quorum` valid branches covering it (default:
  a majority of them), and the most common value wins.
- `best_of_n`: each field comes from the best-scored valid branch covering it (completeness,
  then fewer corrections).

Each branch's outcome is in `meta["branches"]`, so a failed branch shows in the result and the
artifact; a record with a failed required branch is rejected, never passed on partial.
Stages after the branches (validate/correct) run on the merged record.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

from apprentice.backends.pool import BackendPool
from apprentice.generation import StageOutcome, produce_valid
from apprentice.patterns.common import finish, generators, stage_schema
from apprentice.patterns.sequential import validate_and_correct
from apprentice.records import RecordContext, RecordOutcome
from apprentice.shapes.prompts import generate_messages
from apprentice.shapes.schema import Shape
from apprentice.workflows import MergePolicy, StageRole, StageSpec, WorkflowSpec


async def run_parallel(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    *,
    index: int,
    seed: int | None = None,
    context: RecordContext | None = None,
) -> RecordOutcome:
    """Generate every branch concurrently, merge by policy, then run any checking stages."""
    branches = generators(spec)
    schema = shape.json_schema
    targets = [stage_schema(schema, b.fields) for b in branches]
    results: list[StageOutcome] = await asyncio.gather(
        *(
            produce_valid(pool, b, t, generate_messages(t, instructions=b.prompt, index=index), seed=seed)
            for b, t in zip(branches, targets, strict=True)
        )
    )
    outcome = RecordOutcome(index=index)
    for result in results:
        outcome.stages.append(result.metrics)
        outcome.calls.extend(result.calls)
    outcome.meta["branches"] = [
        {"branch": b.name, "backend": r.metrics.backend, "valid": r.valid, "latency_s": round(r.metrics.latency_s, 3), "reason": r.reason}
        for b, r in zip(branches, results, strict=True)
    ]
    outcome.meta["merge"] = spec.merge.value
    record, problem = merge_branches(spec, branches, results, schema)
    if problem:
        outcome.reason = problem
        outcome.record = record
        return outcome
    for stage in spec.stages:
        if stage.role in (StageRole.validate, StageRole.correct):
            checked = await validate_and_correct(pool, stage, shape, record, index=index, seed=seed)
            outcome.stages.append(checked.metrics)
            outcome.calls.extend(checked.calls)
            record = checked.value if checked.value is not None else record
    return finish(outcome, record, shape, spec, context)


def merge_branches(
    spec: WorkflowSpec, branches: list[StageSpec], results: list[StageOutcome], schema: Any
) -> tuple[dict[str, Any], str | None]:
    """The merged record and, if the policy is not met, why (naming the failed branches)."""
    failed = [b.name for b, r in zip(branches, results, strict=True) if not r.valid]
    if spec.merge is MergePolicy.all_required and failed:
        partial = _merge_in_order([r for r in results if r.valid])
        reasons = "; ".join(f"{b.name}: {r.reason}" for b, r in zip(branches, results, strict=True) if not r.valid)
        return partial, f"branch(es) failed ({', '.join(failed)}): {reasons}"
    all_fields = list(schema.get("properties", {})) if isinstance(schema, dict) else []
    covering: dict[str, list[tuple[StageSpec, StageOutcome]]] = {}
    for branch, result in zip(branches, results, strict=True):
        for name in branch.fields or all_fields:
            covering.setdefault(name, []).append((branch, result))
    record: dict[str, Any] = {}
    short: list[str] = []
    for name, pairs in covering.items():
        valid = [(b, r) for b, r in pairs if r.valid and isinstance(r.value, dict) and name in r.value]
        if spec.merge is MergePolicy.quorum:
            needed = spec.quorum or len(pairs) // 2 + 1
            if len(valid) < needed:
                short.append(f"{name} ({len(valid)}/{needed} branches)")
                continue
            votes = Counter(json.dumps(r.value[name], sort_keys=True) for _, r in valid)
            record[name] = json.loads(votes.most_common(1)[0][0])
        elif valid:
            best = max(valid, key=lambda br: (_completeness(br[1].value), -br[1].metrics.corrections))
            record[name] = best[1].value[name]
        elif spec.merge is not MergePolicy.all_required:
            short.append(f"{name} (no valid branch)")
    if short:
        return record, f"merge policy {spec.merge.value} not met for: {', '.join(short)}; failed branches: {', '.join(failed) or 'none'}"
    ordered = {k: record[k] for k in all_fields if k in record} | {k: v for k, v in record.items() if k not in all_fields}
    return ordered, None


def _merge_in_order(results: list[StageOutcome]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for result in results:
        if isinstance(result.value, dict):
            merged.update(result.value)
    return merged


def _completeness(value: Any) -> float:
    if not isinstance(value, dict) or not value:
        return 0.0
    return sum(v not in (None, "", [], {}) for v in value.values()) / len(value)
