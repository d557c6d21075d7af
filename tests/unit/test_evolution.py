"""Mutations, avoidance rules, the version registry and candidate comparison."""

from __future__ import annotations

import numpy as np
import pytest

from apprentice.errors import ConfigError
from apprentice.evolution.compare import compare
from apprentice.evolution.mutations import propose
from apprentice.evolution.registry import VersionStatus, add_avoidance, avoided_signatures, bump, live, register, set_split, versions
from apprentice.store import engine_for
from apprentice.workflows import default_spec, parse_spec


def test_mutations_are_valid_specs_and_avoidance_rules_skip_them_everywhere(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path}/e.db")
    spec = default_spec("alpha")
    proposed = propose(spec, limit=10)
    assert len(proposed) >= 3 and all(c.content_hash != spec.content_hash for _, c in proposed)
    bad, _ = proposed[0]
    add_avoidance(bad, "lost the shadow comparison on validity", "alpha@1.1.0", engine)
    other = default_spec("beta")  # another workflow with the same shape of change
    assert bad.signature not in {m.signature for m, _ in propose(other, avoided_signatures(engine), limit=10)}


def test_registry_keeps_versions_immutable_with_lineage_and_a_traffic_split(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path}/r.db")
    parent = default_spec("alpha")
    register(parent, status=VersionStatus.live, traffic=1.0, engine=engine)
    mutation, child = propose(parent, limit=1)[0]
    child = child.model_copy(update={"version": bump(parent.version)})
    register(child, parent=parent.key, mutation=mutation, engine=engine)
    with pytest.raises(ConfigError, match="immutable|different content"):
        register(parse_spec({**child.model_dump(mode="json"), "max_rounds": 9}), engine=engine)
    set_split("alpha", {parent.key: 0.9, child.key: 0.1}, {child.key: VersionStatus.canary}, engine)
    rows = {v.key: v for v in versions("alpha", engine)}
    assert rows[child.key].parent == parent.key and rows[child.key].traffic == 0.1 and rows[child.key].status == "canary"
    serving = live("alpha", engine)
    assert serving is not None and serving.key == parent.key
    with pytest.raises(ValueError):
        set_split("alpha", {parent.key: 0.9}, {}, engine)


def test_comparison_tells_better_from_noninferior_from_worse():
    rng = np.random.default_rng(0)
    live_validity = rng.binomial(20, 0.90, 40) / 20
    assert compare("validity", live_validity, rng.binomial(20, 0.99, 40) / 20, higher_is_better=True, margin=0.02).verdict == "better"
    assert compare("validity", live_validity, rng.binomial(20, 0.60, 40) / 20, higher_is_better=True, margin=0.02).verdict == "worse"
    latency = rng.lognormal(0, 0.2, 40)
    assert compare("latency_s", latency, latency * 1.01, higher_is_better=False, margin=0.2).verdict == "non_inferior"


def test_shadow_comparison_promotes_through_the_canary_and_rejects_a_bad_candidate(tmp_path):
    import asyncio

    from apprentice.evolution.mutations import Mutation
    from apprentice.evolution.shadow import evolve, rollback_live
    from apprentice.shapes.schema import compile_shape
    from tests.unit.fakes import Backend, make_pool

    engine = engine_for(f"sqlite:///{tmp_path}/s.db")
    shape = compile_shape({"city": "string", "population": 0})
    good = Backend(lambda _p, _n: {"city": "Oslo", "population": 700_000})
    broken = Backend(lambda _p, _n: {"town": "Oslo"})  # never valid
    slow = Backend(lambda _p, _n: {"city": "Oslo", "population": 700_000}, delay=0.3)
    pool = make_pool(f=("fast", good), q=("quality", broken), p=("premium", slow))

    def version(v: str, tier: str):
        return parse_spec({"name": "towns", "version": v, "stages": [{"name": "g", "role": "generate", "tier": tier, "corrections": 0}]})

    live, fixed, slower = version("1.0.0", "quality"), version("1.1.0", "fast"), version("1.2.0", "premium")
    down = Mutation(operator="switch_tier", target="g", change={"tier": "down"}, context="sequential/generate")
    up = Mutation(operator="switch_tier", target="g", change={"tier": "up"}, context="sequential/generate")
    report = asyncio.run(evolve(pool, live, [(down, fixed)], shape, seeds=list(range(6)), engine=engine))
    assert report.promoted == fixed.key and [step["traffic"] for step in report.ramp] == [0.1, 0.5, 1.0]
    rows = {v.key: v for v in versions("towns", engine)}
    assert rows[fixed.key].status == "live" and rows[fixed.key].traffic == 1.0 and rows[live.key].status == "retired"

    second = asyncio.run(evolve(pool, fixed, [(up, slower)], shape, seeds=list(range(6)), engine=engine))
    assert second.promoted is None and second.candidates[0].verdict == "rejected" and "latency" in second.candidates[0].reason
    assert up.signature in avoided_signatures(engine)  # no workflow will try this change again

    assert rollback_live("towns", live.key, "a run of the retired version drifted", engine) is None
    assert {v.key: v.status for v in versions("towns", engine)}[fixed.key] == "live" and down.signature not in avoided_signatures(engine)
    assert rollback_live("towns", fixed.key, "drifted after promotion", engine) == live.key
    rows = {v.key: v for v in versions("towns", engine)}
    assert rows[live.key].traffic == 1.0 and rows[live.key].status == "live" and rows[fixed.key].status == "rolled_back"
    assert down.signature in avoided_signatures(engine)


