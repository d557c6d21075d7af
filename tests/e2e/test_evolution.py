"""Evolution end to end: a degraded live version, candidates shadow-run on the real model beside
it through the evolve-workflow flow, the winner promoted through the canary steps."""

from __future__ import annotations

import asyncio

import pytest
import yaml

from apprentice.evolution.registry import versions

pytestmark = pytest.mark.e2e


def test_a_degraded_version_is_evolved_and_the_fix_promoted(local_model, prefect_server, project_dir, tmp_path):
    from prefect.client.orchestration import get_client

    from apprentice.orchestration.evolution import evolve_workflow

    spec = tmp_path / "towns.workflow.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "evolving-towns", "version": "1.0.0",
        "stages": [{"name": "generate", "role": "generate", "max_tokens": 8, "corrections": 0, "temperature": 0.2}],
    }))  # fmt: skip  (8 tokens cut every city record short: the live version is degraded)
    report = asyncio.run(evolve_workflow(shape=str(project_dir / "tests/data/city.json"), spec=str(spec), shadow_records=6, max_candidates=5))
    assert report.promoted is not None, report
    rows = {v.key: v for v in versions("evolving-towns")}
    promoted = rows[report.promoted]
    assert promoted.status == "live" and promoted.traffic == 1.0 and promoted.parent == "evolving-towns@1.0.0"
    assert promoted.mutation.startswith("raise_max_tokens")
    assert [step["traffic"] for step in report.ramp] == [0.1, 0.5, 1.0] and all(step["passed"] for step in report.ramp)
    assert rows["evolving-towns@1.0.0"].status == "retired"

    async def artifact_keys():
        async with get_client() as client:
            return {a.key for a in await client.read_artifacts()}

    assert "evolution-evolving-towns" in asyncio.run(artifact_keys())
