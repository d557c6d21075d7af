"""Validate-and-correct loop: generate, check (schema and the spec's rules), correct only the
failing paths, repeat up to `max_rounds`. When a round ends with the same errors as the one
before, the next round runs one tier up; when the rounds run out, one final pass runs on the
premium tier. Every attempt (round, tier, backend, issues left, cost) is in `meta["attempts"]`.
Over a batch (`correct_loop_plan`), the generate call is a step, each round is a step, and the
premium pass is a step; a round that no record of the batch needs is not run.
"""

from __future__ import annotations

from typing import Any

from apprentice.config import Tier
from apprentice.generation import produce_valid
from apprentice.patterns.common import finish
from apprentice.rules import check_rules
from apprentice.shapes.prompts import correction_messages, generate_messages
from apprentice.shapes.validate import ValidationIssue, validate
from apprentice.stages import RecordState, RecordStep, RecordView, StagePlan, Step, StepEnv
from apprentice.workflows import StageRole, StageSpec, WorkflowSpec


def next_tier(tier: Tier) -> Tier:
    return tier.above[0] if tier.above else tier


def correct_loop_plan(spec: WorkflowSpec) -> StagePlan:
    """The generate step, a step per correction round, then the premium pass; a round no record
    needs is not run."""
    first, corrector = _roles(spec)
    rounds = [[Step(f"{corrector.name}-{r}", _round(r), wanted=_has_issues)] for r in range(1, spec.max_rounds + 1)]
    premium = [[Step(f"{corrector.name}-premium", _premium, wanted=_has_issues)]]
    return StagePlan(phases=[[Step(first.name, _generate)], *rounds, *premium], close=_close)


def _roles(spec: WorkflowSpec) -> tuple[StageSpec, StageSpec]:
    """The stage that writes the record, and the one that corrects it."""
    first = spec.stages[0]
    return first, next((s for s in spec.stages[1:] if s.role in (StageRole.correct, StageRole.validate)), first)


def _has_issues(state: RecordState) -> bool:
    return bool(state.issues)


async def _generate(env: StepEnv, state: RecordState) -> None:
    view = env.view(state)
    if view.nothing_to_write:
        return
    first, corrector = _roles(view.spec)
    messages = generate_messages(view.shape.json_schema, instructions=first.prompt, index=state.index)
    state.issues = await _attempt(env, state, first, messages, 0, False)
    state.tier, state.signature = corrector.tier, None


def _round(round_: int) -> RecordStep:
    async def run(env: StepEnv, state: RecordState) -> None:
        """One correction round: the same errors as the round before move it one tier up."""
        view = env.view(state)
        if view.nothing_to_write:
            return
        _, corrector = _roles(view.spec)
        tier = state.tier or corrector.tier
        signature = sorted({f"{i.path}\x00{i.keyword}" for i in state.issues})
        escalated = signature == state.signature and next_tier(tier) is not tier
        if escalated:
            tier = next_tier(tier)
        state.tier, state.signature = tier, signature
        stage = corrector if tier is corrector.tier else corrector.model_copy(update={"tier": tier, "backend": None})
        state.issues = await _attempt(
            env, state, stage, _fix(state.value, view.shape.json_schema, state.issues, stage, state.index), round_, escalated
        )

    return run


async def _premium(env: StepEnv, state: RecordState) -> None:
    """The last pass, on the premium tier, for a record the rounds left wrong."""
    view = env.view(state)
    if view.nothing_to_write:
        return
    _, corrector = _roles(view.spec)
    premium = corrector.model_copy(update={"name": f"{corrector.name}-premium", "tier": Tier.premium, "backend": None})
    fix = _fix(state.value, view.shape.json_schema, state.issues, premium, state.index)
    state.issues = await _attempt(env, state, premium, fix, view.spec.max_rounds + 1, True)


async def _attempt(env: StepEnv, state: RecordState, stage: StageSpec, messages, round_: int, escalated: bool) -> list[ValidationIssue]:
    """One call of the loop (no corrections inside it: the loop is the correction); what it left wrong."""
    view, seed = env.view(state), state.seed
    result = await produce_valid(
        env.pool,
        stage.model_copy(update={"corrections": 0}),
        view.shape.json_schema,
        messages,
        seed=None if seed is None else seed + round_,
    )
    result.metrics.round = round_
    if round_ and result.metrics.calls:  # a round runs only on a record left wrong
        result.metrics.entered_valid = False
        result.metrics.changed = result.value is not None and result.value != state.value
    state.add(result)
    if result.value is not None:
        state.value = result.value
    if result.metrics.calls:
        found = _issues_of(state.value, view)
        if not found and view.spec.rules:  # the batch's other records now see its unique values as taken
            env.context.unique.claim(state.value, view.spec.rules)
            state.claimed = True
    else:  # the backend(s) failed: keep the reason, the next round may reach another tier
        found = [ValidationIssue(path="", message=result.reason or "no answer", keyword="backend")]
        state.outcome.reason = f"stage '{stage.name}': {result.reason}"
    attempt = {
        "round": round_,
        "stage": stage.name,
        "tier": stage.tier.value,
        "backend": result.metrics.backend,
        "issues": len(found),
        "escalated": escalated,
        "cost_usd": result.metrics.cost_usd,
    }
    state.outcome.meta["attempts"] = [*state.outcome.meta.get("attempts", []), attempt]
    return found


def _issues_of(value: Any, view: RecordView) -> list[ValidationIssue]:
    if value is None:
        return [ValidationIssue(path="", message="no parseable JSON value", keyword="json")]
    return validate(value, view.shape.json_schema) or check_rules(value, view.spec.rules, view.context.unique)


def _close(env: StepEnv, state: RecordState) -> None:
    view = env.view(state)
    outcome, issues = state.outcome, state.issues
    if state.claimed:  # its own values are not taken from it: the final check claims them again
        for unique in {id(u): u for u in (env.context.unique, view.context.unique)}.values():
            unique.release(state.value, view.spec.rules)
    outcome.meta["rounds"] = len(outcome.meta.get("attempts", [])) - 1
    if not issues:
        outcome.reason = None
    elif state.value is not None:
        outcome.reason = "; ".join(str(i) for i in issues[:5])
    finish(outcome, state.value, view.shape, view.spec, view.context, already_valid=not issues)


def _fix(record: Any, schema: Any, issues: list[ValidationIssue], stage: StageSpec, index: int):
    if record is None:
        return generate_messages(schema, instructions=stage.prompt, index=index)
    return correction_messages(record, schema, issues)
