"""Complexity routing: score the request, send it to the fast, quality or premium tier.

The score (0–100) adds up what makes a schema hard for a model: fields, nesting depth, arrays,
enums and constraints (formats, patterns, bounds), combinators and references, the spec's rules
and the size of N. The spec's `routing` thresholds map the score to a tier; a budget steps the
tier down while the cheapest backend of that tier would cost more per record than allowed. The
chosen route is a whole sub-workflow (any pattern), so patterns compose; without routes, the
spec's own stages run sequentially with every stage moved to the chosen tier. Over a batch
(`routed_plan`), routing is a step, then the chosen route's own steps run for the records routed
to it (a route routed again runs record by record, whole).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from apprentice.backends.pool import BackendPool
from apprentice.complexity import Complexity, score_complexity
from apprentice.config import Tier
from apprentice.generation import BACKEND_FAILURES
from apprentice.learning.requests import class_of, features_of
from apprentice.learning.router import Observation, current_router
from apprentice.realism import check_record
from apprentice.records import RecordContext, RecordOutcome
from apprentice.shapes.prompts import schema_text
from apprentice.shapes.schema import Shape
from apprentice.stages import Close, RecordState, RecordView, StagePlan, Step, StepEnv
from apprentice.workflows import Pattern, RoutingPolicy, RoutingSpec, WorkflowSpec


def choose_tier(complexity: Complexity, routing: RoutingSpec, pool: BackendPool | None = None, prompt_chars: int = 0) -> Complexity:
    """Set `complexity.tier` from the thresholds, then step down while over budget."""
    tier = (
        Tier.premium
        if complexity.score >= routing.premium_from
        else Tier.quality
        if complexity.score >= routing.quality_from
        else Tier.fast
    )
    complexity.reasons.append(f"score {complexity.score} → {tier.value}")
    if routing.budget_usd is not None and pool is not None:
        while tier is not Tier.fast and estimated_cost(pool, tier, prompt_chars) > routing.budget_usd:
            lower = tier.below[0]
            complexity.reasons.append(f"{tier.value} over budget ${routing.budget_usd}/record → {lower.value}")
            tier = lower
    complexity.tier = tier
    return complexity


def estimated_cost(pool: BackendPool, tier: Tier, prompt_chars: int, answer_tokens: int = 400) -> float:
    """Cost of one call where a request for `tier` would land: the cheapest enabled backend of the
    first tier in the pool's failover order that has one (≈ 4 characters per token)."""
    for t in tier.failover:
        costs = [b.cost(prompt_chars // 4 + 100, answer_tokens) for b in pool.config.backends if b.enabled and b.tier == t]
        if costs:
            return min(costs)
    return 0.0


def route_for(spec: WorkflowSpec, tier: Tier) -> WorkflowSpec:
    """The sub-workflow for `tier`: its route, else the nearest route below, else above; without
    routes, the spec's stages run sequentially on that tier."""
    if spec.routes:
        return next(spec.routes[t] for t in (tier, *tier.below, *tier.above) if t in spec.routes)
    stages = [s.model_copy(update={"tier": tier, "backend": None}) for s in spec.stages]
    return spec.model_copy(update={"name": f"{spec.name}.{tier.value}", "pattern": Pattern.sequential, "stages": stages})


def nested(spec: WorkflowSpec) -> bool:
    """Whether a route is routed again (run record by record: a record carries one route)."""
    return any(route.pattern is Pattern.routed for route in spec.routes.values())


async def run_whole_route(
    pool: BackendPool, spec: WorkflowSpec, shape: Shape, *, index: int, seed: int | None, context: RecordContext | None
) -> RecordOutcome:
    """Pick the route, and run its pattern whole (a route that is routed again)."""
    from apprentice.patterns import run_pattern  # the route may be any pattern, this one included

    context = context or RecordContext()
    tier, decision = decide(pool, spec, shape, context, index)
    route = route_for(spec, tier)
    outcome = await run_pattern(pool, route, shape, index=index, seed=seed, context=context)
    outcome.meta["routing"] = {**decision, "route": route.name}
    learn_from(shape, context, outcome)
    return outcome


def route_of(pool: BackendPool, spec: WorkflowSpec, shape: Shape, context: RecordContext | None) -> Complexity:
    """The request's complexity and the tier static routing sends it to."""
    complexity = score_complexity(shape.json_schema, rules=len(spec.rules), n=context.n if context else 1)
    return choose_tier(complexity, spec.routing, pool, len(schema_text(shape.json_schema)))


def decide(pool: BackendPool, spec: WorkflowSpec, shape: Shape, context: RecordContext, index: int) -> tuple[Tier, dict[str, Any]]:
    """The tier for record `index` under the spec's routing policy, and the decision as the
    record's `meta["routing"]` says it: the policy, the tier, and why."""
    complexity = route_of(pool, spec, shape, context)
    if spec.routing.policy is RoutingPolicy.static:
        return complexity.tier, {
            "policy": "static",
            "score": complexity.score,
            "tier": complexity.tier.value,
            "reasons": complexity.reasons,
        }
    class_key = class_of(features_of(shape.json_schema, spec, n=context.n))
    decision = current_router().choose(
        class_key,
        policy=spec.routing.policy,
        tiers=offered_tiers(pool, spec),
        tried=[Tier(t) for t in context.routed.get(index, [])],
        target_premium_share=spec.routing.target_premium_share,
    )
    return decision.tier, {
        "policy": decision.policy.value,
        "class": class_key,
        "score": complexity.score,
        "tier": decision.tier.value,
        "tried": [t.value for t in decision.tried],
        "reasons": [decision.reason],
    }


def offered_tiers(pool: BackendPool, spec: WorkflowSpec) -> list[Tier]:
    """The tiers a record can be routed to: the spec's routes, else the tiers the pool has backends of."""
    if spec.routes:
        return sorted(spec.routes, key=lambda t: t.rank)
    return [t for t in Tier if any(b.enabled and b.tier == t for b in pool.config.backends)] or [Tier.fast]


def learn_from(shape: Shape, context: RecordContext, outcome: RecordOutcome) -> None:
    """Feed a closed record's outcome on its route (its `meta["routing"]`: class and tier) back to
    the router (cascade and learned policies), and remember a failed tier so the record's next
    attempt escalates. A record no backend could make says nothing of the route."""
    routing = outcome.meta.get("routing") or {}
    if "class" not in routing or outcome.unmade or any(m.error_class in BACKEND_FAILURES for m in outcome.stages):
        return
    tier, realistic = Tier(routing["tier"]), outcome.valid and not check_record(outcome.record, shape.json_schema)
    current_router().record(
        Observation(
            class_key=routing["class"],
            tier=tier,
            valid=outcome.valid,
            realistic=realistic,
            latency_s=outcome.seconds,
            cost_usd=outcome.cost_usd,
        )
    )
    if not realistic:
        context.routed.setdefault(outcome.index, []).append(tier.value)


ROUTE = "route"


def routed_plan(spec: WorkflowSpec) -> StagePlan:
    """The routing step, then every route's own steps (named `TIER/STEP`), each run only for the
    records routed there: a step no record of the batch was routed to is not run."""
    from apprentice.patterns import stage_plan  # a route may be any pattern

    routes = {tier: stage_plan(route_for(spec, tier)) for tier in (list(spec.routes) or list(Tier))}
    phases = [[Step(ROUTE, _route)]]
    for tier, plan in routes.items():
        phases += [[_routed(tier, step) for step in phase] for phase in plan.phases]
    return StagePlan(phases=phases, close=_closer({tier: plan.close for tier, plan in routes.items()}))


def _key(spec: WorkflowSpec, tier: Tier) -> Tier:
    """The route a tier lands on: its own, else the nearest below, else above (see `route_for`)."""
    return next((t for t in (tier, *tier.below, *tier.above) if t in spec.routes), tier)


async def _route(env: StepEnv, state: RecordState) -> None:
    view = env.view(state)
    if view.nothing_to_write:
        return
    tier, decision = decide(env.pool, view.spec, view.shape, view.context, state.index)
    state.route = _key(view.spec, tier).value
    state.outcome.meta["routing"] = {**decision, "route": route_for(view.spec, tier).name}


def _on(env: StepEnv, state: RecordState, tier: Tier) -> StepEnv:
    """The steps' env for a record on route `tier`: its view's spec is the route."""
    view = env.view(state)
    route = RecordView(route_for(view.spec, tier), view.shape, view.context, view.given, view.about, view.nothing_to_write)
    return dataclasses.replace(env, make_view=lambda _env, _state: route, views={})


def _routed(tier: Tier, step: Step) -> Step:
    async def run(env: StepEnv, state: RecordState) -> None:
        await step.run(_on(env, state, tier), state)
        if state.stopped:  # the route gave up on the record before its final check: a failure all the same
            view = env.view(state)
            learn_from(view.shape, view.context, state.outcome)

    def wanted(state: RecordState) -> bool:
        return state.route == tier.value and (step.wanted is None or step.wanted(state))

    return Step(f"{tier.value}/{step.name}", run, wanted)


def _closer(closes: dict[Tier, Close]) -> Close:
    def close(env: StepEnv, state: RecordState) -> None:
        """The final check of the record's route."""
        if state.route is not None:
            tier = Tier(state.route)
            closes[tier](_on(env, state, tier), state)
            view = env.view(state)
            learn_from(view.shape, view.context, state.outcome)

    return close
