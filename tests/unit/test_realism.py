"""Realism checks: each defect is caught with its kind and path; normal data raises no alarm."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apprentice.fieldplan import plan_fields, sample_record
from apprentice.realism import DatasetChecker, DefectKind, check_record, hints_of
from apprentice.shapes.schema import compile_shape
from tests.unit.fakes import object_schema

PROJECT = Path(__file__).resolve().parents[2]

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
SHAPE = object_schema(
    compile_shape(
        {
            "name": "string",
            "email": "email",
            "age": 0,
            "country": "string",
            "plan": "free|pro|enterprise",
            "signed_up_at": "ISO-8601",
            "birthday": "date",
            "bio": "A two-sentence biography",
            "phone": "string",
            "website": "uri",
            "interests": ["string"],
        }
    )
)
CLEAN: dict[str, Any] = {
    "name": "Maria Garcia",
    "email": "maria.garcia@example.net",
    "age": 34,
    "country": "Spain",
    "plan": "pro",
    "signed_up_at": "2023-04-05T14:03:11Z",
    "birthday": "1990-11-02",
    "bio": (
        "Maria Garcia is a pediatric nurse in Valencia who has spent a decade in neonatal care. "
        "Outside work she trains for trail marathons and volunteers at an animal shelter."
    ),
    "phone": "+34 612 345 678",
    "website": "https://mariagarcia.dev/",
    "interests": ["trail running", "pottery", "jazz piano"],
}


def kinds_at(record: dict, schema: dict = SHAPE) -> set[tuple[str, str]]:
    return {(d.kind.value, d.path) for d in check_record(record, schema, now=NOW)}


def test_a_clean_realistic_record_raises_no_alarm():
    assert check_record(CLEAN, SHAPE, now=NOW) == []


@pytest.mark.parametrize(
    "record",
    [
        {**CLEAN, "name": "Dr. Aisha O'Connor-Nakamura", "email": "a.oconnor@example.org"},
        {**CLEAN, "bio": "Former chef turned data analyst (Lisbon, 2019). She writes about food [sic] and statistics."},
        {**CLEAN, "bio": "She fixed 3 < 4 bugs before lunch; the sample size was small, but the test suite passed."},
        {**CLEAN, "bio": 'Runs a night shift at the hospital pharmacy and trains for marathons at dawn (she calls it "therapy")'},
        {**CLEAN, "country": "Bosnia and Herzegovina"},
        {**CLEAN, "bio": "Maria set up the WH-1000XM5 headphones and an RTX4090 rig. She streams at 1080p60."},
        {**CLEAN, "bio": "Maria runs 10.0.0.1 at home, upgraded to 2.1.4 and paid 1.299,50 euros on 25.12.2024."},
        {**CLEAN, "bio": "Sure, the commute is long, but Maria loves her job.\nShe rides a bike to work every day."},
        {**CLEAN, "interests": ["chess", "sample-based music production", "open-water swimming"]},
        {**CLEAN, "website": "https://example.com/maria", "email": "maria.garcia27@example.com"},
        {**CLEAN, "signed_up_at": "2025-12-01T00:00:00Z", "birthday": "1906-01-01"},
        {**CLEAN, "bio": "Maria is a 34-year-old nurse who joined on 2023-04-05. Her 3-year-old cat naps at 10:30 sharp."},
        {**CLEAN, "bio": "Maria, aged 34, has a 12 years old bike she rides to work. She loves pottery."},
        {**CLEAN, "bio": "Maria is a thirty-four-year-old nurse. She runs. She runs a lot more than most nurses do."},
        # seen from `apprentice serve`: a sentence that ends on the object pronoun is whole
        {**CLEAN, "bio": "Maria runs a pottery studio in Valencia. Her sister shares a wide range of interests with her."},
    ],
)
def test_normal_variations_raise_no_alarm(record):
    assert check_record(record, SHAPE, now=NOW) == []


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("bio", "A two-sentence biography of a person.", "echo"),
        ("bio", "a two sentence biography", "echo"),
        ("bio", "Two-sentence biography.", "echo"),
        ("country", "Country", "echo"),
        ("bio", "[Your Bio]", "placeholder"),
        ("bio", "Lorem ipsum dolor sit amet, consectetur adipiscing elit.", "placeholder"),
        ("name", "string", "placeholder"),
        ("name", "<name>", "placeholder"),
        ("name", "John Doe", "placeholder"),
        ("country", "N/A", "placeholder"),
        ("country", "TODO", "placeholder"),
        ("bio", "example", "placeholder"),
        ("bio", "Your bio goes here", "placeholder"),
        ("email", "user@example.com", "placeholder"),
        ("email", "email@example.com", "placeholder"),
        ("email", "user96@example.com", "placeholder"),
        ("phone", "555-555-5555", "placeholder"),
        ("phone", "123-456-7890", "placeholder"),
        ("bio", "She is a chef.]}\nThe bio is indeed two sentences", "debris"),
        ("bio", "type':'array", "debris"),
        ("bio", 'She loves "properties" of {"type": "string"}', "debris"),
        ("bio", 'Maria is a nurse", "age": 34', "debris"),
        ("bio", "Maria is a nurse.\nNote: I kept it to two sentences.", "debris"),
        ("bio", "Here is the bio: Maria is a nurse.", "debris"),
        ("bio", "As an AI language model, I cannot know her life.", "debris"),
        ("bio", "```json Maria is a nurse```", "debris"),
        ("bio", "<p>Maria is a nurse.</p>", "debris"),
        ("bio", "Maria is a **nurse** in Valencia.", "debris"),
        ("bio", "Maria is a nurse.\\nShe runs.", "debris"),
        ("interests", '["hiking", "chess"]', "debris"),
        # seen in a nightly run: the prompt's guidance written into the bio, and bios cut off
        ("bio", "Crystal is a geophysicist who enjoys climbing, starting texts with 'Crystal' and end them.", "debris"),
        (
            "bio",
            "Mike is a pharmacist. He used to work at the Johnson Company, where he was responsible of designing a pharmacy with",
            "truncated",
        ),
        ("bio", "It was a team of people who had been working on this project for 120+", "truncated"),
        # seen in bench/realism.py: a grammar-forced stop after a dangling word, a token soup
        ("bio", "Deanna loves fly fishing, which can be found in any city or!", "truncated"),
        ("bio", "Tyler enjoyed reading, writing and.", "truncated"),
        ("bio", "Andrea Chaney, A2M1R43B0TDW8JP6KYL7HXNZI0S5A is a designer.", "debris"),
        # seen in this session's nightly: slots, footnote markup, the prompt's words again
        ("bio", "John is a restaurant manager who enjoys jazz piano, focusing on [company_name].", "placeholder"),
        ("bio", "Casey is known for her love of [occupation], and pottery.", "placeholder"),
        ("bio", "Corey [^corey.duncan92] is a fantastic person who loves fly fishing.", "debris"),
        # seen in the nightly: a slot with a space, words run together with commas
        ("bio", "Amy Cole is a tourist information centre manager at [City name] in spring.", "placeholder"),
        ("bio", "Crystal Johnson is a recruitment consultant who loves trails. She's,however,notoriety,s!", "debris"),
        ("bio", "Crystal Johnson is a recruitment consultant who loves trails. She's however,notoriety;heresi:!", "debris"),
        # seen in bench/realism.py's products: a regex quantifier after a word
        ("bio", "Corey is a stylish desk mat from a trusted supplier and,#10:One_sentence{29},.", "debris"),
        ("bio", "Sarah is a clinical embryologist who enjoys home brewing. She has started texts about him.", "debris"),
        # seen in bench/realism.py: a JSON "\udf3a" escape decodes to a lone surrogate, which no UTF-8 file can hold
        ("bio", "Maria is a nurse \udf3a in Valencia.", "debris"),
        # seen in this session's nightly: a number soup (a version "2.1.4", a date or an IP address is not one)
        ("bio", "Anne Thomas, 4-Nov-2019 18:35:16.276181.2383587038.98532613.526198.48532613.25, a writer.", "debris"),
        # seen in the nightly: the record's own timestamp copied into the bio
        ("bio", "Maria joined on 2023-04-05T14:03:11Z and loves pottery.", "debris"),
        ("bio", "Maria, signed up at 14:03:11.276181, loves pottery.", "debris"),
        # seen in the nightly: the sketch's instructions copied, a half tag, a sentence said twice
        ("bio", "Joel Smith is a youth worker; started texting with 'He' and refer to him as 'He'", "debris"),
        ("bio", "Amanda Lynch is a curator who starts writing stories with her name.", "debris"),
        ("bio", "Catherine Diaz</bababy-name", "debris"),
        ("bio", "Maria is a nurse. She loves to live life alone. She loves to live life alone.", "debris"),
        ("signed_up_at", "0948-03-01T10:00:00Z", "implausible_date"),
        ("signed_up_at", "2031-01-01T00:00:00Z", "implausible_date"),
        ("birthday", "1850-05-05", "implausible_date"),
        ("birthday", "1901-05-05", "implausible_date"),
        ("age", 150, "implausible_date"),
    ],
)
def test_each_defect_is_caught_with_its_kind_and_path(field, value, kind):
    record = {**CLEAN, field: value}
    if field == "interests":
        record[field] = [value]
    path = f"/{field}/0" if field == "interests" else f"/{field}"
    found = kinds_at(record) - {("broken_constraint", path)}
    assert found == {(kind, path)}, found


@pytest.mark.parametrize(
    "bio",
    [
        "Maria is a 25-year-old nurse in Valencia. She loves pottery.",
        "Aged 71, Maria still runs marathons. She loves pottery.",
        "Maria is a three-year-old Japanese child who has become an athlete.",  # seen in the nightly
        "Maria, a Twenty-Five year old nurse, loves pottery.",
    ],
)
def test_prose_that_states_another_age_than_the_records_is_caught(bio):
    """Seen in the nightly: a bio about someone of another age than the record's own."""
    defects = check_record({**CLEAN, "bio": bio}, SHAPE, now=NOW)
    assert [(d.kind, d.path) for d in defects] == [(DefectKind.BROKEN_CONSTRAINT, "/bio")]
    assert "where the record's age is 34" in defects[0].message


