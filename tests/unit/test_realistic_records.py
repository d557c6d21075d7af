"""The field plan in the record loop: given values are fixed and never sent to the model to write;
a record with a realism defect is corrected at the named path, else regenerated, else rejected."""

from __future__ import annotations

import json

import httpx
import pytest

from apprentice.backends.pool import BackendPool
from apprentice.dataset import generate_batch, plan_batches, plan_presets, summarise
from apprentice.records import FailureKind
from apprentice.shapes.schema import compile_shape
from apprentice.workflows import default_spec, parse_spec

from .fakes import Script, chat_reply, object_schema, pool_config, transports

PROFILE = compile_shape({"name": "string", "email": "email", "age": 0, "signed_up_at": "ISO-8601", "bio": "A two-sentence biography"})
BIO = "Restores old sailing boats on weekends; friends know this sailor for a famous lemon cake."
BIOS = [
    BIO,
    "A retired postman who now keeps bees in a small orchard outside town.",
    "Runs a night shift at the hospital pharmacy and trains for marathons at dawn.",
    "Collects vinyl jazz records and teaches chess to kids at the library.",
]


def varied_bios(script_requests: list) -> httpx.Response:
    return chat_reply(json.dumps({"bio": BIOS[(len(script_requests) - 1) % len(BIOS)]}))


async def _no_sleep(_s: float) -> None:
    return None


def pool_with(script: Script) -> BackendPool:
    return BackendPool(pool_config({"name": "local"}, attempts=1), transport_factory=transports({"local": script}), sleep=_no_sleep)


def asked_schema(request: dict) -> dict:
    """The JSON Schema a request asked the model to fill (sent in its user message)."""
    text = request["messages"][-1]["content"]
    return json.loads(text.split("Schema: ", 1)[1].split("\n", 1)[0])


async def test_sampled_fields_are_given_and_the_model_writes_only_the_rest():
    spec = default_spec("profiles")
    field_plan, presets = plan_presets(spec, PROFILE, 3, seed=4)
    assert field_plan is not None and field_plan.model_fields() == ["bio"] and presets is not None
    script = Script(lambda _request: varied_bios(script.requests))
    batch = await generate_batch(pool_with(script), spec, PROFILE, plan_batches(3, 3, 4, presets)[0])
    assert all(o.valid for o in batch.outcomes)
    assert [o.record["name"] for o in batch.outcomes] == [p["name"] for p in presets]
    assert all(set(asked_schema(r)["properties"]) == {"bio"} for r in script.requests)
    assert "Facts already set for this record" in script.requests[0]["messages"][-1]["content"]


async def test_a_bio_that_echoes_the_hint_is_corrected_at_its_path():
    spec = default_spec("profiles")
    _plan, presets = plan_presets(spec, PROFILE, 1, seed=4)
    script = Script(chat_reply(json.dumps({"bio": "A two-sentence biography"})), chat_reply(json.dumps({"bio": BIO})))
    batch = await generate_batch(pool_with(script), spec, PROFILE, plan_batches(1, 1, 4, presets)[0])
    outcome = batch.outcomes[0]
    assert outcome.valid and outcome.record["bio"] == BIO
    assert outcome.meta["realism_corrected"] == ["echo"]
    correction = script.requests[1]["messages"][-1]["content"]
    assert "/bio" in correction and "echo" in correction


async def test_a_bio_that_states_another_age_than_the_sampled_one_is_corrected():
    """Seen in a nightly: bios of "a four-year-old veterinary surgeon" beside `age: 50` were written,
    because the record loop ignored what the checker calls a broken constraint."""
    spec = default_spec("profiles")
    _plan, presets = plan_presets(spec, PROFILE, 1, seed=4)
    assert presets is not None and presets[0]["age"] != 4
    script = Script(chat_reply(json.dumps({"bio": "A four-year-old nurse who keeps bees. Loves her lemon cake."})), varied_bios([0]))
    batch = await generate_batch(pool_with(script), spec, PROFILE, plan_batches(1, 1, 4, presets)[0])
    outcome = batch.outcomes[0]
    assert outcome.valid and outcome.record["bio"] == BIO
    assert outcome.meta["realism_corrected"] == ["broken_constraint"]
    assert "4 years old where the record's age is" in script.requests[1]["messages"][-1]["content"]


