"""Backend file, settings and workflow specs: clear errors for bad config, stable content hashes."""

from __future__ import annotations

import pytest

from apprentice.config import load_pool_config
from apprentice.errors import ConfigError
from apprentice.workflows import WorkflowSpec, load_spec


def test_embedded_default_points_at_the_local_port(monkeypatch):
    monkeypatch.setenv("APPRENTICE_LOCAL_PORT", "9999")
    config = load_pool_config()
    (local,) = config.backends
    assert local.embedded and local.base_url == "http://127.0.0.1:9999/v1" and local.structured_output == "llama_cpp"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[backends]\nname=", "is not valid TOML"),
        ('[[backends]]\nname = "a"\nbase_url = "ftp://x"\nmodel = "m"', "base_url must start with http"),
        ('[[backends]]\nname = "a"\nbase_url = "http://x"\nmodel = "m"\ntier = "gold"', "backends.0.tier"),
        (
            '[[backends]]\nname = "a"\nbase_url = "http://x"\nmodel = "m"\n[[backends]]\nname = "a"\nbase_url = "http://y"\nmodel = "m"',
            "repeated: a",
        ),
        ('[[backends]]\nname = "a"\nbase_url = "http://x"\nmodel = "m"\nenabled = false', "no backend is enabled"),
        ('[[backends]]\nname = "a"\nbase_url = "http://x"\nmodel = "m"\napi_key = "sk-1"', "api_key: Extra inputs"),
    ],
)
def test_bad_backend_file_is_one_clear_line(tmp_path, text, message):
    path = tmp_path / "backends.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_pool_config(path)
    assert "\n" not in str(info.value)


def test_missing_backend_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_pool_config(tmp_path / "nope.toml")


def _spec(**changes) -> WorkflowSpec:
    base = {"name": "w", "stages": [{"name": "g", "role": "generate"}, {"name": "v", "role": "validate"}]}
    return WorkflowSpec.model_validate({**base, **changes})


def test_content_hash_follows_behaviour_not_names():
    assert _spec().content_hash == _spec(name="other", version="9.9.9").content_hash
    changed = _spec(stages=[{"name": "g", "role": "generate", "temperature": 0.1}, {"name": "v", "role": "validate"}])
    assert changed.content_hash != _spec().content_hash
    assert _spec().key == "w@1.0.0"


def test_spec_round_trips_through_json():
    spec = _spec()
    assert WorkflowSpec.model_validate_json(spec.model_dump_json()) == spec


def test_bad_spec_file_is_one_clear_line(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("name: w\nstages:\n  - name: g\n    role: dream\n")
    with pytest.raises(ConfigError, match=r"stages\.0\.role"):
        load_spec(path)
    path.write_text("name: w\nstages:\n  - name: e\n    role: enrich\n")
    with pytest.raises(ConfigError, match="starts with a generate stage"):
        load_spec(path)