def test_messages_are_one_line_and_quote_the_hint():
    [defect] = check_record({**CLEAN, "bio": "A two-sentence biography of a person."}, SHAPE, now=NOW)
    assert defect.message == "repeats the shape's hint 'A two-sentence biography'"
    [debris] = check_record({**CLEAN, "bio": "Nice.]}\nThe bio is indeed two sentences"}, SHAPE, now=NOW)
    assert "\n" not in debris.message and str(debris).startswith("/bio: ")


def test_hints_come_from_descriptions_titles_and_examples():
    schema = {
        "type": "object",
        "properties": {
            "bio": {"type": "string", "description": "A short biography", "title": "Bio"},
            "tags": {"type": "array", "items": {"type": "string", "examples": ["outdoor gear for rainy days"]}},
            "currency": {"type": "string", "examples": ["USD"]},
            "nested": {"type": "object", "properties": {"note": {"$ref": "#/$defs/note"}}},
        },
        "$defs": {"note": {"type": "string", "description": "One line about the order"}},
    }
    assert hints_of(schema) == {
        "/bio": "A short biography\nBio",
        "/tags/*": "outdoor gear for rainy days",
        "/currency": "USD",
        "/nested/note": "One line about the order",
    }
    record = {"bio": "Bio", "tags": ["Outdoor gear for rainy days."], "currency": "USD", "nested": {"note": "one line about the order"}}
    assert {(d.kind.value, d.path) for d in check_record(record, schema, now=NOW)} == {
        ("echo", "/bio"),
        ("echo", "/tags/0"),
        ("echo", "/nested/note"),
    }  # a short example ("USD") is a fine value, not an echo


