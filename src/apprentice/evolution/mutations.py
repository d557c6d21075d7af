"""Mutation operators: rule-based changes to a `WorkflowSpec`, each described as data.

A `Mutation` says which operator changed what (`target`, `change`) and carries a `signature`
(operator : context : change) that avoidance rules match on; the context is the pattern and the
stage role, so a failure learnt on one workflow applies to every workflow with the same shape of
change. Operators never produce code — only spec edits — and model-proposed mutations must name
one of these operators with parameters (see `apply`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from typing import Any

from pydantic import BaseModel

from apprentice.config import Tier
from apprentice.workflows import Pattern, RoutingPolicy, StageRole, StageSpec, WorkflowSpec


class Mutation(BaseModel):
    operator: str
    target: str = ""
    change: dict[str, Any] = {}
    context: str = ""
    reason: str = ""

    @property
    def signature(self) -> str:
        change = ",".join(f"{k}={v}" for k, v in sorted(self.change.items()))
        return f"{self.operator}:{self.context}:{change}"


def _context(spec: WorkflowSpec, stage: StageSpec | None = None) -> str:
    return f"{spec.pattern.value}/{stage.role.value}" if stage else spec.pattern.value


def _stages(spec: WorkflowSpec, role_filter=None) -> Iterator[tuple[int, StageSpec]]:
    for i, stage in enumerate(spec.stages):
        if role_filter is None or stage.role in role_filter:
            yield i, stage


def switch_tier(spec: WorkflowSpec) -> Iterator[tuple[Mutation, WorkflowSpec]]:
    for i, stage in _stages(spec, (StageRole.generate, StageRole.enrich, StageRole.correct)):
        for tier in Tier:
            if tier is stage.tier:
                continue
            stages = list(spec.stages)
            stages[i] = stage.model_copy(update={"tier": tier, "backend": None})
            direction = "up" if tier.rank > stage.tier.rank else "down"
            yield (
                Mutation(operator="switch_tier", target=stage.name, change={"tier": direction}, context=_context(spec, stage)),
                spec.model_copy(update={"stages": stages}),
            )


def tune_temperature(spec: WorkflowSpec) -> Iterator[tuple[Mutation, WorkflowSpec]]:
    for i, stage in _stages(spec, (StageRole.generate, StageRole.enrich)):
        current = stage.temperature if stage.temperature is not None else 0.7
        for delta in (-0.3, 0.3):
            value = round(min(2.0, max(0.0, current + delta)), 2)
            if value == current:
                continue
            stages = list(spec.stages)
            stages[i] = stage.model_copy(update={"temperature": value})
            yield (
                Mutation(
                    operator="tune_temperature",
                    target=stage.name,
                    change={"temperature": "down" if delta < 0 else "up"},
                    context=_context(spec, stage),
                ),
                spec.model_copy(update={"stages": stages}),
            )


def raise_max_tokens(spec: WorkflowSpec) -> Iterator[tuple[Mutation, WorkflowSpec]]:
    for i, stage in _stages(spec, (StageRole.generate, StageRole.enrich)):
        stages = list(spec.stages)
        stages[i] = stage.model_copy(update={"max_tokens": 2 * (stage.max_tokens or 512)})
        yield (
            Mutation(operator="raise_max_tokens", target=stage.name, change={"max_tokens": "x2"}, context=_context(spec, stage)),
            spec.model_copy(update={"stages": stages}),
        )


def add_validate_stage(spec: WorkflowSpec) -> Iterator[tuple[Mutation, WorkflowSpec]]:
    if spec.pattern is Pattern.sequential and not any(s.role is StageRole.validate for s in spec.stages):
        stages = [*spec.stages, StageSpec(name="check", role=StageRole.validate, tier=Tier.quality, corrections=2)]
        yield (
            Mutation(operator="add_validate_stage", target="check", change={"stage": "validate"}, context=_context(spec)),
            spec.model_copy(update={"stages": stages}),
        )


def add_correction_loop(spec: WorkflowSpec) -> Iterator[tuple[Mutation, WorkflowSpec]]:
    if spec.pattern is Pattern.sequential and spec.stages and spec.stages[0].role is StageRole.generate:
        stages = [spec.stages[0], StageSpec(name="fix", role=StageRole.correct, tier=spec.stages[0].tier)]
        yield (
            Mutation(operator="add_correction_loop", target="pattern", change={"pattern": "correct_loop"}, context=_context(spec)),
            spec.model_copy(update={"pattern": Pattern.correct_loop, "stages": stages}),
        )


def switch_routing_policy(spec: WorkflowSpec) -> Iterator[tuple[Mutation, WorkflowSpec]]:
    """A routed workflow tried under another routing policy (static, cascade, learned): a policy is
    part of the version, so shadow runs and the canary judge it like any other change."""
    if spec.pattern is not Pattern.routed:
        return
    for policy in RoutingPolicy:
        if policy is not spec.routing.policy:
            routing = spec.routing.model_copy(update={"policy": policy})
            yield (
                Mutation(operator="switch_routing_policy", target="routing", change={"policy": policy.value}, context=_context(spec)),
                spec.model_copy(update={"routing": routing}),
            )


OPERATORS: dict[str, Callable[[WorkflowSpec], Iterator[tuple[Mutation, WorkflowSpec]]]] = {
    "switch_routing_policy": switch_routing_policy,
    "switch_tier": switch_tier,
    "tune_temperature": tune_temperature,
    "raise_max_tokens": raise_max_tokens,
    "add_validate_stage": add_validate_stage,
    "add_correction_loop": add_correction_loop,
}


def propose(spec: WorkflowSpec, avoided: AbstractSet[str] = frozenset(), limit: int = 4) -> list[tuple[Mutation, WorkflowSpec]]:
    """Up to `limit` candidate specs, skipping mutations whose signature an avoidance rule names.
    Each candidate is re-validated as a `WorkflowSpec` (an operator cannot produce a broken spec)."""
    out = []
    for operator in OPERATORS.values():
        for mutation, candidate in operator(spec):
            if mutation.signature in avoided:
                continue
            out.append((mutation, WorkflowSpec.model_validate(candidate.model_dump())))
            if len(out) >= limit:
                return out
    return out


SIMPLIFYING = frozenset({"remove_stage", "drop_corrections", "drop_correction_rounds", "single_generator"})
"""Operators that take machinery away; `learning/simplify.py` proposes them from measured value."""


def _validated(spec: WorkflowSpec, update: dict[str, Any]) -> WorkflowSpec | None:
    """`spec` with `update` applied, re-validated; None when the change would break the spec
    (a sequential workflow without its first generate stage, a consensus of one)."""
    try:
        return WorkflowSpec.model_validate({**spec.model_dump(), **update})
    except ValueError:
        return None


def remove_stage(spec: WorkflowSpec, name: str, reason: str = "") -> tuple[Mutation, WorkflowSpec] | None:
    """Without the stage `name`: a checking stage that fixes nothing, an enrich stage that changes
    nothing, a parallel branch or consensus candidate the others make redundant."""
    stage = next((s for s in spec.stages if s.name == name), None)
    if stage is None:
        return None
    candidate = _validated(spec, {"stages": [s.model_dump() for s in spec.stages if s.name != name]})
    mutation = Mutation(operator="remove_stage", target=name, change={"stage": name}, context=_context(spec, stage), reason=reason)
    return (mutation, candidate) if candidate else None


def drop_corrections(spec: WorkflowSpec, name: str, reason: str = "") -> tuple[Mutation, WorkflowSpec] | None:
    """The stage `name` without correction prompts, whose corrections never end valid (a failed
    record is regenerated afresh instead)."""
    stage = next((s for s in spec.stages if s.name == name), None)
    if stage is None or stage.corrections == 0:
        return None
    stages = [(s.model_copy(update={"corrections": 0}) if s.name == name else s).model_dump() for s in spec.stages]
    candidate = _validated(spec, {"stages": stages})
    mutation = Mutation(operator="drop_corrections", target=name, change={"stage": name}, context=_context(spec, stage), reason=reason)
    return (mutation, candidate) if candidate else None


def drop_correction_rounds(spec: WorkflowSpec, keep: int, reason: str = "") -> tuple[Mutation, WorkflowSpec] | None:
    """A correct loop with only its first `keep` rounds: the later ones never fixed a record."""
    if spec.pattern is not Pattern.correct_loop or not 1 <= keep < spec.max_rounds:
        return None
    candidate = _validated(spec, {"max_rounds": keep})
    mutation = Mutation(
        operator="drop_correction_rounds", target="max_rounds", change={"max_rounds": keep}, context=_context(spec), reason=reason
    )
    return (mutation, candidate) if candidate else None


def single_generator(spec: WorkflowSpec, keep: str, reason: str = "") -> tuple[Mutation, WorkflowSpec] | None:
    """A committee (consensus candidates, or parallel branches that each write the whole record)
    replaced by its one generator `keep`, run sequentially with the spec's checking stages: a
    committee only where single backends disagree."""
    stage = next((s for s in spec.stages if s.name == keep and s.role is StageRole.generate), None)
    if stage is None or stage.fields is not None or spec.pattern not in (Pattern.consensus, Pattern.parallel):
        return None
    checks = [s for s in spec.stages if s.role in (StageRole.validate, StageRole.correct)]
    candidate = _validated(spec, {"pattern": Pattern.sequential, "stages": [s.model_dump() for s in [stage, *checks]], "quorum": None})
    mutation = Mutation(operator="single_generator", target=keep, change={"keep": keep}, context=_context(spec, stage), reason=reason)
    return (mutation, candidate) if candidate else None


STAGE_FIELDS = {"tier", "temperature", "max_tokens", "corrections"}


class Proposals(BaseModel):
    """A model's answer; each item is checked on its own by `apply_proposal`."""

    mutations: list[Any] = []


