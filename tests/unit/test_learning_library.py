"""The solution library: a hit reuses a stored solution without a model call, an adapted one is
validated before use, thresholds move with outcomes, and the library lives in the store."""

from __future__ import annotations

import asyncio
import json

from apprentice.backends.pool import BackendPool
from apprentice.learning.library import MatchKind, SolutionLibrary, load_library
from apprentice.learning.requests import features_of
from apprentice.numeric import NumericSpec
from apprentice.patterns.statistics import propose_numeric_solution, propose_numeric_spec
from apprentice.store import engine_for
from tests.unit.fakes import CountingTransports, chat_reply, pool_config

AGES = "founder ages normal, mean 35, sd 12"
AGES_SPEC = {"fields": {"age": {"distribution": "normal", "mean": 35, "sd": 12}}}


def pool_answering(*answers: dict) -> tuple[BackendPool, CountingTransports]:
    replies = iter(answers)
    servers = CountingTransports({"m": lambda _request: chat_reply(json.dumps(next(replies)))})
    return BackendPool(pool_config({"name": "m", "tier": "quality"}), transport_factory=servers), servers


def stored(library: SolutionLibrary, request: str = AGES, spec: dict = AGES_SPEC) -> SolutionLibrary:
    library.store(features_of(None, instructions=request), request, statistics=spec)
    return library


def test_a_library_hit_reuses_the_stored_spec_without_a_model_call():
    pool, servers = pool_answering()
    spec = asyncio.run(propose_numeric_spec(pool, AGES, library=stored(SolutionLibrary())))
    assert spec == NumericSpec.model_validate(AGES_SPEC) and servers.requests == 0


def test_a_novel_request_is_written_by_a_model_and_stored_once_valid():
    pool, servers = pool_answering(AGES_SPEC)
    library = SolutionLibrary()
    first = asyncio.run(propose_numeric_solution(pool, AGES, library=library))
    again = asyncio.run(propose_numeric_solution(pool, AGES, library=library))
    assert first.match.kind is MatchKind.novel and again.match.kind is MatchKind.reuse and servers.requests == 1


def test_an_adapted_spec_is_validated_before_use_and_an_invalid_edit_is_rejected():
    similar = "founder ages normal, mean 40, sd 12"
    library = stored(SolutionLibrary())
    assert library.lookup(features_of(None, instructions=similar), similar).kind is MatchKind.adapt
    invalid_edit = {"fields": {"age": {"sd": -3}}}  # a negative sd: NumericSpec refuses it
    written = {"fields": {"age": {"distribution": "normal", "mean": 40, "sd": 12}}}
    pool, servers = pool_answering(invalid_edit, written)
    proposed = asyncio.run(propose_numeric_solution(pool, similar, library=library))
    assert "did not validate" in proposed.match.reason and proposed.spec.fields["age"].mean == 40 and servers.requests == 2
    pool, _ = pool_answering({"fields": {"age": {"mean": 41}}})
    adapted = asyncio.run(propose_numeric_solution(pool, "founder ages normal, mean 41, sd 12", library=stored(SolutionLibrary())))
    assert adapted.match.kind is MatchKind.adapt and adapted.spec.fields["age"].mean == 41 and adapted.spec.fields["age"].sd == 12


def test_a_failed_reuse_raises_the_reuse_threshold_above_where_it_failed():
    library = stored(SolutionLibrary())
    near = "founder ages normal, mean 35, sd 12, rounded"
    match = library.lookup(features_of(None, instructions=near), near)
    library.thresholds.reuse = min(library.thresholds.reuse, match.similarity)
    match = library.lookup(features_of(None, instructions=near), near)
    assert match.kind is MatchKind.reuse
    library.learn(match, succeeded=False)
    assert library.thresholds.reuse > match.similarity
    assert library.lookup(features_of(None, instructions=near), near).kind is MatchKind.adapt


def test_a_success_near_the_threshold_lowers_it_and_the_library_lives_in_the_store(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path}/library.db")
    library = stored(load_library(engine))
    same = library.lookup(features_of(None, instructions=AGES), AGES)
    library.learn(same, succeeded=True)
    assert library.thresholds.reuse == 0.95  # the same request again says nothing of the boundary
    near = "founder ages normal, mean 35, sd 12, rounded"
    library.thresholds.reuse = library.lookup(features_of(None, instructions=near), near).similarity
    library.learn(library.lookup(features_of(None, instructions=near), near), succeeded=True)
    reopened = load_library(engine)
    assert reopened.thresholds.reuse < library.lookup(features_of(None, instructions=near), near).similarity
    assert [s.statistics for s in reopened.solutions] == [AGES_SPEC]


def test_a_run_that_validated_is_kept_and_a_nearly_identical_request_runs_its_spec():
    from apprentice.dataset import DatasetSummary
    from apprentice.learning.runs import remember_run, spec_for_run
    from apprentice.shapes.schema import compile_shape
    from apprentice.workflows import default_spec, parse_spec

    shape, library = compile_shape({"city": "string", "population": 0}), SolutionLibrary()
    tuned = parse_spec({"name": "cities", "version": "1.3.0", "stages": [{"name": "g", "role": "generate", "tier": "quality"}]})
    first, match = spec_for_run(shape, 100, default_spec("cities"), library)
    assert first == default_spec("cities") and match.kind is MatchKind.novel
    short = DatasetSummary(workflow="cities", version="1.3.0", requested=100, records=90, invalid=10)
    assert remember_run(shape, 100, tuned, short, match, library) is None and not library.solutions  # did not validate
    whole = DatasetSummary(workflow="cities", version="1.3.0", requested=100, records=100, cost_usd=0.02)
    kept = remember_run(shape, 100, tuned, whole, match, library)
    assert kept is not None and kept.results["cost_per_valid_usd"] == 0.0002
    again, reused = spec_for_run(shape, 5000, default_spec("cities"), library)
    assert reused.kind is MatchKind.reuse and again == tuned and reused.n == 5000