def test_enum_values_and_stated_bounds_are_the_schemas_business():
    schema = {
        "type": "object",
        "properties": {
            "status": {"enum": ["string", "test"]},
            "age": {"type": "integer", "minimum": 0, "maximum": 200},
        },
    }
    assert check_record({"status": "test", "age": 150}, schema, now=NOW) == []


def test_schema_breaks_are_reported_as_broken_constraints():
    found = kinds_at({**CLEAN, "plan": "platinum", "email": "not-an-email"})
    assert ("broken_constraint", "/plan") in found and ("broken_constraint", "/email") in found


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_value_can_be_checked(value):
    check_record(value, SHAPE, now=NOW)
    DatasetChecker(SHAPE, now=NOW).add(0, value)


WORDS = st.sampled_from(
    [
        "maria",
        "runs",
        "a",
        "bakery",
        "in",
        "porto",
        "and",
        "loves",
        "long",
        "walks",
        "with",
        "her",
        "dog",
        "near",
        "the",
        "river",
        "every",
        "sunday",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(WORDS, min_size=3, max_size=30), st.sampled_from([". ", ", ", "; ", " - ", "! ", "? ", " (", ") ", "'s "]))
def test_plain_prose_is_never_debris(words, glue):
    text = glue.join(" ".join(words[i : i + 3]) for i in range(0, len(words), 3)).strip()
    found = check_record({**CLEAN, "bio": text}, SHAPE, now=NOW)
    assert all(d.kind is not DefectKind.DEBRIS for d in found), found


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 10**6))
def test_sampled_records_are_realistic(seed, index):
    schema = object_schema(
        compile_shape(
            {
                "name": "string",
                "email": "email",
                "username": "string",
                "age": 0,
                "city": "string",
                "country": "string",
                "phone": "string",
                "company": "string",
                "job_title": "string",
                "created_at": "ISO-8601",
                "updated_at": "ISO-8601",
                "birthday": "date",
                "website": "uri",
                "address": "string",
                "zip": "string",
            }
        )
    )
    record = sample_record(plan_fields(schema), schema, seed=seed, index=index)
    assert check_record(record, schema) == []


def test_duplicate_identifiers_are_caught_case_insensitively():
    checker = DatasetChecker(SHAPE, now=NOW)
    assert checker.add(0, CLEAN) == []
    assert (
        checker.add(
            1,
            {**CLEAN, "email": "ana.lopez@example.com", "bio": "Ana restores old sailboats in Gdansk. She also teaches kayaking to kids."},
        )
        == []
    )
    [dup] = checker.add(
        2, {**CLEAN, "email": "Maria.Garcia@Example.net", "bio": "Piotr builds violins by hand. His workshop smells of spruce and varnish."}
    )
    assert (dup.kind, dup.path) == (DefectKind.DUPLICATE_IDENTIFIER, "/email") and "record 0" in dup.message


def test_identifier_fields_by_name_and_format():
    schema = {
        "type": "object",
        "properties": {"order_id": {"type": "integer"}, "contact": {"type": "string", "format": "email"}, "sku": {}, "note": {}},
    }
    checker = DatasetChecker(schema, now=NOW)
    checker.add(0, {"order_id": 7, "contact": "a.b@example.com", "sku": "ABC-1", "note": "same"})
    found = checker.add(1, {"order_id": 7, "contact": "a.b@example.com", "sku": "abc-1", "note": "same"})
    assert {(d.kind.value, d.path) for d in found} == {("duplicate_identifier", p) for p in ("/order_id", "/contact", "/sku")}


def test_near_duplicate_texts_are_caught_and_different_ones_are_not():
    checker = DatasetChecker(SHAPE, now=NOW)
    checker.add(0, CLEAN)
    other = "Kwame Mensah repairs vintage radios in a small shop in Accra. He spends weekends coaching a youth football team."
    assert checker.add(1, {**CLEAN, "email": "k.mensah@example.org", "bio": other}) == []
    tweaked = CLEAN["bio"].replace("a decade", "ten years")
    [near] = checker.add(2, {**CLEAN, "email": "m.garcia2@example.org", "bio": tweaked})
    assert (near.kind, near.path) == (DefectKind.NEAR_DUPLICATE, "/bio") and "record 0" in near.message
    short = DatasetChecker(SHAPE, now=NOW)
    short.add(0, {**CLEAN, "bio": "Loves chess."})
    assert short.add(1, {**CLEAN, "email": "x.y@example.com", "bio": "Loves chess."}) == []  # under six words