PROPOSAL_SCHEMA = {
    "type": "object",
    "properties": {
        "mutations": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "stage": {"type": "string"},
                    "field": {"enum": sorted(STAGE_FIELDS)},
                    "value": {"type": ["string", "number", "integer"]},
                    "reason": {"type": "string"},
                },
                "required": ["stage", "field", "value"],
            },
        }
    },
    "required": ["mutations"],
}


def apply_proposal(spec: WorkflowSpec, proposal: dict[str, Any]) -> tuple[Mutation, WorkflowSpec] | None:
    """A model's proposed change as a validated spec edit, or None if it is not a legal one.
    Only a stage's tier, temperature, max tokens or corrections can be set — data, never code."""
    field, stage_name = proposal.get("field"), proposal.get("stage")
    index = next((i for i, s in enumerate(spec.stages) if s.name == stage_name), None)
    if field not in STAGE_FIELDS or index is None:
        return None
    stage = spec.stages[index]
    try:
        changed = StageSpec.model_validate(
            {**stage.model_dump(), field: proposal.get("value"), **({"backend": None} if field == "tier" else {})}
        )
    except ValueError:
        return None
    if changed == stage:
        return None
    before, after = getattr(stage, field), getattr(changed, field)
    direction = after.value if isinstance(after, Tier) else "up" if before is None or (after or 0) > (before or 0) else "down"
    stages = list(spec.stages)
    stages[index] = changed
    mutation = Mutation(
        operator=f"model_set_{field}",
        target=stage.name,
        change={field: direction},
        context=_context(spec, stage),
        reason=str(proposal.get("reason", ""))[:300],
    )
    return mutation, WorkflowSpec.model_validate({**spec.model_dump(), "stages": [s.model_dump() for s in stages]})


