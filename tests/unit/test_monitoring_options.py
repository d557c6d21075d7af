"""A workflow's monitoring options are typed: today's defaults, one clear line for a bad or
unknown key, old spec files (and their content hashes) unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from apprentice.errors import ConfigError
from apprentice.monitor.apprenticeship import ApprenticeshipPolicy
from apprentice.monitor.drift import DriftMonitor
from apprentice.monitor.observe import policy_for
from apprentice.workflows import WorkflowSpec, default_spec, load_spec, parse_spec

DEPLOYMENTS = Path(__file__).resolve().parents[2] / "deployments"

# Content hashes of the shipped specs as the code before typed monitoring options computed them:
# a batch cache key or a registered version must not move because the options got a type.
HASHES_BEFORE = {
    "city.consensus.workflow.yaml": "dcee4d49292f62e9",
    "company.statistics.workflow.yaml": "889769a7d64ee8e7",
    "event.correct_loop.workflow.yaml": "0fb8b38ac47a6c00",
    "order.routed.workflow.yaml": "197a92b1b1e2068d",
    "product.parallel.workflow.yaml": "7e55754fcc37092e",
    "review.workflow.yaml": "dde74d8f687b5b13",
    "user_profile.workflow.yaml": "9cfdc3820af42e48",
}


@pytest.mark.parametrize("name", sorted(HASHES_BEFORE))
def test_shipped_specs_load_and_keep_their_content_hash(name):
    spec = load_spec(DEPLOYMENTS / name)
    assert spec.content_hash == HASHES_BEFORE[name]
    if spec.record_timeout_s == WorkflowSpec.model_fields["record_timeout_s"].default:
        assert spec.records_hash == spec.content_hash, "batches keyed before the records hash keep their key"
    longer = spec.model_copy(update={"record_timeout_s": spec.record_timeout_s * 4})
    assert longer.records_hash == spec.records_hash and longer.content_hash != spec.content_hash


def test_a_spec_without_monitoring_options_gets_todays_policy(monkeypatch, tmp_path):
    monkeypatch.setenv("APPRENTICE_DATABASE_URL", f"sqlite:///{tmp_path}/p.db")
    policy = policy_for(default_spec("plain"))
    assert policy == ApprenticeshipPolicy(), "defaults equal the settings' and the detectors' own"
    assert (policy.cusum_k, policy.cusum_h) == (DriftMonitor().k, DriftMonitor().h)


def test_spec_options_override_the_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("APPRENTICE_DATABASE_URL", f"sqlite:///{tmp_path}/p.db")
    monkeypatch.setenv("APPRENTICE_SPOT_CHECK", "0.3")
    spec = parse_spec(
        {**default_spec("tuned").model_dump(mode="json"), "monitoring": {"graduate_after": 7, "cusum_h": 6, "spot_check": 0.0}}
    )
    policy = policy_for(spec)
    assert (policy.graduate_after, policy.cusum_h, policy.spot_check) == (7, 6.0, 0.0), "an explicit 0 is not 'unset'"
    assert policy_for(default_spec("plain")).spot_check == 0.3


def test_options_written_the_old_way_still_count_and_hash_as_before():
    old = parse_spec(
        {**default_spec("legacy").model_dump(mode="json"), "options": {"graduate_after": 3, "stability_tolerance": 1.0, "team": "data"}}
    )
    assert (old.monitoring.graduate_after, old.monitoring.stability_tolerance, old.options) == (3, 1.0, {"team": "data"})
    typed = parse_spec(
        {
            **default_spec("legacy").model_dump(mode="json"),
            "monitoring": {"graduate_after": 3, "stability_tolerance": 1.0},
            "options": {"team": "data"},
        }
    )
    assert typed.content_hash == old.content_hash
    assert typed.content_hash != default_spec("legacy").content_hash, "a monitoring option is part of the version's content"


@pytest.mark.parametrize(
    ("monitoring", "message"),
    [
        ({"graduate_afer": 3}, "monitoring.graduate_afer: Extra inputs are not permitted"),
        ({"graduate_after": 1}, "monitoring.graduate_after: Input should be greater than or equal to 2"),
        ({"spot_check": 2}, "monitoring.spot_check"),
        ({"canary": {"steps": [0.5, 0.1, 1.0]}}, "canary steps rise"),
        ({"canary": {"steps": [0.1, 0.5]}}, "canary steps rise"),
        ({"canary": {"validity_margins": 0.1}}, "monitoring.canary.validity_margins"),
    ],
)
def test_a_bad_or_unknown_monitoring_option_is_one_clear_line(monitoring, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_spec({**default_spec("bad").model_dump(mode="json"), "monitoring": monitoring}, source="w.yaml")
    assert "\n" not in str(info.value) and str(info.value).startswith("w.yaml: ")