def test_report_sums_up_the_dataset():
    checker = DatasetChecker(SHAPE, now=NOW)
    checker.add(0, CLEAN)
    checker.add(1, {**CLEAN, "email": "maria.garcia@example.net", "bio": "[Your Bio]", "name": "Jon Park"})
    checker.add(2, {**CLEAN, "email": "ana.sousa@example.org", "name": "Ana Sousa", "signed_up_at": "0948-01-01T00:00:00Z"})
    checker.add(
        3,
        {
            **CLEAN,
            "email": "lee.chen@example.com",
            "name": "Lee Chen",
            "bio": "Lee Chen is a ceramicist in Taipei who sells mugs at weekend markets.",
        },
    )
    report = checker.report()
    assert (report.records, report.clean_records, report.clean_share) == (4, 2, 0.5)
    assert report.defects[DefectKind.DUPLICATE_IDENTIFIER] == 1 and report.defects[DefectKind.PLACEHOLDER] == 1
    assert report.defects[DefectKind.NEAR_DUPLICATE] == 1 and report.defects[DefectKind.IMPLAUSIBLE_DATE] == 1
    assert report.defects[DefectKind.ECHO] == 0
    assert report.near_duplicate_rate == 0.25
    assert report.fields["/email"].distinct_ratio == 0.75 and report.fields["/name"].distinct_ratio == 1.0
    assert report.fields["/bio"].defects == {DefectKind.PLACEHOLDER: 1, DefectKind.NEAR_DUPLICATE: 1}
    assert report.model_dump(mode="json")["defects"]["echo"] == 0


def test_sampled_fields_can_be_left_out_of_the_near_duplicate_check():
    schema = {"type": "object", "properties": {"job_title": {"type": "string"}}}
    title = {"job_title": "Programme researcher, broadcasting, film and video"}
    plain, skipping = DatasetChecker(schema), DatasetChecker(schema, no_near_duplicates=["job_title"])
    plain.add(0, title)
    skipping.add(0, title)
    assert [d.kind for d in plain.add(1, title)] == [DefectKind.NEAR_DUPLICATE]
    assert skipping.add(1, title) == []


def test_a_sampled_dataset_is_clean_and_varied():
    schema = object_schema(
        compile_shape(
            {
                "name": "string",
                "email": "email",
                "age": 0,
                "country": "string",
                "signed_up_at": "ISO-8601",
                "bio": "A two-sentence biography",
            }
        )
    )
    plan = plan_fields(schema)
    checker = DatasetChecker(schema, no_near_duplicates=plan.filled_fields())
    for i in range(300):
        record = sample_record(plan, schema, seed=8, index=i) | {
            "bio": f"Record {i} has its own story, told in plain words number {i * 7919}."
        }
        checker.add(i, record)
    report = checker.report()
    assert report.clean_share == 1.0, report.defects
    assert report.fields["/email"].distinct_ratio == 1.0 and report.fields["/name"].distinct_ratio >= 0.95


# Defects seen in a real nightly run of the embedded model (2026-11-29), each caught as its kind.
NIGHTLY_PROFILE = {
    "name": "Linda Snyder",
    "email": "linda.snyder22@example.net",
    "age": 75,
    "country": "Canada",
    "plan": "free",
    "signed_up_at": "2024-05-12T19:53:50Z",
    "bio": "Linda Snyder is a retired nurse who paints watercolours. She lives near the sea.",
    "interests": ["painting", "sailing"],
}


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("bio", "][", "debris"),
        ("bio", "<img src='https://i.example.net/photo.jpg?ref=DM' alt: 'No description yet'", "debris"),
        ("bio", "A-Millionaire", "placeholder"),
        ("bio", "Linda Snyder", "placeholder"),
        ("interests", ["A two-sentence biography of Linda Snyder", "Dover"], "echo"),
        ("interests", ["type", "sailing"], "placeholder"),
        ("interests", ["minItems:", "sailing"], "placeholder"),
        ("bio", "This is a record of the facts for this particular record number 6. It will be updated as data comes.", "debris"),
        ("bio", "This person has two sentences about this person, their personality and interests.", "debris"),
    ],
)
def test_defects_from_a_real_nightly_run_are_caught(field, value, kind):
    schema = object_schema(compile_shape(json.loads((PROJECT / "deployments/user_profile.json").read_text())))
    defects = check_record({**NIGHTLY_PROFILE, field: value}, schema)
    assert [d.kind.value for d in defects] == [kind]
    assert check_record(NIGHTLY_PROFILE, schema) == []


# Seen in the nightly of 2026-11-30 (a fresh clone on a new machine), written as valid records.
@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("bio", "Linda Snyder is a four-year-old veterinary surgeon with a passion for theatre.", "broken_constraint"),
        ("bio", "Linda Snyder is a recruitment consultant. He enjoys sailing, which makes her the go to guy.", "broken_constraint"),
        ("bio", "Linda Snyder is cabin crew. You can meet her at the [address] where she lives.", "placeholder"),
        ("bio", "Linda Snyder paints. She flies over [land] on weekends.", "placeholder"),
        ("bio", "Linda Snyder, a researcher at [Telecom Research Company], enjoys theatre.", "placeholder"),
        ("bio", "Linda Snyder paints watercolours. She wants to stay connected with your.", "truncated"),
        ("bio", "Linda Snyder paints watercolours. She wants to stay connected with your\n.", "debris"),
        ("bio", "Linda Snyder is a nurse. Most people will soon know her story. \n.", "debris"),
    ],
)
def test_defects_from_the_fresh_clone_nightly_are_caught(field, value, kind):
    schema = object_schema(compile_shape(json.loads((PROJECT / "deployments/user_profile.json").read_text())))
    assert [d.kind.value for d in check_record({**NIGHTLY_PROFILE, field: value}, schema)] == [kind]


@pytest.mark.parametrize(
    "bio",
    [
        "Linda Snyder is a retired nurse. She was inspired by Dr. Jim Hart and his care for patients.",
        "Linda Snyder, inspired by her late husband and his garden, grows tomatoes.",  # nobody else starts a sentence
        "Linda Snyder is a painter [1] who lives near the sea. She sells her work at markets.",
    ],
)
def test_other_people_and_citations_in_a_bio_are_not_contradictions(bio):
    schema = object_schema(compile_shape(json.loads((PROJECT / "deployments/user_profile.json").read_text())))
    assert check_record({**NIGHTLY_PROFILE, "bio": bio}, schema) == []


