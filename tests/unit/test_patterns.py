"""Every generation pattern on fake backends: merging, escalation, routing, scoring, composition."""

from __future__ import annotations

import asyncio

import pytest

from apprentice.backends.pool import BackendPool
from apprentice.config import Tier
from apprentice.dataset import generate_batch, plan_batches
from apprentice.errors import ConfigError
from apprentice.patterns import run_pattern
from apprentice.patterns.routed import score_complexity
from apprentice.records import RecordContext
from apprentice.shapes.schema import compile_shape
from apprentice.workflows import parse_spec
from tests.unit.fakes import Backend, make_pool, pool_config

PRODUCT = compile_shape({"name": "string", "description": "string", "price": 0.0, "currency": "USD|EUR", "stock": 0, "warehouse": "string"})


def part(fields: dict):
    """An answer with the requested subset of `fields` (the prompt quotes the stage's schema)."""
    return lambda prompt, _n: {k: v for k, v in fields.items() if f'"{k}"' in prompt.split("Schema:")[-1]}


FULL = {"name": "Desk lamp", "description": "Brass lamp", "price": 39.5, "currency": "EUR", "stock": 12, "warehouse": "Oslo"}
PARALLEL = {
    "name": "products",
    "pattern": "parallel",
    "stages": [
        {"name": "details", "role": "generate", "backend": "a", "fields": ["name", "description"]},
        {"name": "pricing", "role": "generate", "backend": "b", "fields": ["price", "currency"]},
        {"name": "inventory", "role": "generate", "backend": "c", "fields": ["stock", "warehouse"]},
    ],
}


def test_parallel_branches_run_at_once_and_merge_in_schema_order():
    shared = Backend(part(FULL), delay=0.05)
    pool = make_pool(a=("fast", shared), b=("fast", shared), c=("fast", shared))
    outcome = asyncio.run(run_pattern(pool, parse_spec(PARALLEL), PRODUCT, index=0, seed=1))
    assert outcome.valid and outcome.record == FULL and list(outcome.record) == list(FULL)
    assert shared.peak == 3  # all three branches were in flight together
    assert [b["branch"] for b in outcome.meta["branches"]] == ["details", "pricing", "inventory"]


def test_a_failed_branch_is_named_and_the_record_is_not_passed_on_partial():
    broken = Backend(lambda _p, _n: {"stock": "plenty"})  # never valid, even after corrections
    pool = make_pool(a=("fast", Backend(part(FULL))), b=("fast", Backend(part(FULL))), c=("quality", broken))
    outcome = asyncio.run(run_pattern(pool, parse_spec(PARALLEL), PRODUCT, index=0, seed=1))
    assert not outcome.valid
    assert outcome.reason is not None and "inventory" in outcome.reason
    assert {b["branch"]: b["valid"] for b in outcome.meta["branches"]} == {"details": True, "pricing": True, "inventory": False}


def test_quorum_takes_the_majority_value_per_field():
    spec = parse_spec(
        {
            "name": "q",
            "pattern": "parallel",
            "merge": "quorum",
            "quorum": 2,
            "stages": [{"name": n, "role": "generate", "backend": n} for n in ("a", "b", "c")],
        }
    )
    odd = {**FULL, "price": 99.0}
    pool = make_pool(a=("fast", Backend(part(FULL))), b=("fast", Backend(part(odd))), c=("fast", Backend(part(FULL))))
    outcome = asyncio.run(run_pattern(pool, spec, PRODUCT, index=0))
    assert outcome.valid and outcome.record["price"] == 39.5


def test_spec_errors_are_clear():
    with pytest.raises(ConfigError, match="quorum 4 is more than the 3 branches"):
        parse_spec({**PARALLEL, "merge": "quorum", "quorum": 4})
    with pytest.raises(ConfigError, match="needs a `statistics` section"):
        parse_spec({"name": "s", "pattern": "statistics"})
    with pytest.raises(ConfigError, match="at least two generate stages"):
        parse_spec({"name": "c", "pattern": "consensus", "stages": [{"name": "x", "role": "generate"}]})


EVENT = compile_shape({"title": "string", "start": 0, "end": 0})
LOOP = {
    "name": "events",
    "pattern": "correct_loop",
    "max_rounds": 2,
    "rules": [{"kind": "compare", "field": "start", "op": "<", "other": "end"}],
    "stages": [{"name": "draft", "role": "generate", "tier": "fast"}, {"name": "fix", "role": "correct", "tier": "fast"}],
}


def test_correct_loop_escalates_a_repeating_error_to_the_next_tier():
    stubborn = Backend(lambda _p, _n: {"title": "Launch", "start": 5, "end": 1})
    careful = Backend(lambda _p, _n: {"title": "Launch", "start": 1, "end": 5})
    pool = make_pool(f=("fast", stubborn), q=("quality", careful))
    outcome = asyncio.run(run_pattern(pool, parse_spec(LOOP), EVENT, index=0, seed=3))
    assert outcome.valid and outcome.record == {"title": "Launch", "start": 1, "end": 5}
    tiers = [(a["tier"], a["escalated"]) for a in outcome.meta["attempts"]]
    assert tiers == [("fast", False), ("fast", False), ("quality", True)]
    assert all("cost_usd" in a for a in outcome.meta["attempts"])


