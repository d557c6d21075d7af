"""Big schemas: shown to the model without their optional parts, or refused at once with a reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apprentice.config import load_pool_config, load_settings
from apprentice.errors import ShapeTooLargeError
from apprentice.preflight import check_fits
from apprentice.shapes.budget import fit_schema, floor_tokens, smallest_record
from apprentice.shapes.schema import compile_shape
from apprentice.shapes.validate import validate
from apprentice.workflows import default_spec, parse_spec
from tests.conftest import SHARED, needs_shared


def big_schema(optional: int, required: int = 2, text: int = 200) -> dict:
    props: dict[str, Any] = {f"req{i}": {"type": "string", "format": "date"} for i in range(required)}
    props |= {f"opt{i}": {"type": "object", "description": "x" * text, "properties": {"v": {"type": "integer"}}} for i in range(optional)}
    return {
        "type": "object",
        "properties": props,
        "required": [f"req{i}" for i in range(required)],
        "definitions": {"Unused": {"type": "string"}},
    }


def test_a_big_schema_keeps_its_required_fields_and_fits_the_budget():
    schema = big_schema(optional=120)
    fitted = fit_schema(schema, 6000)
    compact = lambda s: len(json.dumps(s, separators=(",", ":")))  # noqa: E731  (as the prompt shows it)
    assert compact(fitted) <= 6000 < compact(schema) and "definitions" not in fitted, "unused definitions go first"
    assert set(fitted["required"]) == {"req0", "req1"} and set(fitted["required"]) <= set(fitted["properties"])
    assert fitted["additionalProperties"] is False, "a dropped property is forbidden in the grammar, never typed differently"
    assert fit_schema(schema, 6000) is fitted, "fitted once per schema object"
    small = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert fit_schema(small, 6000) is small


@settings(max_examples=40, deadline=None)
@given(optional=st.integers(0, 80), required=st.integers(1, 6), text=st.integers(0, 400), budget=st.sampled_from([1500, 4000, 6000]))
def test_what_the_fitted_schema_allows_the_full_schema_allows(optional, required, text, budget):
    schema = big_schema(optional, required, text)
    fitted = fit_schema(schema, budget)
    record = smallest_record(fitted)
    assert validate(record, fitted) == [] and validate(record, schema) == []


def test_the_smallest_record_follows_refs_branches_and_minimums():
    schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"next": {"$ref": "#/$defs/Node"}, "id": {"type": "integer", "minimum": 3}},
                "required": ["id", "next"],
            }
        },
        "type": "object",
        "required": ["tags", "node", "kind"],
        "properties": {
            "tags": {"type": "array", "minItems": 2, "items": {"type": "string", "minLength": 3}},
            "node": {"$ref": "#/$defs/Node"},
            "kind": {"anyOf": [{"type": "string", "minLength": 40}, {"type": "boolean"}]},
        },
    }
    assert smallest_record(schema) == {"tags": ["xxx", "xxx"], "node": {"id": 3, "next": None}, "kind": False}
    assert floor_tokens(schema) >= 10


def test_a_shape_too_big_for_every_backend_is_refused_in_one_line():
    wide = {
        "type": "object",
        "properties": {f"field_number_{i}": {"type": "string", "description": "a required value"} for i in range(400)},
    }
    wide["required"] = list(wide["properties"])
    pool, settings_ = load_pool_config(), load_settings()
    with pytest.raises(
        ShapeTooLargeError, match=r"about [\d,]+ prompt tokens even without its optional fields.*backend 'local' has a 4,096-token context"
    ):
        check_fits(default_spec("wide"), compile_shape(wide), pool, settings_)
    check_fits(default_spec("wide"), compile_shape({"name": "Ada"}), pool, settings_)  # fits: no error
    parallel = parse_spec(
        {"name": "wide", "pattern": "parallel", "stages": [{"name": "a", "role": "generate", "fields": ["field_number_0"]}]}
    )
    check_fits(parallel, compile_shape(wide), pool, settings_)  # written in parts: not held to the whole shape
    roomy = pool.model_copy(update={"backends": [b.model_copy(update={"context_tokens": 32_000}) for b in pool.backends]})
    check_fits(default_spec("wide"), compile_shape(wide), roomy, settings_)


@needs_shared
def test_the_shared_schemas_over_the_prompt_budget_are_fitted_or_refused():
    checked = refused = 0
    pool, settings_ = load_pool_config(), load_settings()
    for path in sorted((SHARED / "data" / "jsonschemabench").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if len(line) < 6000:
                continue
            schema = json.loads(line)["schema"]
            try:
                shape = compile_shape(schema)
            except Exception:
                continue
            checked += 1
            try:
                check_fits(default_spec("bench"), shape, pool, settings_)
            except ShapeTooLargeError:
                refused += 1
    assert checked >= 40 and refused <= 5, (checked, refused)