def test_a_name_of_either_gender_or_none_sets_no_pronoun():
    record = {**NIGHTLY_PROFILE, "name": "Zxqv Ortega", "bio": "Zxqv Ortega is a nurse. He paints. She sails."}
    assert [d for d in check_record(record, {"type": "object"}) if d.kind is DefectKind.BROKEN_CONSTRAINT] == []


def test_a_lone_surrogate_is_a_defect_and_does_not_crash_the_dataset_checker():
    record = {**CLEAN, "bio": json.loads('"Maria is a nurse \\udf3a in Valencia."')}
    checker = DatasetChecker(SHAPE, now=NOW)
    checker.add(0, record)
    assert checker.report().defects[DefectKind.DEBRIS] == 1


EVENT_SCHEMA = {"type": "object", "properties": {k: {"type": "string"} for k in ("title", "city", "starts_at", "ends_at")}}
EVENT_RECORD = {"title": "Downtown Jazz Festival", "city": "Paris", "starts_at": "2024-06-19T18:00:00Z", "ends_at": "2024-06-21T23:00:00Z"}


def test_an_event_that_lasts_months_and_a_counted_up_number_are_caught():
    """Seen in the realism bench's model-only path: an event from June to March, 103456789 attendees."""
    long = {**EVENT_RECORD, "ends_at": "2025-03-01T20:12:18Z"}
    assert [(d.kind.value, d.path) for d in check_record(long, EVENT_SCHEMA)] == [("implausible_date", "/ends_at")]
    crowd = {**EVENT_RECORD, "attendees": 103456789}
    assert [(d.kind.value, d.path) for d in check_record(crowd, {"type": "object"})] == [("placeholder", "/attendees")]


def test_a_weekend_festival_a_years_subscription_and_ordinary_numbers_are_fine():
    assert check_record({**EVENT_RECORD, "attendees": 1250}, EVENT_SCHEMA) == []
    subscription = {"plan": "pro", "starts_at": "2024-01-01T00:00:00Z", "ends_at": "2025-01-01T00:00:00Z"}
    assert check_record(subscription, {"type": "object"}) == []
    assert check_record({"id": 120934, "price_cents": 129900, "views": 12345}, {"type": "object"}) == []


def test_a_bio_that_misspells_the_persons_surname_is_caught_and_other_names_are_not():
    """Seen in the realism bench: name "Matthew Larsen", bio "Matthew Larson is a science writer"."""
    record = {**NIGHTLY_PROFILE, "name": "Matthew Larsen", "bio": "Matthew Larson is a science writer. He sails."}
    assert [(d.kind.value, d.path) for d in check_record(record, {"type": "object"})] == [("broken_constraint", "/bio")]
    fine = [
        "Matthew Larsen is a science writer. He sails.",
        "Matthew Larsen met Matthew Perry once. He sails.",
        "Matthew Larsen is a writer; Matthew Loves sailing.",
    ]
    assert all(check_record({**record, "bio": bio}, {"type": "object"}) == [] for bio in fine)


PRODUCT = {
    "sku": "QUT-00043",
    "name": "Brightwater Cast Iron Skillet",
    "description": "Sears steaks evenly and goes from stove to oven.",
    "price": 43.49,
}


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [  # seen in the realism bench's field-plan products, all called clean before
        ("name", "QUT-01256", "placeholder"),
        ("name", "EMPECY_MAGIC_8KFITZELS", "placeholder"),
        ("name", "EMPECY_MAGIC_FITZELS", "placeholder"),
        ("description", "A product description in English.", "debris"),
        ("description", "A top-of-the-line smartwatch band that enhances the user's .", "truncated"),
        ("description", "A skillet for the whole family. The item's price: .", "truncated"),
    ],
)
def test_a_code_for_a_name_and_a_description_about_itself_are_caught(field, value, kind):
    schema = object_schema(
        compile_shape({"sku": "string", "name": "string", "description": "One sentence about the product", "price": 0.0})
    )
    assert [d.kind.value for d in check_record({**PRODUCT, field: value}, schema)] == [kind]
    assert check_record(PRODUCT, schema) == []
    assert check_record({**PRODUCT, "name": "Model X-100 Blender", "sku": "BLD-00100"}, schema) == []
    assert check_record({**PRODUCT, "name": "USB_C Travel Charger"}, schema) == []


@pytest.mark.parametrize(
    ("bio", "kind"),
    [
        ("Linda Snyder is a recruitment consultant, enjoys swimming, who makes his clients feel at home.", "broken_constraint"),
        ("Linda Snyder 1.02.1834 is a dramatherapist who enjoys pottery with her friends.", "implausible_date"),
        ("Linda Snyder is a geologist who loves to love gardening and her tomatoes.", "debris"),
        ("Linda Snyder is a manager. She loves sail sailing on the lake.", "debris"),
        ("Linda Snyder is a manager who enjoys flying. Her name is Linda, and she is a local.", "debris"),
        ("Linda Snyder is a bookseller. She does not use any other people's name.", "debris"),
        ("Linda Snyder is a dramatherapist, born in 1934, who loves to explore the world.", "broken_constraint"),
        ("Linda Snyder is a potter. She has been doing it for over 80 years now.", "broken_constraint"),
        ("Linda Snyder brings 90 years of experience to her pottery classes.", "broken_constraint"),
        ("Linda Snyder paints. She's been painting for ninety years.", "broken_constraint"),
        ("Linda Snyder is a proofreader who loves to write stories about her hobbies.\nLinda's:\n-L.", "debris"),
        ("Linda Snyder is a barrister's clerk. She loves to travel. You've...you've,.", "debris"),
        ("Linda Snyder is a tailor. Her care has earned LindaSnyder...its''.", "debris"),
        # read in the realism bench of 2026-12-01
        ("Linda Snyder is a brewer. She has never traveled abroad before but,\u2026theres.com...heaven-.", "debris"),
        ("Linda Snyder is a brewer. She has never traveled abroad before, heaven-.", "debris"),
    ],
)
def test_defects_read_in_this_sessions_nightly_are_caught(bio, kind):
    """Read by eye in a nightly's 16 written profiles, each called clean by the checker then."""
    schema = object_schema(compile_shape(json.loads((PROJECT / "deployments/user_profile.json").read_text())))
    assert [d.kind.value for d in check_record({**NIGHTLY_PROFILE, "bio": bio}, schema, now=NOW)] == [kind]


