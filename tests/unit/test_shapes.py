"""Shapes → schema, unsatisfiable schemas, repair layers, and validation paths."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apprentice.errors import ShapeError, UnsatisfiableSchemaError
from apprentice.shapes.repair import RepairCounts, Unparseable, coerce, parse_json
from apprentice.shapes.schema import compile_shape, load_shape
from apprentice.shapes.validate import validate, validator
from tests.unit.fakes import object_schema

EXAMPLE = {
    "id": 0,
    "price": 0.0,
    "active": True,
    "name": "string",
    "status": "draft|live|retired",
    "created": "ISO-8601",
    "tags": ["string"],
    "owner": {"email": "email"},
}


def test_example_shape_becomes_a_strict_schema():
    shape = compile_shape(EXAMPLE)
    assert shape.kind == "example"
    schema = object_schema(shape)
    props = schema["properties"]
    assert props["id"]["type"] == "integer" and props["price"]["type"] == "number"
    assert props["status"]["enum"] == ["draft", "live", "retired"]
    assert props["created"]["format"] == "date-time"
    assert props["tags"]["items"]["type"] == "string"
    assert props["owner"]["properties"]["email"]["format"] == "email"
    assert schema["additionalProperties"] is False and set(schema["required"]) == set(EXAMPLE)
    good = {**EXAMPLE, "name": "Ada", "created": "2024-01-02T03:04:05Z", "status": "live", "owner": {"email": "a@b.io"}}
    assert validate(good, schema) == []
    assert validate({**good, "status": "gone"}, schema)[0].path == "/status"


def test_json_schema_shape_is_recognised_and_kept():
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "properties": {"a": {"type": "string"}}}
    shape = compile_shape(schema)
    assert shape.kind == "schema" and shape.json_schema == schema


def test_cache_directive_is_read_and_not_part_of_the_schema():
    shape = compile_shape({"$cache": 5, "name": "string"})
    assert shape.cache_variants == 5 and "$cache" not in object_schema(shape)["properties"]


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "object", "properties": {"a": False}, "required": ["a"]}, "/a is the schema `false`"),
        ({"type": "integer", "minimum": 10, "maximum": 1}, "minimum 10 is greater than maximum 1"),
        ({"type": "string", "enum": []}, "empty enum"),
        ({"type": "string", "enum": [1, 2]}, "no enum value is of type string"),
        ({"allOf": [{"type": "string"}, {"type": "integer"}]}, "allOf requires types that do not overlap"),
        ({"$ref": "#/$defs/missing"}, "refers to #/$defs/missing"),
        ({"type": "object", "properties": {}, "required": ["x"], "additionalProperties": False}, "requires 'x'"),
    ],
)
def test_unsatisfiable_schemas_are_rejected_before_any_model_call(schema, reason):
    with pytest.raises(UnsatisfiableSchemaError, match=reason.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")):
        compile_shape(schema, kind="schema")


def test_an_invalid_schema_says_where():
    with pytest.raises(ShapeError, match="not a valid JSON Schema at /properties/a/type"):
        compile_shape({"type": "object", "properties": {"a": {"type": "strng"}}}, kind="schema")


def test_malformed_shape_file_is_one_clear_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"name": "string",,}')
    with pytest.raises(ShapeError, match="is not valid JSON: .* at line 1") as info:
        load_shape(path)
    assert "\n" not in str(info.value)
    with pytest.raises(ShapeError, match="does not exist"):
        load_shape(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("text", "expected", "layer"),
    [
        ('{"a": 1}', {"a": 1}, None),
        ('Sure! Here it is:\n```json\n{"a": 1}\n```', {"a": 1}, "extracted"),
        ('Result: {"a": 1} hope this helps', {"a": 1}, "extracted"),
        ('{"a": 1, "b": [1, 2', {"a": 1, "b": [1, 2]}, "repaired"),
        ("{'a': 1, b: 'x',}", {"a": 1, "b": "x"}, "repaired"),
    ],
)
def test_parse_json_extracts_and_repairs_and_counts(text, expected, layer):
    counts = RepairCounts()
    assert parse_json(text, counts) == expected
    for name in ("extracted", "repaired"):
        assert getattr(counts, name) == (1 if name == layer else 0)


def test_text_without_json_is_unparseable():
    with pytest.raises(Unparseable):
        parse_json("I cannot help with that.", RepairCounts())


def test_coerce_fixes_unambiguous_types_and_counts_them():
    schema = object_schema(compile_shape({"n": 0, "x": 0.0, "ok": True, "s": "string", "tags": ["string"], "e": "A|B"}))
    counts = RepairCounts()
    value = coerce({"n": "42", "x": "3.5", "ok": "yes", "s": 7, "tags": "solo", "e": "b", "extra": 1}, schema, counts)
    assert value == {"n": 42, "x": 3.5, "ok": True, "s": "7", "tags": ["solo"], "e": "B"}
    assert counts.coerced == 7
    assert validate(value, schema) == []


def test_coerce_never_invents_values():
    schema = object_schema(compile_shape({"n": 0}))
    value = coerce({"n": "many"}, schema, RepairCounts())
    assert value == {"n": "many"} and validate(value, schema)[0].path == "/n"


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
        max_leaves=10,
    )
)
def test_any_json_value_survives_fenced_round_trip(value):
    text = f"Here you go:\n```json\n{json.dumps(value)}\n```"
    assert parse_json(text, RepairCounts()) == value


def test_validation_paths_are_json_pointers():
    schema = {"type": "object", "properties": {"a/b": {"type": "array", "items": {"type": "integer", "minimum": 0}}}}
    issues = validate({"a/b": [1, -1]}, schema)
    assert [i.path for i in issues] == ["/a~1b/1"]


@pytest.mark.parametrize("text", ['{"a": [1, 1e999]}', '{"a": [1, -Infinity]}', '{"a": [NaN]}'])
def test_a_number_json_cannot_hold_is_invalid(text):
    """Python reads these as floats and jsonschema calls them numbers, but no JSON document holds them."""
    schema = {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "number"}}}}
    issues = validate(json.loads(text), schema)
    assert len(issues) == 1 and issues[0].path.startswith("/a/") and "is not a JSON number" in issues[0].message
    assert validate({"a": [1, 1e308, -2.5]}, schema) == []
    cents = {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "number", "multipleOf": 0.01}}}}
    assert "is not a JSON number" in validate(json.loads(text), cents)[0].message  # jsonschema alone raises here


def test_rejects_and_meta_rows_are_standard_json_lines(tmp_path):
    from apprentice.formats import JsonLines

    lines = JsonLines(tmp_path / "rejects.jsonl")
    lines.write([{"record": {"reading": float("inf"), "ok": [1.5, float("nan")]}, "reason": "/reading: inf is not a JSON number"}])
    lines.close()
    text = (tmp_path / "rejects.jsonl").read_text()
    assert json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} written")) == {
        "record": {"reading": None, "ok": [1.5, None]},
        "reason": "/reading: inf is not a JSON number",
    }


def test_each_schema_is_validated_in_its_own_dialect_whatever_prefect_registers():
    import prefect  # noqa: F401  (registers its own jsonschema class for the 2020-12 URI)

    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "number", "maximum": 10, "exclusiveMaximum": True}
    assert [i.keyword for i in validate(10, draft4)] == ["maximum"]
    assert validate(9.5, draft4) == []
    modern = {"type": "number", "exclusiveMaximum": 10}  # no $schema: 2020-12
    assert [i.keyword for i in validate(10, modern)] == ["exclusiveMaximum"]
    assert type(validator(modern)).__name__ == "Draft202012Validator"


def test_grammar_schema_loosens_what_crashes_grammar_engines_but_keeps_the_rest():
    from apprentice.backends.grammar import grammar_safe

    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "body": {"type": "string", "maxLength": 131072},
            "id": {"type": "string", "pattern": "^[A-Fa-f\\d]{24}$"},
            "odd": {"type": "string", "pattern": "^(?!admin).*$"},
            "tags": {"type": "array", "minItems": 1000, "items": {"type": "string", "maxLength": 20}},
        },
    }
    safe = grammar_safe(schema)
    props = safe["properties"]
    assert props["body"]["maxLength"] == 160 and props["id"]["pattern"] == "^[A-Fa-f0-9]{24}$", "131,072 repeats became a sensible bound"
    assert "pattern" not in props["odd"] and props["tags"]["minItems"] == 256 and props["tags"]["items"]["maxLength"] == 20
    assert schema["properties"]["body"]["maxLength"] == 131072, "the user's schema is untouched"


def test_fixups_replace_bad_formats_and_break_oneof_ties():
    from apprentice.shapes.fixups import fix
    from apprentice.shapes.repair import RepairCounts
    from apprentice.shapes.validate import validate

    schema = {
        "type": "object",
        "properties": {"to": {"type": "string", "format": "email"}, "at": {"type": "string", "format": "date-time"}},
    }
    record = {"to": "The email address of the recipient", "at": "tomorrow"}
    counts = RepairCounts()
    fixed = fix(record, schema, validate(record, schema), counts)
    assert validate(fixed, schema) == [] and counts.fixed == 2 and record["to"].startswith("The email")

    ambiguous = {
        "oneOf": [
            {"type": "object", "properties": {"id": {"type": "string"}}, "patternProperties": {"^[a-z]+$": {"type": ["string", "number"]}}},
            {"type": "object", "properties": {"id": {"type": "string"}, "rows": {"type": "array"}}},
        ]
    }
    value = {"id": "a1"}
    assert validate(value, ambiguous)[0].keyword == "oneOf"
    chosen = fix(value, ambiguous, validate(value, ambiguous), RepairCounts())
    assert validate(chosen, ambiguous) == [] and chosen["rows"] == []


def test_prose_and_free_lists_are_steered_in_the_grammar_but_not_in_validation():
    from apprentice.backends.grammar import grammar_safe

    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "bio": {"type": "string", "minLength": 1, "description": "A two-sentence biography"},
            "name": {"type": "string", "minLength": 1, "description": "first name"},
            "tags": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        },
    }
    steered = grammar_safe(schema)["properties"]
    assert (steered["bio"]["minLength"], steered["bio"]["maxLength"]) == (30, 250), "a one-word bio cannot be decoded"
    short = grammar_safe({"type": "string", "maxLength": 20, "description": "One sentence"})
    assert short["minLength"] <= short["maxLength"] == 20, "steering never asks for more than the schema allows"
    assert steered["name"] == schema["properties"]["name"] | {"maxLength": 160}, "a plain string is only bounded, not steered as prose"
    assert steered["tags"]["maxItems"] == 5 and steered["tags"]["items"]["maxLength"] == 60
    assert schema["properties"]["bio"]["minLength"] == 1, "the schema records are validated against is untouched"


def test_unbounded_arrays_and_strings_are_bounded_in_the_grammar_only():
    """SmolLM2 ran on to its 1,536-token limit on JSONSchemaBench schemas (one timestamp repeated
    in a string, an array of items without end): a minute per call. The grammar now bounds what
    the schema leaves open, within what the schema allows."""
    from apprentice.backends.grammar import grammar_safe

    schema: dict[str, Any] = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "ts": {"type": "string"},
                "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
                "at": {"type": "string", "format": "date-time"},
                "long": {"type": "string", "minLength": 200},
                "body": {"type": "string", "maxLength": 1000},
                "short": {"type": "string", "maxLength": 20},
                "skins": {"type": "array", "items": {"type": "object"}, "minItems": 4},
                "ids": {"type": "array", "items": {"type": "number"}},
                "pair": {"type": "array", "items": [{"type": "number"}, {"type": "number"}]},
            },
        },
    }
    steered = grammar_safe(schema)
    props = steered["items"]["properties"]
    assert steered["maxItems"] == 3 and props["skins"]["maxItems"] == 4 and props["ids"]["maxItems"] == 5
    assert props["ts"]["maxLength"] == 160 and props["long"]["maxLength"] == 200 and props["body"]["maxLength"] == 160
    assert props["short"]["maxLength"] == 20, "never more than the schema allows"
    assert "maxLength" not in props["code"] and "maxLength" not in props["at"], "a pattern or format already bounds its string"
    assert "maxItems" not in props["pair"], "a tuple is bounded by its items"
    assert steered["items"]["additionalProperties"] is False, "extra keys are where it wrote prose about the record"
    kept_open = [
        {"type": "object", "properties": {"a": {}}, "required": ["b"]},
        {"type": "object", "properties": {"a": {}}, "minProperties": 2},
        {"type": "object", "properties": {"a": {}}, "patternProperties": {"^x": {}}},
        {"type": "object"},
    ]
    assert all("additionalProperties" not in grammar_safe(open_) for open_ in kept_open), "an extra key it may need stays allowed"
    given = schema["items"]
    assert "maxItems" not in schema and "maxLength" not in given["properties"]["ts"], "records are validated against the schema as given"


@pytest.mark.parametrize(
    ("value", "iri", "reference"),
    [
        ("https://例え.jp/パス?q=1", True, True),
        ("/relative/パス", False, True),
        ("http://example.com/a b", False, False),
        ("https://x.org/%zz", False, False),
        ("not an iri", False, False),
    ],
)
def test_iri_formats_are_checked_without_the_iri_grammar_package(value, iri, reference):
    """`iri`/`iri-reference` are judged through RFC 3987's mapping to a URI (non-ASCII percent-encoded)."""
    properties = {"a": {"type": "string", "format": "iri"}, "b": {"type": "string", "format": "iri-reference"}}
    schema = {"type": "object", "properties": properties}
    failed = {e.path[0] for e in validator(schema).iter_errors({"a": value, "b": value})}
    assert ("a" not in failed, "b" not in failed) == (iri, reference)
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "string", "format": "iri"}
    assert not list(validator(draft4).iter_errors("not an iri")), "draft 4 has no iri format"