async def test_a_record_that_keeps_copying_a_given_value_is_rejected_for_its_content():
    spec = default_spec("profiles")
    _plan, presets = plan_presets(spec, PROFILE, 1, seed=4)
    assert presets is not None
    name = presets[0]["name"]
    script = Script(chat_reply(json.dumps({"bio": name})))
    batch = await generate_batch(pool_with(script), spec, PROFILE, plan_batches(1, 1, 4, presets)[0], record_attempts=2)
    outcome = batch.outcomes[0]
    assert not outcome.valid and outcome.failure is FailureKind.content
    assert "realism: /bio" in (outcome.reason or "") and name in (outcome.reason or "")
    summary = summarise(spec, 1, [batch], PROFILE.json_schema)
    assert (summary.records, summary.invalid, summary.not_made) == (0, 1, 0)


async def test_with_sampling_off_the_model_writes_every_field():
    spec = parse_spec({"name": "profiles", "sampling": False, "stages": [{"name": "g", "role": "generate"}]})
    field_plan, presets = plan_presets(spec, PROFILE, 2, seed=4)
    assert field_plan is None and presets is None


async def test_near_duplicate_texts_are_not_written_and_the_report_counts_what_was():
    spec = default_spec("profiles")
    _plan, presets = plan_presets(spec, PROFILE, 4, seed=9)
    script = Script(lambda _request: varied_bios(script.requests))
    batch = await generate_batch(pool_with(script), spec, PROFILE, plan_batches(4, 4, 9, presets)[0], concurrency=1)
    assert all(o.valid for o in batch.outcomes) and len({o.record["bio"] for o in batch.outcomes}) == 4
    report = summarise(spec, 4, [batch], PROFILE.json_schema).realism
    assert report is not None and (report.records, report.clean_records, report.near_duplicate_rate) == (4, 4, 0.0)
    assert report.fields["/email"].distinct_ratio == 1.0

    same = Script(chat_reply(json.dumps({"bio": BIO})))
    repeated = await generate_batch(pool_with(same), spec, PROFILE, plan_batches(4, 4, 9, presets)[0], concurrency=1, record_attempts=1)
    assert [o.valid for o in repeated.outcomes] == [True, False, False, False]
    assert "near_duplicate" in (repeated.outcomes[1].reason or "")


def test_a_bad_field_override_is_one_clear_error():
    import pytest

    from apprentice.errors import ApprenticeError

    spec = parse_spec(
        {"name": "p", "stages": [{"name": "g", "role": "generate"}], "fields": {"nickname": {"source": "sampled", "sampler": "full_name"}}}
    )
    with pytest.raises(ApprenticeError) as error:
        plan_presets(spec, PROFILE, 1, seed=0)
    assert "nickname" in str(error.value)


def test_requests_left_for_the_model_are_smaller():
    """Samplers replace model tokens: the schema a model fills shrinks to the fields it writes."""
    script_schema = json.dumps(PROFILE.json_schema)
    _plan, presets = plan_presets(default_spec("p"), PROFILE, 1, seed=1)
    assert presets is not None
    from apprentice.patterns.given import without_fields

    assert len(json.dumps(without_fields(PROFILE.json_schema, presets[0]))) < len(script_schema) / 2


def test_a_text_field_that_only_repeats_a_given_value_is_an_echo():
    from apprentice.realistic import copied_values

    found = copied_values({"name": "Linda Snyder", "bio": " linda snyder "}, {"name": "Linda Snyder"})
    assert [(d.kind.value, d.path) for d in found] == [("echo", "/bio")]
    assert copied_values({"name": "Linda Snyder", "bio": BIO}, {"name": "Linda Snyder"}) == []


async def test_a_record_regenerated_for_realism_keeps_its_unique_values():
    """It claimed its email before the realism check failed it; the retry must not collide with itself."""
    spec = parse_spec({"name": "profiles", "stages": [{"name": "g", "role": "generate"}], "rules": [{"kind": "unique", "field": "email"}]})
    _plan, presets = plan_presets(spec, PROFILE, 1, seed=4)
    echo = chat_reply(json.dumps({"bio": "A two-sentence biography"}))
    script = Script(echo, echo, chat_reply(json.dumps({"bio": BIO})))
    batch = await generate_batch(pool_with(script), spec, PROFILE, plan_batches(1, 1, 4, presets)[0], record_attempts=2)
    assert batch.outcomes[0].valid, batch.outcomes[0].reason