def test_an_eighteen_year_old_who_has_done_it_for_twenty_years_is_caught():
    """Read in this session's nightly, written as clean: the place name ("New York City") had
    made the check take "He" for someone else."""
    schema = object_schema(compile_shape(json.loads((PROJECT / "deployments/user_profile.json").read_text())))
    bio = (
        "Henry Hood is a higher education lecturer and fly fishing enthusiast. He loves to fly, enjoying flying over his home "
        "in New York City and has been doing it for over 20 years now."
    )
    henry = {**NIGHTLY_PROFILE, "name": "Henry Hood", "email": "henry.hood45@example.net", "age": 18, "bio": bio}
    defects = check_record(henry, schema, now=NOW)
    assert [(d.kind.value, d.path) for d in defects] == [("broken_constraint", "/bio")]
    assert "20 years" in defects[0].message and "age is 18" in defects[0].message
    assert check_record({**henry, "age": 48}, schema, now=NOW) == []


@pytest.mark.parametrize(
    "bio",
    [
        "Linda Snyder works with Tom on his farm near the coast.",  # someone else is named: "his" may be his
        "Linda Snyder restores clocks made between 1820 and 1850.",  # a bare year is history, not a broken date
        "Linda Snyder met her husband on 12.06.1998 and still sails with him.",
        "Linda Snyder paints day to day and sells her work side by side with her sister.",
        "Linda Snyder walks her dog. She loves the walks along the river.",  # the same word twice, or apart, is fine
        "Linda Snyder loves to paint; painting is her way to rest.",
        "Linda Snyder, born in 1950 in Halifax, taught music for forty years.",  # 75 in 2025: the record's age
        "Linda Snyder has sailed for 75 years, since the day she was born.",  # as long as her life is possible
        "Linda Snyder lives in a house that has stood for 200 years.",  # the house's years, not hers
        "Linda Snyder paints harbours, e.g., at dawn, and sells them at 10:30 a.m. on Sundays...",
        "Linda Snyder runs the farm her family has worked for over 100 years.",
        "Her grandfather's shop sold clocks for 120 years. Linda Snyder keeps it open.",
        "Linda Snyder took over her grandfather's shop, open for 120 years.",
        "Linda Snyder teaches at a school with over 100 years of tradition.",
        "Linda Snyder teaches 300 years of European history.",
        "Linda Snyder's parents opened a bakery in 1950. They ran it for 80 years.",
    ],
)
def test_others_named_history_and_idioms_are_not_defects(bio):
    schema = object_schema(compile_shape(json.loads((PROJECT / "deployments/user_profile.json").read_text())))
    assert check_record({**NIGHTLY_PROFILE, "bio": bio}, schema, now=NOW) == []


@pytest.mark.parametrize(
    "description",
    [
        "{{#1}} This product is not available at [Currency].",
        "{Juniper Sunglasses} A luxurious pair of sunglasses, perfect for any occasion.",
        "Willow Smart Watch Band 2.0 is a stylish smartwatch featuring [X] a long-lasting [Y].",
    ],
)
def test_template_slots_inside_product_prose_are_placeholders(description):
    """Seen in the realism bench's product descriptions on SmolLM2-135M."""
    schema = {"type": "object", "properties": {"description": {"type": "string", "description": "One sentence about the product"}}}
    assert DefectKind.PLACEHOLDER in {d.kind for d in check_record({"description": description}, schema)}
    clean = "Willow Smart Watch Band is a soft silicone strap (size M) that clips on in seconds."
    assert not check_record({"description": clean}, schema)


PRICED_PRODUCT = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "price": {"type": "number"}, "description": {"type": "string"}},
}


def test_a_product_that_is_no_kitchen_ware_described_as_food_is_a_broken_constraint():
    """Seen in the realism bench: "Foxglove Classic Rain Jacket … Makes a delicious and delightful breakfast of bacon"."""
    schema = PRICED_PRODUCT
    jacket = {"name": "Foxglove Classic Rain Jacket", "price": 69.99, "description": "Foxglove Classic Rain Jacket is tasty."}
    assert [d.kind for d in check_record(jacket, schema)] == [DefectKind.BROKEN_CONSTRAINT]
    tasty_pots = ("Terracotta Plant Pot is a delicious terracotta pot for herbs.", "Terracotta Plant Pot is glazed. The pot is delicious.")
    for pot in tasty_pots:
        record = {"name": "Terracotta Plant Pot", "price": 19.0, "description": pot}  # garden goods: the pot itself called tasty
        assert [d.kind for d in check_record(record, schema)] == [DefectKind.BROKEN_CONSTRAINT], pot
    for fine in (
        {"name": "Terracotta Plant Pot", "price": 19.0, "description": "Terracotta Plant Pot drains well; grow delicious basil on a sill."},
        {"name": "Fernhill Cast Iron Skillet", "price": 40.0, "description": "Fernhill Cast Iron Skillet bakes a breakfast frittata."},
        {"name": "Juniper Scented Candle", "price": 20.0, "description": "Juniper Scented Candle has a delicious vanilla scent."},
        {"name": "Oakline Desk Lamp", "price": 60.0, "description": "Oakline Desk Lamp has a linen shade and a warm, dimmable bulb."},
    ):
        assert check_record(fine, schema) == [], fine
    event = {"title": "Tennis Racket", "description": "A delicious brunch after the match."}  # no price, no SKU: not a product
    assert check_record(event, {"type": "object", "properties": {"title": {"type": "string"}, "description": {"type": "string"}}}) == []


