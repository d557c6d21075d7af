"""Bad input through the CLI: one clear line on stderr, exit code 2, before any model is called."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from apprentice.cli import app

runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result.exit_code, (result.stderr or "") + (result.stdout or "")


def test_malformed_shape(tmp_path):
    shape = tmp_path / "bad.json"
    shape.write_text("{nope")
    code, out = run("generate", str(shape), "-n", "1", "--out", str(tmp_path / "o.jsonl"))
    assert code == 2 and "is not valid JSON" in out and len(out.strip().splitlines()) == 1


def test_unsatisfiable_schema(tmp_path):
    shape = tmp_path / "s.schema.json"
    shape.write_text(
        json.dumps({"type": "object", "properties": {"age": {"type": "integer", "minimum": 5, "maximum": 1}}, "required": ["age"]})
    )
    code, out = run("generate", str(shape), "--out", str(tmp_path / "o.jsonl"))
    assert code == 2 and "cannot be satisfied: /age: minimum 5 is greater than maximum 1" in out


@pytest.fixture
def shape(tmp_path):
    path = tmp_path / "city.json"
    path.write_text('{"city": "string"}')
    return path


def backends_file(tmp_path, extra: str = "") -> str:
    path = tmp_path / "backends.toml"
    path.write_text(f'[[backends]]\nname = "remote"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n{extra}')
    return str(path)


def test_unknown_backend_in_spec(tmp_path, shape):
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: w\nstages:\n  - {name: g, role: generate, backend: gpt9}\n")
    code, out = run("generate", str(shape), "--spec", str(spec), "--backends", backends_file(tmp_path))
    assert code == 2 and "stage 'g' names unknown backend 'gpt9' (the pool has: remote)" in out


def test_missing_api_key(tmp_path, shape, monkeypatch):
    monkeypatch.delenv("APPRENTICE_MISSING_KEY", raising=False)
    code, out = run("generate", str(shape), "--backends", backends_file(tmp_path, 'api_key_env = "APPRENTICE_MISSING_KEY"'))
    assert code == 2 and "environment variable APPRENTICE_MISSING_KEY, which is not set" in out


def test_unreachable_backend(tmp_path, shape):
    code, out = run("generate", str(shape), "--backends", backends_file(tmp_path))
    assert code == 2 and "no backend is reachable: 'remote' at http://127.0.0.1:9/v1" in out


def test_bad_backend_file(tmp_path, shape):
    path = tmp_path / "b.toml"
    path.write_text("[[backends]]\nname = 'a'\n")
    code, out = run("generate", str(shape), "--backends", str(path))
    assert code == 2 and "backends.0.base_url: Field required" in out


def test_a_busy_backend_is_not_called_unreachable(monkeypatch):
    """A server that accepts the connection but answers slowly (busy with other requests) is up:
    a run queues behind it instead of failing its preflight."""
    import httpx

    from apprentice.config import BackendConfig
    from apprentice.preflight import reachable

    backend = BackendConfig(name="local", provider="openai", model="m", base_url="http://127.0.0.1:9/v1")

    def raises(error):
        def get(*_args, **_kwargs):
            raise error("slow", request=httpx.Request("GET", "http://127.0.0.1:9/v1/models"))

        return get

    monkeypatch.setattr(httpx, "get", raises(httpx.ReadTimeout))
    assert reachable(backend)
    monkeypatch.setattr(httpx, "get", raises(httpx.ConnectError))
    assert not reachable(backend)
    monkeypatch.setattr(httpx, "get", raises(httpx.ConnectTimeout))
    assert not reachable(backend)


@pytest.mark.parametrize(
    ("error", "code"),
    [("a dead backend", 1), ("a bad shape", 2), ("a bad field override", 2)],
)
def test_a_nightly_run_that_fails_exits_1_and_bad_input_found_inside_it_exits_2(monkeypatch, error, code):
    """The README's exit codes: a run that failed is 1 (the rerun resumes), bad input is 2."""
    from types import SimpleNamespace

    from apprentice import preflight
    from apprentice.errors import BackendUnavailableError, ShapeError
    from apprentice.fieldplan import FieldPlanError
    from apprentice.orchestration import nightly

    raised = {
        "a dead backend": BackendUnavailableError("no backend could serve the request"),
        "a bad shape": ShapeError("/age: bad"),
        "a bad field override": FieldPlanError("field 'bio': unknown sampler 'poem'"),
    }[error]

    async def failed_flow(**_kwargs):
        return SimpleNamespace(result=lambda raise_on_failure: raised, state_details=SimpleNamespace(flow_run_id="r1"), name="Failed")

    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # the command sets it; restored after the test
    monkeypatch.setattr(preflight, "preflight", lambda *_args: None)
    monkeypatch.setattr(nightly, "nightly_generation", failed_flow)
    exit_code, out = run("nightly")
    assert exit_code == code and str(raised) in out