def test_model_proposed_mutations_are_legal_spec_edits_only():
    import asyncio

    from apprentice.evolution.mutations import apply_proposal, model_proposals
    from tests.unit.fakes import Backend, make_pool

    spec = parse_spec({"name": "w", "stages": [{"name": "g", "role": "generate", "max_tokens": 64}]})
    applied = apply_proposal(spec, {"stage": "g", "field": "max_tokens", "value": 256})
    assert applied is not None and applied[1].stages[0].max_tokens == 256
    assert apply_proposal(spec, {"stage": "g", "field": "prompt", "value": "import os"}) is None  # not an allowed field
    assert apply_proposal(spec, {"stage": "nope", "field": "tier", "value": "premium"}) is None
    assert apply_proposal(spec, {"stage": "g", "field": "temperature", "value": 9}) is None  # out of range
    answer = {
        "mutations": [
            {"stage": "g", "field": "tier", "value": "quality", "reason": "fast tier truncates"},
            {"stage": "g", "field": "max_tokens", "value": "lots"},
        ]
    }
    pool = make_pool(q=("quality", Backend(lambda _p, _n: answer)))
    proposed = asyncio.run(model_proposals(pool, spec, {"validity": 0.4}))
    assert [(m.operator, c.stages[0].tier.value) for m, c in proposed] == [("model_set_tier", "quality")]
    garbage = make_pool(q=("quality", Backend(lambda _p, _n: "no idea")))
    assert asyncio.run(model_proposals(garbage, spec, {})) == []


def test_the_registry_decides_which_version_serves_a_run(tmp_path):
    from apprentice.evolution.registry import serving

    engine = engine_for(f"sqlite:///{tmp_path}/s.db")

    def version(v: str):
        return parse_spec({"name": "towns", "version": v, "stages": [{"name": "g", "role": "generate", "corrections": 0}]})

    base, promoted, by_hand = version("1.0.0"), version("1.1.0"), version("2.0.0")
    assert serving(base, "night-1", engine) == base, "nothing registered: the spec serves as given"
    register(base, status=VersionStatus.live, traffic=1.0, engine=engine)
    register(promoted, parent=base.key, engine=engine)
    set_split("towns", {base.key: 0.5, promoted.key: 0.5}, {promoted.key: VersionStatus.canary}, engine)
    served = [serving(base, f"night-{i}", engine).key for i in range(200)]
    assert served == [serving(base, f"night-{i}", engine).key for i in range(200)], "a rerun is served the same version"
    assert 60 < served.count(promoted.key) < 140, "a canary gets its share of runs"
    set_split("towns", {promoted.key: 1.0}, {promoted.key: VersionStatus.live, base.key: VersionStatus.retired}, engine)
    assert {serving(base, f"night-{i}", engine).key for i in range(20)} == {promoted.key}, (
        "the spec file's version is replaced by the promoted one"
    )
    assert serving(by_hand, "night-1", engine) == by_hand, "a version written by hand serves as given"