async def test_a_pattern_that_failed_stays_failed_when_values_were_given():
    """A parallel merge that failed (a branch missing) must not pass because given values fill the record."""
    from apprentice.patterns.given import run_with_given
    from apprentice.records import RecordContext, RecordOutcome

    async def failed_merge(pool, spec, shape, *, index, seed, context):
        return RecordOutcome(index=index, record={}, reason="branch 'text' failed: backend down")

    schema = {**object_schema(PROFILE), "required": ["name"]}  # every other field optional: a partial record would validate
    outcome = await run_with_given(
        failed_merge,
        pool_with(Script()),  # the failing pattern never calls a model
        default_spec("p"),
        PROFILE.model_copy(update={"json_schema": schema}),
        {"name": "Linda Snyder"},
        index=0,
        seed=1,
        context=RecordContext(),
    )
    assert not outcome.valid and "branch 'text' failed" in (outcome.reason or "")


def test_a_plain_field_may_equal_a_given_value():
    from apprentice.realistic import copied_values

    schema = {
        "type": "object",
        "properties": {
            "country": {"type": "string"},
            "home_country": {"type": "string"},
            "bio": {"type": "string", "description": "A bio"},
        },
    }
    assert copied_values({"country": "France", "home_country": "France"}, {"country": "France"}, schema) == []
    assert [d.path for d in copied_values({"country": "France", "bio": "France"}, {"country": "France"}, schema)] == ["/bio"]


def test_another_fields_name_written_as_a_value_is_a_placeholder():
    from apprentice.realistic import field_names_as_values

    found = field_names_as_values(
        {"country": "Canada", "interests": ["country:", "sailing"]},
        object_schema(PROFILE) | {"properties": {"country": {}, "interests": {}}},
    )
    assert [(d.kind.value, d.path) for d in found] == [("placeholder", "/interests/0")]


async def test_a_unique_rule_on_a_model_field_holds_with_given_values():
    """The pattern checks the rule on its part of the record; the whole record must not then collide with itself."""
    spec = parse_spec(
        {
            "name": "p",
            "pattern": "correct_loop",
            "stages": [{"name": "g", "role": "generate"}],
            "rules": [{"kind": "unique", "field": "bio"}],
        }
    )
    _plan, presets = plan_presets(spec, PROFILE, 2, seed=3)
    script = Script(lambda _request: varied_bios(script.requests))
    batch = await generate_batch(pool_with(script), spec, PROFILE, plan_batches(2, 2, 3, presets)[0], concurrency=1)
    assert [o.valid for o in batch.outcomes] == [True, True], [o.reason for o in batch.outcomes]


def test_a_bio_is_steered_to_start_with_the_persons_first_name_in_the_grammar_only():
    import re

    from apprentice.backends.grammar import grammar_safe
    from apprentice.patterns.given import about_subject
    from apprentice.shapes.validate import validate

    schema = {
        "type": "object",
        "properties": {
            "bio": {"type": "string", "description": "A two-sentence biography"},
            "headline": {"type": "string", "description": "A short headline of the profile"},
        },
    }
    steered = about_subject(schema, {"name": "Mary-Jane Watson"})
    grammar = grammar_safe(steered)["properties"]
    assert re.match(grammar["bio"]["pattern"], "Mary-Jane Watson photographs the city at night. She sells prints.")
    assert not re.match(grammar["bio"]["pattern"], "A two-sentence biography of Mary-Jane.")
    assert not re.match(grammar["bio"]["pattern"], "Mary-Jane Watson photographs the city at night and sells")
    assert "pattern" not in grammar["headline"], "a headline is not prose"
    assert validate({"bio": "Photographs the city at night."}, steered) == [], "a backend without a grammar is not held to it"
    assert about_subject(schema, {"age": 30}) == schema


def test_steered_prose_ends_after_a_whole_word_however_long_the_words():
    """Seen in the realism bench: counted in characters, the grammar ended a description where the
    count ran out ("…brushed steel and wei."). Counted in words, the last word is always whole."""
    import re

    from apprentice.backends.grammar import grammar_safe
    from apprentice.patterns.given import PROSE_WORDS, about_subject

    schema = {"type": "object", "properties": {"description": {"type": "string", "description": "One sentence about the product"}}}
    pattern = grammar_safe(about_subject(schema, {"name": "Aster Lamp", "price": 20.0}))["properties"]["description"]["pattern"]
    longest = PROSE_WORDS[1]
    assert re.match(pattern, "Aster Lamp " + "illuminating " * (longest - 1) + "weightlessness.")
    assert not re.match(pattern, "Aster Lamp " + "lamp " * longest + "weight."), "one word too many"
    assert not re.match(pattern, "Aster Lamp is bright"), "a text ends a sentence"
    bounded = {"type": "object", "properties": {"description": {"type": "string", "description": "One sentence", "maxLength": 80}}}
    assert about_subject(bounded, {"name": "Aster Lamp", "price": 20.0}) == bounded, "steering would lift a field's own length bound"