@pytest.mark.parametrize(
    ("name", "description"),
    [  # read in the realism bench of 2026-12-01, each passed as clean
        ("Zephyr Plant Pot", "Zephyr Plant Pot is a sustainable plant pot. It's delicious, perfect for people who love plants."),
        ("Brightwater Everyday Plant Pot", "Brightwater Everyday Plant Pot is a gourmet, sustainable home-based product."),
        ("Foxglove Classic Rain Jacket", "Foxglove Classic Rain Jacket is infused with a subtle blend of flavors."),
        ("Marlow Compact Bike Helmet", "Marlow Compact Bike Helmet is one of the best you've ever had, and I'm not going to ignore it."),
    ],
)
def test_products_called_tasty_or_described_by_a_reviewer_are_broken_constraints(name, description):
    schema = PRICED_PRODUCT
    record = {"name": name, "price": 20.0, "description": description}
    assert [d.kind for d in check_record(record, schema)] == [DefectKind.BROKEN_CONSTRAINT]


@pytest.mark.parametrize(
    ("name", "description"),
    [
        ("Fernhill Cast Iron Skillet", "Fernhill Cast Iron Skillet is gourmet cookware. Cook delicious meals with this skillet."),
        ("Cobalt Ceramic Mug", "Cobalt Ceramic Mug: enjoy delicious coffee in this ceramic mug."),
        ("Terracotta Plant Pot", "Terracotta Plant Pot drains well. Grow delicious basil in this pot."),
        ("Juniper Scented Candle", "Juniper Scented Candle: its delicious scent makes this candle a gift."),
        ("Alder Lite Fountain Pen", "Alder Lite Fountain Pen is a Type I nib from Part I of our range; I make each one by hand."),
        ("Corvid Linen Shirt", "Corvid Linen Shirt is a relaxed fit; pre- and post-season sizes differ."),
    ],
)
def test_food_talk_about_something_else_and_an_i_that_is_no_review_are_fine(name, description):
    schema = PRICED_PRODUCT
    assert check_record({"name": name, "price": 20.0, "description": description}, schema) == []


def test_a_review_may_say_i():
    schema = {"type": "object", "properties": {k: {"type": "string"} for k in ("name", "sku", "description", "review")}}
    skillet = {"name": "Fernhill Cast Iron Skillet", "sku": "UKL-00010", "description": "Fernhill Cast Iron Skillet is gourmet cookware."}
    assert check_record(skillet, schema) == []
    review = {**skillet, "review": "I've cooked on it every day for a year and it still sears well."}
    assert check_record(review, schema) == []
    quoted = {**skillet, "description": 'Fernhill Cast Iron Skillet: "I use it daily," says chef Ana Ruiz.'}
    assert check_record(quoted, schema) == []


def test_a_text_quoting_another_price_than_the_records_is_a_broken_constraint():
    schema = {
        "type": "object",
        "properties": {"price": {"type": "number"}, "currency": {"type": "string"}, "description": {"type": "string"}},
    }
    lamp = {"price": 113.99, "currency": "EUR"}
    for wrong in ("A steal at $130, with a brass base.", "Yours for 113.99 dollars.", "Only 99 euros and it lasts."):
        defects = check_record({**lamp, "description": wrong}, schema)
        assert [(d.kind, d.path) for d in defects] == [(DefectKind.BROKEN_CONSTRAINT, "/description")], wrong
    for fine in ("Worth every one of its €113.99.", "Priced at 113.99 EUR, with a 2-year warranty.", "A brass base and 3 bulbs."):
        assert check_record({**lamp, "description": fine}, schema) == [], fine
    assert check_record({"price": 20, "description": "It costs $20, a fair $20."}, schema) == []
    for deal, price in (
        ("Weighs just 2 pounds and folds flat.", 49.99),
        ("Buy 2 for $10 this week only.", 5),
        ("Now $5 off the usual price.", 20),
        ("Free shipping on orders over $50, always.", 1299),
        ("Down from $100 since the spring sale.", 80),
        ("Save 10 dollars today: it was $20.", 10),
        ("Priced at $1,299 with a stand.", 1299),
    ):
        assert check_record({"price": price, "description": deal}, schema) == [], deal
    assert check_record({"price": 113.99, "currency": "EUR", "description": "Costs 113,99 euros in every shop."}, schema) == []
    assert check_record({"price": 20, "currency": "CAD", "description": "A fair $20 for a lamp."}, schema) == []
    booking = {"client_name": "Ann Lee", "email": "ann@example.net", "price": 240, "description": "Parking is $15 per night there."}
    assert check_record(booking, {"type": "object", "properties": {k: {} for k in booking}}) == [], "not a product: a person's booking"


def test_template_slots_outside_prose_are_values():
    schema = {"type": "object", "properties": {"path": {"type": "string"}, "cell": {"type": "string"}}}
    assert check_record({"path": "/users/{Id}/orders", "cell": "from [A1] to [C3]"}, schema) == []


