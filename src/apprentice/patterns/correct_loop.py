"""Validate-and-correct loop: generate, check (schema and the spec's rules), correct only the
failing paths, repeat up to `max_rounds`. When a round ends with the same errors as the one
before, the next round runs one tier up; when the rounds run out, one final pass runs on the
premium tier. Every attempt (round, tier, backend, issues left, cost) is in `meta["attempts"]`.
"""

from __future__ import annotations

from typing import Any

from apprentice.backends.pool import BackendPool
from apprentice.config import Tier
from apprentice.generation import produce_valid
from apprentice.patterns.common import finish
from apprentice.records import RecordContext, RecordOutcome
from apprentice.rules import check_rules
from apprentice.shapes.prompts import correction_messages, generate_messages
from apprentice.shapes.schema import Shape
from apprentice.shapes.validate import ValidationIssue, validate
from apprentice.workflows import StageRole, StageSpec, WorkflowSpec


def next_tier(tier: Tier) -> Tier:
    return tier.above[0] if tier.above else tier


async def run_correct_loop(
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    *,
    index: int,
    seed: int | None = None,
    context: RecordContext | None = None,
) -> RecordOutcome:
    """Produce one record through the loop; see the module docstring for the escalation rules."""
    schema = shape.json_schema
    unique = context.unique if context else None
    first = spec.stages[0]
    corrector = next((s for s in spec.stages[1:] if s.role in (StageRole.correct, StageRole.validate)), first)
    outcome = RecordOutcome(index=index)
    attempts: list[dict[str, Any]] = []
    outcome.meta["attempts"] = attempts
    record: Any = None

    def issues_of(value: Any) -> list[ValidationIssue]:
        if value is None:
            return [ValidationIssue(path="", message="no parseable JSON value", keyword="json")]
        return validate(value, schema) or check_rules(value, spec.rules, unique)

    async def attempt(stage: StageSpec, messages, round_: int, escalated: bool) -> list[ValidationIssue]:
        nonlocal record
        result = await produce_valid(
            pool, stage.model_copy(update={"corrections": 0}), schema, messages, seed=None if seed is None else seed + round_
        )
        outcome.stages.append(result.metrics)
        outcome.calls.extend(result.calls)
        if result.value is not None:
            record = result.value
        if result.metrics.calls:
            found = issues_of(record)
        else:  # the backend(s) failed: keep the reason, the next round may reach another tier
            found = [ValidationIssue(path="", message=result.reason or "no answer", keyword="backend")]
            outcome.reason = f"stage '{stage.name}': {result.reason}"
        attempts.append(
            {
                "round": round_,
                "stage": stage.name,
                "tier": stage.tier.value,
                "backend": result.metrics.backend,
                "issues": len(found),
                "escalated": escalated,
                "cost_usd": result.metrics.cost_usd,
            }
        )
        return found

    issues = await attempt(first, generate_messages(schema, instructions=first.prompt, index=index), 0, False)
    tier, previous = corrector.tier, None
    for round_ in range(1, spec.max_rounds + 1):
        if not issues:
            break
        signature = frozenset((i.path, i.keyword) for i in issues)
        escalated = signature == previous and next_tier(tier) is not tier
        if escalated:
            tier = next_tier(tier)
        previous = signature
        stage = corrector if tier is corrector.tier else corrector.model_copy(update={"tier": tier, "backend": None})
        issues = await attempt(stage, _fix(record, schema, issues, stage, index), round_, escalated)
    if issues:
        premium = corrector.model_copy(update={"name": f"{corrector.name}-premium", "tier": Tier.premium, "backend": None})
        issues = await attempt(premium, _fix(record, schema, issues, premium, index), spec.max_rounds + 1, True)
    outcome.meta["rounds"] = len(attempts) - 1
    if not issues:
        outcome.reason = None
    elif record is not None:
        outcome.reason = "; ".join(str(i) for i in issues[:5])
    return finish(outcome, record, shape, spec, context, already_valid=not issues)


def _fix(record: Any, schema: Any, issues: list[ValidationIssue], stage: StageSpec, index: int):
    if record is None:
        return generate_messages(schema, instructions=stage.prompt, index=index)
    return correction_messages(record, schema, issues)