def test_the_bio_sketch_names_a_hobby_from_the_records_own_interests():
    from apprentice.patterns.given import guidance

    given = {"name": "Larry Dean", "job": "Clinical research associate", "interests": ["jazz piano", "cycling"]}
    for attempt_seed in range(5):  # the persona is drawn per attempt; the interests are the record's
        assert "enjoys jazz piano." in guidance(given, attempt_seed, 3)


@pytest.mark.parametrize(
    ("name", "subject"),
    [("Maria Garcia", "she"), ("Larry Dean", "he"), ("Deanna Ruiz", "she"), ("Zxqv Ortega", "they")],
)
def test_the_bio_sketch_gives_the_pronoun_of_the_records_own_name(name, subject):
    """Seen in the nightly: a bio about Maria that says "his" — a small model guesses otherwise."""
    from apprentice.patterns.given import guidance

    assert f"; {subject} enjoy" in guidance({"name": name, "interests": ["chess"]}, 1, 0)


def test_a_product_is_not_given_a_persons_sketch():
    """Seen in the realism bench: told a person's sketch, SmolLM2 wrote "Oakline Classic Desk Lamp
    is a social worker. They enjoy volunteering at a food bank"."""
    from apprentice.patterns.given import PRODUCT_ANGLES, guidance

    told = guidance({"sku": "TBF-00096", "name": "Oakline Classic Desk Lamp", "price": 113.99}, 7, 3)
    assert "Oakline Classic Desk Lamp" in told and "about this product" in told
    assert " is a " not in told and "enjoy" not in told and any(angle in told for angle in PRODUCT_ANGLES)
    person = guidance({"name": "Maria Garcia", "email": "maria@example.net", "interests": ["chess"]}, 7, 3)
    assert "Maria Garcia is a" in person and "she enjoys chess" in person


@pytest.mark.parametrize("subject", [{"name": "Mary-Jane Watson"}, {"name": "Halden Lite Sunglasses", "sku": "QUT-00043", "price": 9.99}])
def test_the_steered_prose_reaches_llama_cpp_as_a_grammar_it_parses(subject):
    """Seen in the realism bench: `re.escape` wrote "Halden\\ Lite\\ Sunglasses" into the grammar,
    llama.cpp's parser refused it, and the description went unsteered (and echoed its hint)."""
    from apprentice.backends.gbnf import grammar_parses
    from apprentice.patterns.given import about_subject

    schema = {"type": "object", "properties": {"description": {"type": "string", "description": "One sentence about the product"}}}
    steered = about_subject(schema, subject)
    assert steered != schema, "a product's description and a person's bio are steered to start with their subject"
    if grammar_parses(steered) is None:
        pytest.skip("llama-cpp-python or the embedded model's vocabulary is not installed")
    assert grammar_parses(steered)


def test_a_given_identifier_pasted_into_a_text_is_an_echo_but_a_name_is_not():
    """Seen in the realism bench: "Willow Smart Watch Band [BQY-00094] with 35% price of a $2.81 product."."""
    from apprentice.realism import DefectKind
    from apprentice.realistic import copied_values

    schema = {"type": "object", "properties": {"description": {"type": "string", "description": "One sentence about the product"}}}
    given = {"sku": "BQY-00094", "name": "Willow Smart Watch Band", "warehouse": "Reno DC"}
    pasted = copied_values({**given, "description": "Willow Smart Watch Band [BQY-00094] is a strap."}, given, schema)
    assert [d.kind for d in pasted] == [DefectKind.ECHO] and "/sku" in pasted[0].message
    assert copied_values({**given, "description": "Willow Smart Watch Band is a soft silicone strap."}, given, schema) == []


def test_the_model_reads_the_schema_without_the_grammar_only_steering():
    """Seen in the realism bench: told the steering pattern, SmolLM2 wrote "Vantage Camping
    Lantern [^Vat-Stampion] is a 2015 line…" — the pattern's `[^` after the product's name."""
    from apprentice.patterns.given import about_subject
    from apprentice.shapes.prompts import generate_messages

    schema = {"type": "object", "properties": {"description": {"type": "string", "description": "One sentence about the product"}}}
    steered = about_subject(schema, {"name": "Vantage Camping Lantern", "sku": "YRV-00006", "price": 16.99})
    prompt = generate_messages(steered, instructions=None, index=0)[-1].content
    assert "One sentence about the product" in prompt and "[^" not in prompt and "Vantage" not in prompt