def test_prose_with_table_cells_is_debris():
    schema = {"type": "object", "properties": {"description": {"type": "string", "description": "One sentence about the product"}}}
    row = {"description": "Willow Smart Watch Band (2019) | Amazon Revenge | 2020 | Amazon 2020-2023."}
    assert [d.kind for d in check_record(row, schema)] == [DefectKind.DEBRIS]
    assert check_record({"description": "Willow Smart Watch Band is a soft strap | fits all wrists."}, schema) == []


@pytest.mark.parametrize(
    "bio",
    [
        "James Clark is a quantity surveyor, but I'll provide you with everything you need to craft your own biography.",
        "Scott Powers is a higher education careers adviser with two sentences on his personal interests and hobbies.",
    ],
)
def test_a_bio_that_talks_about_writing_a_bio_is_debris(bio):
    """Seen on SmolLM2-135M with the bio steered to start with the person's name and job."""
    schema = {"type": "object", "properties": {"bio": {"type": "string", "description": "A two-sentence biography of a person."}}}
    assert DefectKind.DEBRIS in {d.kind for d in check_record({"bio": bio}, schema)}
    assert not check_record({"bio": "Scott Powers is a careers adviser. He runs marathons and coaches a youth team."}, schema)


@pytest.mark.parametrize(
    ("bio", "kind"),
    [
        ("Jimmy Scott is a minerals surveyor. He enjoys knitting, one of the passions of mine.", DefectKind.BROKEN_CONSTRAINT),
        ("Jimmy Scott is a minerals surveyor. A few months ago, I started her own company.", DefectKind.BROKEN_CONSTRAINT),
        ("Jimmy Scott is an editorial assistant. He enjoys being creative in any way he can. He.", DefectKind.TRUNCATED),
        # the nightly of 2026-12-01: "me" and "us" are the first person too
        ("Jimmy Scott is a minerals surveyor who loves hiking. Do it with me today.", DefectKind.BROKEN_CONSTRAINT),
    ],
)
def test_a_third_person_bio_that_slips_into_the_first_person_or_ends_on_a_pronoun(bio, kind):
    """Seen in the nightly of 2026-11-30."""
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "bio": {"type": "string", "description": "A short biography"}}}
    assert kind in {d.kind for d in check_record({"name": "Jimmy Scott", "bio": bio}, schema)}
    clean = {"name": "Jimmy Scott", "bio": "Jimmy Scott is a minerals surveyor. He brews his own beer and knits scarves for his nieces."}
    assert check_record(clean, schema) == []
    quoted = {"name": "Jimmy Scott", "bio": 'Jimmy Scott is a surveyor. "I love maps," he says, and he means it.'}
    assert check_record(quoted, schema) == []
    for bio in (
        "Jimmy Scott is a surveyor who moved to the US from Wales. He maps its rivers.",
        "Jimmy Scott is a historian whose books remind us how cities grow.",
        "Jimmy Scott is a surveyor. \u201cRivers teach me patience,\u201d he says.",
    ):
        assert check_record({"name": "Jimmy Scott", "bio": bio}, schema) == [], bio
    event = {"type": "object", "properties": {"name": {"type": "string"}, "description": {"type": "string"}}}
    assert check_record({"name": "Summer Jazz Night", "description": "Summer Jazz Night returns to the park. Join me there."}, event) == []


PROFILE = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "country": {"type": "string"},
        "interests": {"type": "array", "items": {"type": "string"}},
        "bio": {"type": "string", "description": "A short biography"},
    },
}


@pytest.mark.parametrize(
    "bio",
    [
        # the nightly of 2026-12-01: the record's own fields pasted into its bio
        "Rick Hubbard is a plumber, 57 years old, country: United States, lifestyle: free, interests: birdwatching.",
        "Rick Hubbard is a plumber.\nAge: 57\nInterests: birdwatching",
        # and another: a list item quoted word for word
        "Rick Hubbard is a retail banker. The hobby of his last name is 'volunteering at a food bank'.",
        "Rick Hubbard's hobby is 'volunteering at a food bank'.",  # a possessive's apostrophe opens no quote
    ],
)
def test_a_bio_that_pastes_the_records_fields_is_debris(bio):
    record = {"name": "Rick Hubbard", "age": 57, "country": "United States", "interests": ["volunteering at a food bank"], "bio": bio}
    assert DefectKind.DEBRIS in {d.kind for d in check_record(record, PROFILE)}


@pytest.mark.parametrize(
    "bio",
    [
        "Rick Hubbard is a plumber with one rule: fix it once. He watches birds at dawn, binoculars ready: always.",
        "Rick Hubbard is a plumber who speaks two languages (English: native, Spanish: fluent) and loves birds.",
        "Rick Hubbard is a plumber. He rates his vans plainly. Pros: light, sturdy; Cons: pricey.",
        "Rick Hubbard is a plumber. His motto, 'fix it once', is painted on his van.",
        "Rick Hubbard's van is his office; he's in the United States' busiest county.",
    ],
)
def test_colons_and_quotes_in_prose_that_paste_no_field_are_no_debris(bio):
    record = {"name": "Rick Hubbard", "age": 57, "country": "United States", "interests": ["birdwatching"], "bio": bio}
    assert check_record(record, PROFILE) == []


def test_a_product_quoting_its_own_name_and_structured_notes_are_no_pasted_fields():
    product = {"type": "object", "properties": {"name": {"type": "string"}, "price": {"type": "number"}, "description": {"type": "string"}}}
    lamp = {"name": "Oak Desk Lamp", "price": 49.0, "description": 'The "Oak Desk Lamp" has a brass arm and a linen shade.'}
    assert check_record(lamp, product) == []
    ticket = {"type": "object", "properties": {k: {"type": "string"} for k in ("status", "priority", "notes")}}
    assert check_record({"status": "open", "priority": "high", "notes": "Status: escalated; Priority: urgent"}, ticket) == []
