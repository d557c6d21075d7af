"""Shapes fuzzed: any example document, any JSON Schema (valid, malformed, unsatisfiable,
recursive, huge, odd patterns/formats/`$ref`s) and any shape file's bytes either become a shape a
run can use — planned, fitted, prompted and validated without an error — or are refused with one
line, before any model is called."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from apprentice.backends.grammar import grammar_safe
from apprentice.backends.pool import BackendPool
from apprentice.dataset import generate_batch, plan_batches, plan_presets
from apprentice.errors import ApprenticeError
from apprentice.shapes.budget import fit_schema, floor_tokens, smallest_record
from apprentice.shapes.prompts import MAX_SCHEMA_CHARS, generate_messages
from apprentice.shapes.schema import Shape, compile_shape, load_shape
from apprentice.shapes.validate import validate
from apprentice.workflows import default_spec
from tests.unit.fakes import chat_reply, pool_config
from tests.unit.fuzzing import FUZZ, JSON_DOCS, ROOT_SCHEMAS, assert_one_line, bench_schemas, huge_schema, json_text, nested


def prepare(shape: Shape, values: list[Any]) -> None:
    """What a run does with a shape before and around its model calls: plan its fields, fit it
    into a prompt and a grammar, count its floor, and validate values against it."""
    plan_presets(default_spec("fuzz"), shape, 2, seed=0)
    fitted = fit_schema(shape.json_schema, MAX_SCHEMA_CHARS)
    generate_messages(fitted, instructions=None, index=0)
    grammar_safe(fitted)
    floor_tokens(shape.json_schema)
    for value in [smallest_record(shape.json_schema), *values]:
        validate(value, shape.json_schema)


def works_or_one_line(document: Any, values: list[Any], *, kind: str | None = None) -> Shape | None:
    try:
        shape = compile_shape(document, kind=kind)  # type: ignore[arg-type]  # fuzzed: any kind, not only the literals
        prepare(shape, values)
        return shape
    except Exception as exc:  # noqa: BLE001 - the property: only a one-line ApprenticeError may escape
        assert_one_line(exc)
        return None


@FUZZ
@given(JSON_DOCS, st.lists(JSON_DOCS, max_size=2))
@example({"x": float("nan")}, [])
def test_any_document_is_a_shape_or_one_line(document, values):
    works_or_one_line(document, values)


@FUZZ
@given(ROOT_SCHEMAS, st.lists(JSON_DOCS, max_size=2))
@example({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, [{}])
@example({"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]}, [{"a": {}}])
@example({"type": "string", "pattern": "[a-z0-9\\.-]+"}, ["a.b"])
@example({"type": "array", "minItems": 10**9, "items": {"type": "string", "minLength": 10**9}}, [[]])
@example({"$ref": "http://example.com/schema.json"}, [1])
@example({"not": {"$defs": {}, "$ref": "#/$defs/a"}}, [1])
@example({"$defs": {}, "$ref": "#foo"}, [1])
@example({"type": "string", "format": "not-a-format", "pattern": "\\p{L}+"}, ["é"])
@example({"type": "number", "minimum": float("nan"), "maximum": float("inf")}, [1])
@example(huge_schema(12, 3), [{}])
def test_any_json_schema_is_usable_or_refused_in_one_line(schema, values):
    works_or_one_line(schema, values, kind="schema")


@FUZZ
@given(st.sampled_from(bench_schemas()) if bench_schemas() else st.just({"type": "object"}), st.lists(JSON_DOCS, max_size=2))
def test_real_world_schemas_are_usable_or_refused_in_one_line(schema, values):
    works_or_one_line(schema, values, kind="schema")


def test_a_value_too_deep_to_validate_against_a_recursive_schema_is_invalid_not_a_crash():
    tree = {"type": "object", "properties": {"child": {"$ref": "#"}}}
    deep: dict = {}
    for _ in range(400):
        deep = {"child": deep}
    issues = validate(deep, tree)
    assert [i.message for i in issues] == ["the value is nested too deeply to be validated"]


def test_a_document_nested_too_deeply_is_refused_in_one_line():
    for document in (nested(3000), {"a": nested(2000, {"b": "string"})}):
        works_or_one_line(document, [])
        works_or_one_line(document, [], kind="schema")


SHAPE_BYTES = st.one_of(
    JSON_DOCS.map(lambda d: json_text(d).encode()),
    ROOT_SCHEMAS.map(lambda d: json_text(d).encode()),
    st.binary(max_size=200),
    st.sampled_from(
        [b"\xff\xfe{}", b'{"a": "\xe9"}', b"", b"\x00", "[" * 100_000 + "]" * 100_000, b'{"a": 1} trailing', b'\xef\xbb\xbf{"a": 1}']
    ),
)


@FUZZ
@given(SHAPE_BYTES, st.sampled_from(["shape.json", "shape.schema.json", "shape"]))
def test_any_shape_file_loads_or_fails_in_one_line(content, name):
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        try:
            load_shape(path)
        except Exception as exc:  # noqa: BLE001
            assert_one_line(exc)


def obeying_backend(answers: list[Any]):
    """A fake model server that answers with the given values in turn (then the last one)."""
    queue = list(answers)

    def answer(_request: httpx.Request) -> httpx.Response:
        value = queue.pop(0) if len(queue) > 1 else queue[0]
        return chat_reply(value if isinstance(value, str) else json.dumps(value, allow_nan=True))

    return answer


@FUZZ
@given(ROOT_SCHEMAS | JSON_DOCS, st.lists(JSON_DOCS | st.text(max_size=30), min_size=1, max_size=4))
def test_a_run_over_any_usable_shape_writes_only_valid_records(document, answers):
    """The whole record pipeline (plan, prompts, parse/repair, coercion, validation, realism,
    corrections, regeneration) over a fuzzed shape and fuzzed model answers: a record is written
    as valid only if it validates against the shape; anything else is a reject with a reason."""
    shape = works_or_one_line(document, [])
    if shape is None:
        return
    spec = default_spec("fuzz")
    _, presets = plan_presets(spec, shape, 2, seed=0)
    (plan,) = plan_batches(2, 2, seed=0, presets=presets)
    pool = BackendPool(
        pool_config({"name": "local"}, attempts=1), transport_factory=lambda _cfg: httpx.MockTransport(obeying_backend(answers))
    )
    try:
        batch = asyncio.run(generate_batch(pool, spec, shape, plan, concurrency=2, record_attempts=2))
    except ApprenticeError as exc:
        assert_one_line(exc)
        return
    for outcome in batch.outcomes:
        if outcome.valid:
            assert validate(outcome.record, shape.json_schema) == []
            json.dumps(outcome.record, allow_nan=False)  # the JSONL line is standard JSON
        else:
            assert outcome.reason and "\n" not in outcome.reason.strip()
