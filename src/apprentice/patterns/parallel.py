"""Parallel fan-out and merge: the spec's generate stages are branches run at once (each on its
own backend or tier, each filling its `fields`), then merged by the spec's policy.

- `all_required`: every branch must produce a valid part, or the record fails naming the branches.
- `quorum`: branches may overlap; each field needs `quorum` valid branches covering it (default:
  a majority of them), and the most common value wins.
- `best_of_n`: each field comes from the best-scored valid branch covering it (completeness,
  then fewer corrections).

Each branch's outcome is in `meta["branches"]`, so a failed branch shows in the result and the
artifact; a record with a failed required branch is rejected, never passed on partial.
Stages after the branches (validate/correct) run on the merged record. Over a batch
(`parallel_plan`), each branch is a step, the branches run at once, then a merge step.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from apprentice.generation import StageOutcome
from apprentice.patterns.common import finish, gathered, generators, side_by_side
from apprentice.patterns.sequential import validate_and_correct
from apprentice.stages import RecordState, RecordStep, StagePlan, Step, StepEnv
from apprentice.workflows import MergePolicy, StageRole, StageSpec, WorkflowSpec

MERGE = "merge"


def parallel_plan(spec: WorkflowSpec) -> StagePlan:
    """The branches at once, then the merge, then a step per checking stage."""
    branches = [Step(b.name, side_by_side(b.name, own_fields=True)) for b in generators(spec)]
    checks = [[Step(s.name, _check(s.name))] for s in spec.stages if s.role in (StageRole.validate, StageRole.correct)]
    return StagePlan(phases=([branches] if branches else []) + [[Step(MERGE, _merge)]] + checks, close=_close)


async def _merge(env: StepEnv, state: RecordState) -> None:
    """The record's branches merged by the spec's policy; a record whose policy is not met stops, named."""
    view = env.view(state)
    if view.nothing_to_write:
        return
    branches, results = gathered(view, state)
    state.outcome.meta["branches"] = [
        {"branch": b.name, "backend": r.metrics.backend, "valid": r.valid, "latency_s": round(r.metrics.latency_s, 3), "reason": r.reason}
        for b, r in zip(branches, results, strict=True)
    ]
    state.outcome.meta["merge"] = view.spec.merge.value
    state.branches = {}
    record, problem = merge_branches(view.spec, branches, results, view.shape.json_schema)
    state.value = record
    if problem:
        state.outcome.reason, state.outcome.record, state.stopped = problem, record, True


def _check(name: str) -> RecordStep:
    async def run(env: StepEnv, state: RecordState) -> None:
        """A checking stage on the merged record: validate, and correct the failing paths."""
        view = env.view(state)
        stage = view.stage(name)
        if stage is None or view.nothing_to_write:
            return
        checked = await validate_and_correct(env.pool, stage, view.shape, state.value, index=state.index, seed=state.seed)
        checked.metrics.changed = None if state.value is None or checked.value is None else checked.value != state.value
        state.add(checked)
        state.value = checked.value if checked.value is not None else state.value

    return run


def _close(env: StepEnv, state: RecordState) -> None:
    view = env.view(state)
    finish(state.outcome, state.value, view.shape, view.spec, view.context)


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