def test_an_answer_nested_hundreds_deep_is_refused_and_the_batch_goes_on():
    """Seen in JSONSchemaBench: under a recursive schema SmolLM2 nested `[[[[…` 300 deep; keeping
    that record for resume broke pydantic's serialiser and crashed the whole run."""
    import asyncio

    from apprentice.dataset import generate_batch, plan_batches
    from apprentice.workflows import parse_spec

    from .fakes import Backend, make_pool

    with pytest.raises(Unparseable, match="deeper than"):
        parse_json("[" * 300 + "]" * 300, RepairCounts())
    with pytest.raises(Unparseable, match="too deep"):
        parse_json("[" * 5000 + "]" * 5000, RepairCounts())
    assert parse_json('{"a": [[{"b": [1]}]]}', RepairCounts()) == {"a": [[{"b": [1]}]]}

    deep: Any = "x"
    for _ in range(300):
        deep = [deep]
    backend = Backend(lambda prompt, calls: {"city": deep} if calls == 1 else {"city": "Lyon"})
    shape = compile_shape({"city": "string"})
    (plan,) = plan_batches(1, 1, 3, None)
    stages = [{"name": "draft", "role": "generate"}, {"name": "fix", "role": "correct"}]
    spec = parse_spec({"name": "city", "pattern": "correct_loop", "max_rounds": 2, "stages": stages})  # its draft is kept for resume
    batch = asyncio.run(generate_batch(make_pool(local=("fast", backend)), spec, shape, plan, concurrency=1))
    assert [o.record for o in batch.outcomes if o.valid] == [{"city": "Lyon"}]