async def model_proposals(
    pool, spec: WorkflowSpec, evidence: dict[str, Any], avoided: AbstractSet[str] = frozenset()
) -> list[tuple[Mutation, WorkflowSpec]]:
    """Ask a model (quality tier) for up to three stage edits, as structured JSON; keep the legal
    ones whose signature no avoidance rule names. An unusable answer yields no proposals. The call
    is booked as a proposal for `spec`, under the enclosing booked run (else a new one)."""
    import json

    from apprentice.backends.booking import Purpose, booked_as
    from apprentice.backends.types import ChatMessage
    from apprentice.generation import ask_structured

    messages = [
        ChatMessage(role="system", content="You improve data-generation workflows. Answer with one JSON object and nothing else."),
        ChatMessage(
            role="user",
            content=(
                f"Workflow: {spec.model_dump_json(include={'pattern', 'stages'})}\nWhat went wrong: "
                f"{json.dumps(evidence, default=str)[:2000]}\n"
                "Propose up to 3 changes, each setting one stage field (tier, temperature, max_tokens or corrections)."
            ),
        ),
    ]
    with booked_as(Purpose.proposal, workflow=spec.name, version=spec.version):
        answer, _ = await ask_structured(
            pool, messages, PROPOSAL_SCHEMA, Proposals, purpose=Purpose.proposal, stage="proposal", tier=Tier.quality, temperature=0.2
        )
    out = []
    for proposal in answer.mutations if answer else []:
        applied = apply_proposal(spec, proposal) if isinstance(proposal, dict) else None
        if applied and applied[0].signature not in avoided:
            out.append(applied)
    return out
