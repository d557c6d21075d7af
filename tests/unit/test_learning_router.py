"""Learned routing: the router prefers the tier that passes on a class, escalates a record that
failed, can be calibrated to a premium share, and the routed pattern records every decision."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import SimpleNamespace

from apprentice.backends.pool import BackendPool
from apprentice.config import Tier
from apprentice.dataset import generate_batch, plan_batches
from apprentice.learning.outcomes import add_observations, load_table
from apprentice.learning.router import Observation, Router, routing_with
from apprentice.patterns import run_pattern
from apprentice.records import RecordContext
from apprentice.shapes.schema import compile_shape
from apprentice.store import engine_for
from apprentice.workflows import RoutingPolicy, parse_spec
from tests.unit.fakes import ClassServer, CountingTransports, pool_config

TIERS = [Tier.fast, Tier.quality, Tier.premium]
CITY = compile_shape({"city": "string", "population": 0})
GOOD = {"city": "Lyon", "population": 513000}
BAD = {"city": 7}  # never valid, whatever the corrections ask


def observe(router: Router, class_key: str, tier: Tier, passed: bool, times: int) -> None:
    for _ in range(times):
        router.record(Observation(class_key=class_key, tier=tier, valid=passed, realistic=passed))


def test_the_router_prefers_the_tier_that_passes_on_a_class_over_a_cheaper_one_that_fails():
    router = Router(seed=3)
    observe(router, "hard", Tier.fast, False, 20)
    observe(router, "hard", Tier.quality, True, 20)
    observe(router, "easy", Tier.fast, True, 20)
    hard = Counter(router.choose("hard", policy=RoutingPolicy.learned, tiers=TIERS).tier for _ in range(200))
    easy = Counter(router.choose("easy", policy=RoutingPolicy.learned, tiers=TIERS).tier for _ in range(200))
    assert hard[Tier.quality] > 180 and hard[Tier.fast] < 5
    assert easy[Tier.fast] > 180


def test_a_record_that_failed_escalates_above_the_tiers_it_failed_on():
    router = Router(seed=1)
    observe(router, "any", Tier.fast, True, 50)
    cascade = router.choose("any", policy=RoutingPolicy.cascade, tiers=TIERS, tried=[Tier.fast])
    learned = router.choose("any", policy=RoutingPolicy.learned, tiers=TIERS, tried=[Tier.fast])
    assert cascade.tier is Tier.quality and "escalated" in cascade.reason
    assert learned.tier is not Tier.fast and "escalated after failing on fast" in learned.reason


def test_calibration_sends_about_the_target_share_to_premium_first():
    router = Router(seed=2)
    for i, rate in enumerate([0.95, 0.9, 0.7, 0.4, 0.1]):
        observe(router, f"c{i}", Tier.fast, True, int(rate * 40))
        observe(router, f"c{i}", Tier.fast, False, 40 - int(rate * 40))
    firsts = [router.choose(f"c{i % 5}", policy=RoutingPolicy.learned, tiers=TIERS, target_premium_share=0.2).tier for i in range(500)]
    assert 0.12 <= firsts.count(Tier.premium) / len(firsts) <= 0.28


def pool_of(**servers: tuple[str, ClassServer]) -> BackendPool:
    config = pool_config(*({"name": name, "tier": tier, "price_out_per_1k": price} for name, (tier, _), price in _priced(servers)))
    return BackendPool(config, transport_factory=CountingTransports({name: server for name, (_, server) in servers.items()}))


def _priced(servers: dict[str, tuple[str, ClassServer]]):
    return [(name, pair, {"fast": 0.001, "quality": 0.01, "premium": 0.1}[pair[0]]) for name, pair in servers.items()]


LEARNED = {"name": "r", "pattern": "routed", "routing": {"policy": "learned"}, "stages": [{"name": "g", "role": "generate"}]}


def test_the_routed_pattern_with_a_learned_policy_records_its_decision_and_learns_the_class():
    cheap, good = ClassServer(GOOD, BAD, passes=0.0), ClassServer(GOOD, BAD, passes=1.0)
    pool = pool_of(cheap=("fast", cheap), good=("quality", good))
    spec = parse_spec(LEARNED)

    async def stream() -> list:
        return [await run_pattern(pool, spec, CITY, index=i, seed=i, context=RecordContext(n=1)) for i in range(40)]

    with routing_with(Router(seed=5)) as router:
        outcomes = asyncio.run(stream())
    decisions = [o.meta["routing"] for o in outcomes]
    assert all(
        d["policy"] == "learned" and d["class"] == "flat·small·text-heavy" and d["reasons"][0].startswith("learned:") for d in decisions
    )
    assert [d["tier"] for d in decisions[-10:]].count("quality") >= 9 and all(
        o.valid for o in outcomes[-10:] if o.meta["routing"]["tier"] == "quality"
    )
    assert router.stats("flat·small·text-heavy", Tier.fast).passes == 0 and router.stats("flat·small·text-heavy", Tier.quality).trials > 20


def test_a_cascade_remakes_a_failed_record_one_tier_up_in_the_same_batch():
    cheap, good = ClassServer(GOOD, BAD, passes=0.0), ClassServer(GOOD, BAD, passes=1.0)
    pool = pool_of(cheap=("fast", cheap), good=("quality", good))
    spec = parse_spec({**LEARNED, "routing": {"policy": "cascade"}, "realism_checks": False})
    with routing_with(Router(seed=0)):
        batch = asyncio.run(generate_batch(pool, spec, CITY, plan_batches(3, 3, seed=1)[0]))
    assert all(o.valid for o in batch.outcomes) and cheap.calls == 3 * 3  # one attempt each on fast (with its 2 corrections)
    assert all(o.meta["routing"]["tier"] == "quality" and o.meta["routing"]["tried"] == ["fast"] for o in batch.outcomes)
    from apprentice.dataset import summarise
    from apprentice.orchestration.artifacts import summary_markdown

    summary = summarise(spec, 3, [batch], CITY.json_schema)
    assert summary.routing == {"cascade/quality": 3, "escalated": 3}
    assert "## Routing: cascade/quality: 3; escalated after a failed tier: 3" in summary_markdown(summary)


def test_outcomes_add_up_in_the_store_across_writes(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path}/routes.db")
    seen = [Observation(class_key="k", tier=Tier.fast, valid=v, realistic=v, latency_s=1.0, cost_usd=0.5) for v in (True, False, True)]
    add_observations(seen[:2], engine)
    add_observations(seen[2:], engine)
    stats = load_table(engine)[("k", Tier.fast)]
    assert (stats.trials, stats.passes, stats.latency_s, stats.cost_usd) == (3, 2, 3.0, 1.5)


def test_apprentice_routes_shows_per_class_the_path_taken_and_its_figures():
    from typer.testing import CliRunner

    from apprentice.cli import app
    from apprentice.learning.report import route_rows
    from apprentice.store import default_engine

    seen = [Observation(class_key="nested·medium·mixed", tier=Tier.fast, valid=False, realistic=False, cost_usd=0.001)] * 10
    seen += [Observation(class_key="nested·medium·mixed", tier=Tier.quality, valid=True, realistic=True, latency_s=2.0, cost_usd=0.01)] * 10
    add_observations(seen, default_engine())
    shown = CliRunner().invoke(app, ["routes"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert "nested·medium·mixed" in shown.output and "quality" in shown.output and "100% (10/10)" in shown.output
    assert "fast 0/10" in shown.output and "—" in shown.output  # no simplification proposed (yet)
    router = Router(load_table(default_engine()))
    assert route_rows(router, proposals=lambda _k: ["drop stage 'fix'"])[0]["simplifications"] == "drop stage 'fix'"
    proposal = SimpleNamespace(key="orders@1.2.0", action="remove stage 'check'")
    assert route_rows(router, proposals=lambda _k: [proposal])[0]["simplifications"] == "orders@1.2.0: remove stage 'check'"


def test_evolution_proposes_a_routed_workflow_under_another_routing_policy_as_a_new_version():
    from apprentice.evolution.mutations import propose

    spec = parse_spec({"name": "r", "pattern": "routed", "stages": [{"name": "g", "role": "generate"}]})
    proposed = {m.change.get("policy"): child for m, child in propose(spec, limit=10) if m.operator == "switch_routing_policy"}
    assert set(proposed) == {"cascade", "learned"} and proposed["learned"].routing.policy is RoutingPolicy.learned
    assert proposed["learned"].content_hash != spec.content_hash  # a different version, compared like any other change


def test_without_a_router_of_its_own_a_run_learns_into_the_store_that_apprentice_routes_reads():
    from apprentice.learning.outcomes import StoreSink
    from apprentice.learning.router import current_router
    from apprentice.store import default_engine

    pool = pool_of(good=("quality", ClassServer(GOOD, BAD, passes=1.0)))
    outcome = asyncio.run(run_pattern(pool, parse_spec(LEARNED), CITY, index=0, seed=0, context=RecordContext(n=1)))
    sink = current_router().sink
    assert isinstance(sink, StoreSink)
    sink.flush()
    stats = load_table(default_engine())[(outcome.meta["routing"]["class"], Tier.quality)]
    assert outcome.valid and stats.passes >= 1