def test_a_record_left_with_only_prose_is_not_told_about_names_dates_and_amounts():
    from apprentice.shapes.prompts import DIFFERENT, VALUES, generate_messages

    description = {"type": "string", "description": "One sentence about the product"}
    prose = {"type": "object", "properties": {"description": description}}
    priced = {"type": "object", "properties": {"description": description, "price": {"type": "number"}}}
    assert VALUES not in generate_messages(prose, instructions=None, index=0)[-1].content
    assert DIFFERENT in generate_messages(prose, instructions=None, index=0)[-1].content, "texts still differ record to record"
    assert VALUES in generate_messages(priced, instructions=None, index=0)[-1].content


def test_realism_defects_are_corrected_only_while_corrections_pay_for_their_tokens():
    from apprentice.records import RepairOdds

    odds = RepairOdds()
    assert odds.correction_pays(), "a run starts by correcting, as for a schema failure"
    for _ in range(20):
        odds.fresh(clean=True, tokens=250)
    for _ in range(RepairOdds.TRIES_FIRST):
        odds.corrected(clean=False, tokens=240)
    assert not odds.correction_pays(), "corrections that never mend cost more per clean record than fresh attempts"
    decisions = [odds.should_correct() for _ in range(2 * RepairOdds.EXPLORE_EVERY)]
    assert decisions.count(True) == 2, "while they do not pay, one correction in ten is still tried"
    good = RepairOdds()
    for _ in range(20):
        good.fresh(clean=False, tokens=250)
        good.corrected(clean=True, tokens=240)
    assert good.correction_pays()


async def test_a_record_whose_correction_does_not_pay_is_made_afresh_and_its_last_chance_is_still_corrected():
    from apprentice.realistic import make_realistic
    from apprentice.records import RecordContext, RecordOutcome, RepairOdds

    odds = RepairOdds(fresh_tries=20, fresh_clean=20, fresh_tokens=5000, correction_tries=5, correction_tokens=1200)
    context = RecordContext(repairs=odds)
    shape = compile_shape({"type": "object", "properties": {"bio": {"type": "string", "description": "A biography"}}})
    echoed = RecordOutcome(index=0, record={"bio": "A biography"}, valid=True)
    refused = await make_realistic(None, default_spec(), shape, echoed, context=context, seed=1, last_chance=False)  # type: ignore[arg-type]
    assert not refused.valid and (refused.reason or "").startswith("realism:") and odds.skipped == 1
    script = Script(chat_reply('{"bio": "Ada Byrne restores old clocks in a small Dublin workshop."}'))
    again = RecordOutcome(index=0, record={"bio": "A biography"}, valid=True)
    mended = await make_realistic(pool_with(script), default_spec(), shape, again, context=context, seed=1, last_chance=True)
    assert mended.valid and len(script.requests) == 1


def test_a_bio_is_steered_to_open_with_its_sketch_the_persons_name_and_job():
    """Steered to start with the first name only, SmolLM2 went on "Tyler Bryant is a
    two-sentence biography about himself" in half the bios."""
    import re

    from apprentice.backends.grammar import grammar_safe
    from apprentice.patterns.given import about_subject, guidance, person_lead

    schema = {"type": "object", "properties": {"bio": {"type": "string", "description": "A two-sentence biography of a person."}}}
    given = {"name": "Tyler Bryant", "job": "Engineer, aeronautical", "interests": ["salsa dancing"]}
    lead = person_lead(given, 3, 0)
    assert lead == "Tyler Bryant is an aeronautical engineer" and lead in guidance(given, 3, 0), "the lead is the sketch's own"
    pattern = grammar_safe(about_subject(schema, given, lead))["properties"]["bio"]["pattern"]
    assert re.match(pattern, "Tyler Bryant is an aeronautical engineer. He dances salsa on Fridays.")
    assert not re.match(pattern, "Tyler Bryant is a two-sentence biography about himself.")
    assert person_lead({"name": "Oakline Desk Lamp", "price": 20.0}, 3, 0) is None, "a product has no person's lead"


