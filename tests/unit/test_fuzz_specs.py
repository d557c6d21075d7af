"""Workflow specs and job files fuzzed: wrong types, unknown keys, bad enum values, missing
fields, broken YAML and undecodable bytes are refused in one line; a spec that parses can be
planned against a shape and checked against a pool, or is refused in one line."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from apprentice.dataset import plan_presets
from apprentice.jobs import load_job
from apprentice.preflight import backends_for
from apprentice.shapes.schema import compile_shape
from apprentice.workflows import load_spec, parse_spec
from tests.unit.fakes import pool_config
from tests.unit.fuzzing import FUZZ, JSON_DOCS, SPECS, VALID_SPEC, assert_one_line

PROFILE = compile_shape({"name": "string", "email": "email", "age": 0, "signed_up": "ISO-8601", "plan": "free|pro", "bio": "a short bio"})


def use(spec) -> None:
    """What a run does with a parsed spec before any model call."""
    spec.content_hash  # noqa: B018 - versions hash it
    spec.records_hash  # noqa: B018 - resume keys hash it
    backends_for(spec, pool_config({"name": "remote"}))
    plan_presets(spec, PROFILE, 2, seed=0)


def parses_or_one_line(data, *, source: str = "spec") -> None:
    try:
        use(parse_spec(data, source=source))
    except Exception as exc:  # noqa: BLE001 - the property: only a one-line ApprenticeError may escape
        assert_one_line(exc)


@FUZZ
@given(SPECS)
@example(VALID_SPEC)
@example({**VALID_SPEC, "fields": {"email": {"source": "derived", "from": "nowhere"}}})
@example({**VALID_SPEC, "fields": {"ghost": {"source": "sampled", "sampler": "no_such"}}})
@example({**VALID_SPEC, "stages": [{"name": "g", "role": "generate", "backend": "gpt9"}]})
@example({**VALID_SPEC, "seed_data": {"path": "/nonexistent/rows.csv"}})
@example({**VALID_SPEC, "pattern": "statistics", "statistics": {"fields": {"age": {"distribution": "normal", "mean": 1, "sd": -1}}}})
@example({**VALID_SPEC, "name": "a\nb"})
def test_any_spec_data_is_usable_or_refused_in_one_line(data):
    parses_or_one_line(data)


SPEC_BYTES = st.one_of(
    SPECS.map(lambda d: yaml.safe_dump(d, allow_unicode=True).encode()),
    JSON_DOCS.map(lambda d: yaml.safe_dump(d).encode()),
    st.binary(max_size=120),
    st.sampled_from(
        [
            b"name: w\nstages: [\n",
            b"name: \xff\xfe\n",
            b"\t- a",
            b"{",
            b"",
            b"--- !!python/object:os.system ls\n",
            b"name: w\nname: v\nstages: []\n",
            b"a: &x [*x]\n",
            b"a: !!binary AAAA\n",
        ]
    ),
)


@FUZZ
@given(SPEC_BYTES, st.sampled_from(["spec.yaml", "spec.json", "spec"]))
def test_any_spec_file_loads_or_fails_in_one_line(content, name):
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / name
        path.write_bytes(content)
        try:
            use(load_spec(path))
        except Exception as exc:  # noqa: BLE001
            assert_one_line(exc)


JOBS = (
    st.fixed_dictionaries(
        {},
        optional={
            "shape": st.sampled_from(["city.json", "", "/nonexistent.json", 3]),
            "spec": JSON_DOCS,
            "n": JSON_DOCS | st.integers(-2, 5),
            "batch_size": st.integers(-1, 3),
            "concurrency": JSON_DOCS,
            "out_dir": JSON_DOCS,
            "extra": JSON_DOCS,
        },
    )
    | JSON_DOCS
)


@FUZZ
@given(JOBS.map(lambda d: yaml.safe_dump(d).encode()) | st.binary(max_size=60))
def test_any_job_file_loads_or_fails_in_one_line(content):
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "job.yaml"
        path.write_bytes(content)
        try:
            load_job(path)
        except Exception as exc:  # noqa: BLE001
            assert_one_line(exc)