def test_correct_loop_ends_with_a_premium_pass_when_rounds_run_out():
    bad = Backend(lambda _p, n: {"title": "x", "start": 9, "end": n})  # a new (still wrong) answer each time
    good = Backend(lambda _p, _n: {"title": "Launch", "start": 1, "end": 2})
    pool = make_pool(f=("fast", bad), q=("quality", bad), p=("premium", good))
    outcome = asyncio.run(run_pattern(pool, parse_spec(LOOP), EVENT, index=0, seed=3))
    assert outcome.valid
    assert [a["tier"] for a in outcome.meta["attempts"]] == ["fast", "fast", "quality", "premium"] and good.calls == 1


def test_uniqueness_within_a_batch_is_enforced_by_correction():
    spec = parse_spec({**LOOP, "rules": [{"kind": "unique", "field": "title"}]})
    titles = iter(["Launch", "Launch", "Review", "Launch", "Retro", "Demo", "Party"])
    pool = make_pool(f=("fast", Backend(lambda _p, _n: {"title": next(titles), "start": 1, "end": 2})))
    (plan,) = plan_batches(3, 10, seed=1)
    result = asyncio.run(generate_batch(pool, spec, EVENT, plan, concurrency=1, record_attempts=1))
    kept = [o.record["title"] for o in result.outcomes if o.valid]
    assert len(kept) == 3 and len(set(kept)) == 3


def test_complexity_score_orders_schemas_and_budget_steps_down():
    simple = score_complexity(EVENT.json_schema)
    nested = compile_shape(
        {
            "type": "object",
            "properties": {
                "orders": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
                            "qty": {"type": "integer", "minimum": 1},
                            "ship": {
                                "oneOf": [{"type": "object", "properties": {"zip": {"type": "string", "format": "uuid"}}}, {"type": "null"}]
                            },
                        },
                    },
                },
                "status": {"enum": ["a", "b"]},
            },
        }
    )
    hard = score_complexity(nested.json_schema, rules=2, n=10_000)
    assert simple.score < 25 <= 60 <= hard.score
    spec = parse_spec({"name": "r", "pattern": "routed", "routing": {"budget_usd": 0.001}, "stages": [{"name": "g", "role": "generate"}]})
    pool = BackendPool(
        pool_config(
            {"name": "cheap", "tier": "fast"},
            {"name": "dear", "tier": "premium", "price_in_per_1k": 5.0, "price_out_per_1k": 5.0},
        )
    )
    from apprentice.patterns.routed import choose_tier

    decided = choose_tier(hard, spec.routing, pool, prompt_chars=2000)
    assert decided.tier.value == "fast" and any("over budget" in r for r in decided.reasons)


def test_routed_request_runs_a_composed_route():
    spec = parse_spec(
        {
            "name": "router",
            "pattern": "routed",
            "routing": {"quality_from": 1, "premium_from": 99},
            "routes": {"fast": {"stages": [{"name": "g", "role": "generate"}]}, "quality": LOOP | {"name": "ignored"}},
        }
    )
    assert spec.routes[Tier.fast].name == "router.fast"
    pool = make_pool(
        f=("fast", Backend(lambda _p, _n: {"title": "A", "start": 3, "end": 1})),
        q=("quality", Backend(lambda _p, _n: {"title": "A", "start": 1, "end": 3})),
    )
    outcome = asyncio.run(run_pattern(pool, spec, EVENT, index=0, seed=1, context=RecordContext(n=5)))
    assert outcome.meta["routing"]["tier"] == "quality" and outcome.meta["routing"]["route"] == "ignored"
    assert outcome.valid and outcome.meta["attempts"]  # the correct loop ran inside the route


def test_consensus_keeps_the_best_candidate_and_reports_disagreement():
    spec = parse_spec(
        {
            "name": "c",
            "pattern": "consensus",
            "stages": [
                {"name": "one", "role": "generate", "backend": "a"},
                {"name": "two", "role": "generate", "backend": "b"},
                {"name": "three", "role": "generate", "backend": "c"},
            ],
        }
    )
    pool = make_pool(
        a=("fast", Backend(lambda _p, _n: "not json at all")),
        b=("fast", Backend(lambda _p, _n: {"title": "B", "start": 1, "end": 2})),
        c=("fast", Backend(lambda _p, _n: {"title": "C", "start": 1, "end": 2})),
    )
    outcome = asyncio.run(run_pattern(pool, spec, EVENT, index=0))
    facts = outcome.meta["consensus"]
    assert outcome.valid and facts["chosen"] == "two" and facts["tie"] == ["two", "three"]
    assert facts["disagreements"] == ["title"] and facts["scores"]["one"] < facts["scores"]["two"]