def test_a_bio_lead_gives_the_record_a_job_fit_for_its_own_age():
    """Read in a nightly: "Henry Hood is a higher education lecturer", age 18. The persona is drawn
    per attempt with its own age, so the record's age decides."""
    import re

    from apprentice.fieldplan.vocabulary import FIRST_JOBS
    from apprentice.patterns.given import guidance, person_lead

    for seed in range(40):
        young = person_lead({"name": "Henry Hood", "age": 18}, seed, 0)
        older = person_lead({"name": "Henry Hood", "age": 46}, seed, 0)
        assert young is not None and older is not None
        assert re.sub("^Henry Hood is an? ", "", young) in FIRST_JOBS
        assert re.sub("^Henry Hood is an? ", "", older) not in FIRST_JOBS
        assert young in guidance({"name": "Henry Hood", "age": 18}, seed, 0)
        retired = person_lead({"name": "Henry Hood", "age": 81}, seed, 0)  # read in a nightly: a gallery manager at 81
        assert retired == older.replace(" is a ", " is a retired ").replace(" is an ", " is a retired ")
    assert person_lead({"name": "Henry Hood", "age": 81, "job": "Nurse"}, 0, 0) == "Henry Hood is a nurse"  # the record's own job
    assert (
        person_lead({"name": "Henry Hood", "age": 75, "jobTitle": "Engineer, aeronautical"}, 0, 0)
        == "Henry Hood is an aeronautical engineer"
    )
    maintenance = person_lead({"name": "Henry Hood", "age": 40, "job": "Engineer, maintenance (IT)"}, 0, 0)
    assert maintenance == "Henry Hood is a maintenance (IT) engineer"  # read "(it)" in the realism bench
    from apprentice.patterns.given import with_article

    said = [with_article(job) for job in ("IT consultant", "HR manager", "university student", "Hotel manager", "accountant")]
    assert said == ["an IT consultant", "an HR manager", "a university student", "a hotel manager", "an accountant"]


async def test_a_record_whose_budget_runs_out_while_it_is_made_again_is_rejected_with_its_defects_not_lost():
    """On JSONSchemaBench the field plan lost four schemas to the clock: records valid for their
    schema, refused for realism, were remade until the time ran out, and ended as unmade. A slow
    model's refused record now stays a rejection with its defects, in the rejects file."""
    from tests.unit.fakes import Backend, make_pool

    spec = default_spec("profiles").model_copy(update={"record_timeout_s": 0.5})
    _plan, presets = plan_presets(spec, PROFILE, 1, seed=4)
    assert presets is not None
    name = presets[0]["name"]
    echo = Backend(lambda _prompt, _n: {"bio": name}, delay=0.2)  # the third call (the remake) is cut short at 0.5 s
    heard: list = []
    plan = plan_batches(1, 1, 4, presets)[0]
    batch = await generate_batch(make_pool(local=("fast", echo)), spec, PROFILE, plan, record_attempts=3, on_record=heard.append)
    (outcome,) = batch.outcomes
    assert outcome.failure is FailureKind.content and not outcome.unmade
    assert heard == [outcome], "kept as it ends, like any reject, so a killed or unfinished batch's rerun does not make it again"
    assert outcome.record["bio"] == name and outcome.record["email"] == presets[0]["email"]
    assert (outcome.reason or "").startswith("realism: /bio") and "out of time (0.5 s" in (outcome.reason or "")
    assert echo.calls == 3 and len(outcome.calls) == 2, "both answered calls are booked (the cut one never answered)"
    summary = summarise(spec, 1, [batch], PROFILE.json_schema)
    assert (summary.records, summary.invalid, summary.not_made) == (0, 1, 0)


async def test_a_record_that_stays_rejected_keeps_its_nearest_miss_not_its_last_broken_attempt():
    """Refused for realism, then remade into something invalid for its schema: the rejects file
    shows the record that only missed on realism."""
    spec = default_spec("profiles")
    _plan, presets = plan_presets(spec, PROFILE, 1, seed=4)
    assert presets is not None
    name = presets[0]["name"]
    script = Script(chat_reply(json.dumps({"bio": name})), chat_reply(json.dumps({"bio": name})), chat_reply("no JSON here"))
    batch = await generate_batch(pool_with(script), spec, PROFILE, plan_batches(1, 1, 4, presets)[0], record_attempts=2)
    (outcome,) = batch.outcomes
    assert script.requests[-1] is not script.requests[1] and len(script.requests) > 2, "the remake was answered with broken JSON"
    assert outcome.failure is FailureKind.content and outcome.meta["record_attempts"] == 2
    assert outcome.record is not None and outcome.record["bio"] == name
    assert (outcome.reason or "").startswith("realism: /bio")
    assert len(outcome.calls) == len(script.requests), "the broken attempt's calls are still counted"
