"""Statistics path (numbers sampled and verified, text by the model) and `$cache` variants."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from apprentice.numeric import NumericSpec, sample, verify
from apprentice.patterns import run_pattern
from apprentice.records import RecordContext
from apprentice.shapes.schema import compile_shape
from apprentice.store import engine_for
from apprentice.variants import load_variants, save_variants, serve, variant_key
from apprentice.workflows import default_spec, parse_spec
from tests.unit.fakes import Backend, make_pool

COMPANIES = {
    "fields": {
        "age": {"distribution": "normal", "mean": 35, "sd": 12, "minimum": 18, "maximum": 100, "decimals": 0},
        "headcount": {"distribution": "lognormal", "mu": 4, "sigma": 1, "minimum": 1, "decimals": 0},
        "revenue": {"distribution": "lognormal", "mu": 14, "sigma": 0.9, "decimals": 2},
        "segment": {"distribution": "categorical", "weights": {"smb": 0.6, "mid": 0.3, "enterprise": 0.1}},
    },
    "correlations": [{"x": "headcount", "y": "revenue", "r2": 0.85, "min_r2": 0.8}],
}


def test_thousand_rows_follow_the_spec_and_the_report_says_so():
    spec = NumericSpec.model_validate(COMPANIES)
    rows, report = sample(spec, 1000, seed=7)
    assert report.passed, report
    ages = np.array([r["age"] for r in rows])
    assert ages.min() >= 18 and ages.max() <= 100 and all(isinstance(r["age"], int) for r in rows)
    by_test = {(c.test, c.field): c for c in report.checks}
    p_value = by_test[("ks", "age")].p_value
    assert p_value is not None and p_value >= 0.01
    assert by_test[("r2", "revenue~headcount")].statistic > 0.8
    assert by_test[("chi2", "segment")].passed


def test_verification_catches_a_sample_that_does_not_follow_the_spec():
    spec = NumericSpec.model_validate(COMPANIES)
    rng = np.random.default_rng(0)
    columns = {
        "age": np.clip(rng.normal(45, 12, 1000), 18, 100),  # wrong mean
        "headcount": rng.lognormal(4, 1, 1000) + 1,
        "revenue": rng.lognormal(14, 0.9, 1000),  # independent of headcount
        "segment": rng.choice(["smb", "mid", "enterprise"], 1000, p=[0.2, 0.4, 0.4]),
    }
    failed = {(c.test, c.field) for c in verify(spec, columns) if not c.passed}
    assert {("ks", "age"), ("r2", "revenue~headcount"), ("chi2", "segment")} <= failed


@settings(max_examples=25, deadline=None)
@given(mean=st.floats(-50, 50), sd=st.floats(0.5, 20), low=st.floats(-3, 0), high=st.floats(0.5, 3), seed=st.integers(0, 10_000))
def test_truncated_fields_always_stay_in_bounds(mean, sd, low, high, seed):
    field = {"distribution": "normal", "mean": mean, "sd": sd, "minimum": mean + low * sd, "maximum": mean + high * sd}
    rows, _ = sample(NumericSpec.model_validate({"fields": {"x": field}}), 200, seed)
    values = [r["x"] for r in rows]
    assert min(values) >= field["minimum"] and max(values) <= field["maximum"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"x": {"distribution": "normal", "mean": 1}}, "needs sd"),
        ({"x": {"distribution": "normal", "mean": 0, "sd": 1, "minimum": 50}}, "leave \\(almost\\) nothing"),
        ({"x": {"distribution": "categorical", "weights": {}}}, "weights"),
    ],
)
def test_bad_numeric_specs_are_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        NumericSpec.model_validate({"fields": fields})


def test_statistics_pattern_keeps_the_numbers_and_lets_the_model_write_the_text():
    shape = compile_shape({"company": "string", "age": 0, "headcount": 0, "revenue": 0.0, "segment": "smb|mid|enterprise"})
    spec = parse_spec({"name": "companies", "pattern": "statistics", "statistics": COMPANIES})
    writer = Backend(lambda prompt, _n: {"company": "Fjord Analytics", "age": 999})  # tries to overwrite a number
    pool = make_pool(w=("fast", writer))
    preset = {"age": 40, "headcount": 55, "revenue": 1234567.5, "segment": "mid"}
    outcome = asyncio.run(run_pattern(pool, spec, shape, index=0, context=RecordContext(presets={0: preset})))
    assert outcome.valid and outcome.record == {"company": "Fjord Analytics", **preset}
    assert list(outcome.record) == ["company", "age", "headcount", "revenue", "segment"]


def test_variants_are_served_from_the_store_and_dropped_when_the_shape_changes(tmp_path):
    engine = engine_for(f"sqlite:///{tmp_path}/store.db")
    shape = compile_shape({"$cache": 3, "city": "string"})
    spec = default_spec("cities")
    key = variant_key(spec, shape)
    save_variants(key, "cities", [{"city": "Oslo"}, {"city": "Rome"}, {"city": "Lima"}], engine)
    variants = load_variants(key, engine)
    assert serve(variants, 5, offset=1) == [{"city": c} for c in ("Rome", "Lima", "Oslo", "Rome", "Lima")]
    changed = compile_shape({"$cache": 3, "city": "string", "country": "string"})
    new_key = variant_key(spec, changed)
    assert new_key != key and load_variants(new_key, engine) == []
    save_variants(new_key, "cities", [{"city": "Oslo", "country": "Norway"}], engine)
    assert load_variants(key, engine) == []  # the stale variants are gone


def test_variants_stored_with_a_number_json_cannot_hold_are_made_again(tmp_path):
    """Stored before validation refused `Infinity`: served, they could not be sent (a 500)."""
    engine = engine_for(f"sqlite:///{tmp_path}/store.db")
    save_variants("k", "gauges", [{"reading": 1.5}, {"reading": float("inf")}], engine)
    assert load_variants("k", engine) == []
