"""Request classes: a class key a person can read, stable for a request and different for requests
a model finds different; the lexical representation finds the nearer of two requests."""

from __future__ import annotations

from apprentice.learning.requests import class_of, features_of, representation, similarity
from apprentice.shapes.schema import compile_shape
from apprentice.workflows import parse_spec

PROFILE = {"name": "string", "email": "email", "age": 0, "bio": "A two-sentence biography", "signed_up_at": "ISO-8601"}
ORDER = {"order_id": "uuid", "customer": "string", "items": [{"sku": "string", "qty": 0, "price": 0.0}], "status": "new|paid|shipped"}
MEASUREMENT = {"sensor": "string", "temperature": 0.0, "humidity": 0.0, "pressure": 0.0, "battery": 0}


def key(example: dict, **kwargs) -> str:
    return class_of(features_of(compile_shape(example).json_schema, **kwargs))


def test_class_of_is_stable_whatever_the_order_of_fields_or_n():
    reordered = dict(reversed(list(PROFILE.items())))
    assert key(PROFILE) == key(PROFILE) == key(reordered) == key(PROFILE, n=5000)


def test_class_of_separates_different_shapes_and_reads_as_words():
    keys = {key(PROFILE), key(ORDER), key(MEASUREMENT)}
    assert len(keys) == 3
    assert key(ORDER).startswith("nested·") and key(PROFILE).startswith("flat·")
    assert "formats" in key(PROFILE) and "numeric" in key(MEASUREMENT)


def test_a_statistics_spec_is_its_own_class():
    spec = parse_spec(
        {"name": "s", "pattern": "statistics", "statistics": {"fields": {"temperature": {"distribution": "normal", "mean": 20, "sd": 3}}}}
    )
    schema = compile_shape(MEASUREMENT).json_schema
    statistics = class_of(features_of(schema, spec))
    assert statistics != class_of(features_of(schema)) and statistics.endswith("statistics")


def test_the_representation_finds_the_nearer_request():
    profile = representation(features_of(compile_shape(PROFILE).json_schema))
    similar = representation(features_of(compile_shape({**PROFILE, "country": "string"}).json_schema))
    order = representation(features_of(compile_shape(ORDER).json_schema))
    assert similarity(profile, profile) == 1.0
    assert similarity(profile, similar) > 0.8 > similarity(profile, order)
