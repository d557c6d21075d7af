"""Evolution end to end: a degraded live version, candidates shadow-run on the real model beside
it through the evolve-workflow flow, the winner promoted through the canary steps."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
import yaml
from sqlmodel import select

from apprentice.evolution.registry import versions
from apprentice.evolution.shadow import rollback_live
from apprentice.store.db import session
from apprentice.store.models import ExecutionRecord
from apprentice.workflows import WorkflowSpec
from tests.e2e.nightly_runs import deploy_nightly, run_nightly

pytestmark = pytest.mark.e2e


def test_a_degraded_version_is_evolved_and_the_fix_promoted(local_model, prefect_server, project_dir, tmp_path):
    from prefect.client.orchestration import get_client

    from apprentice.orchestration.evolution import evolve_workflow

    spec = tmp_path / "towns.workflow.yaml"
    # 8 tokens cut every city record short: the live version is degraded
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "evolving-towns",
                "version": "1.0.0",
                "stages": [{"name": "generate", "role": "generate", "max_tokens": 8, "corrections": 0, "temperature": 0.2}],
            }
        )
    )
    report = asyncio.run(
        evolve_workflow(shape=str(project_dir / "tests/data/city.json"), spec=str(spec), shadow_records=6, max_candidates=5)
    )
    assert report.promoted is not None, report
    rows = {v.key: v for v in versions("evolving-towns")}
    promoted = rows[report.promoted]
    assert promoted.status == "live" and promoted.traffic == 1.0 and promoted.parent == "evolving-towns@1.0.0"
    max_tokens = WorkflowSpec.model_validate_json(promoted.spec_json).stages[0].max_tokens
    assert max_tokens is not None and max_tokens > 8, "the promoted fix gives the model room"
    assert [step["traffic"] for step in report.ramp] == [0.1, 0.5, 1.0] and all(step["passed"] for step in report.ramp)
    assert rows["evolving-towns@1.0.0"].status == "retired"

    async def artifact_keys():
        async with get_client() as client:
            return {a.key for a in await client.read_artifacts()}

    assert "evolution-evolving-towns" in asyncio.run(artifact_keys())
    served_runs_follow_the_registry(project_dir, tmp_path, spec, promoted.key)


def served_runs_follow_the_registry(project_dir, tmp_path, spec, promoted: str) -> None:
    """The job's spec file still says 1.0.0; the next `prefect deployment run` of the nightly serves
    the promoted version (its records and executions say so) until that version drifts."""
    env = {**os.environ, "PWD": str(project_dir)}  # the worker's runs share this test's store, and so its registry
    deploy_nightly(project_dir, env)
    job = tmp_path / "served.job.yaml"
    job.write_text(f"shape: {project_dir / 'tests/data/city.json'}\nspec: {spec}\nn: 1\nout_dir: {tmp_path / 'served'}\n")

    def dataset_runs() -> dict[str, str]:
        with session() as db:
            return {row.run_id: f"{row.workflow}@{row.version}" for row in db.exec(select(ExecutionRecord)) if row.kind == "flow"}

    def served(run_key: str) -> str:
        before = dataset_runs()
        run_nightly(project_dir, env, job, run_key)
        facts = [json.loads(line) for line in (tmp_path / "served" / "evolving-towns" / f"{run_key}.meta.jsonl").read_text().splitlines()]
        versions_of_records = {f["version"] for f in facts}
        assert len(versions_of_records) == 1, "a night is served by one version"
        new_runs = {version for run_id, version in dataset_runs().items() if run_id not in before}
        assert new_runs == versions_of_records, "the night's dataset run has an execution row naming the version that served it"
        return versions_of_records.pop()

    assert served("served-1") == promoted
    assert rollback_live("evolving-towns", "evolving-towns@1.0.0", "a drift in a run of the retired version") is None
    assert served("served-2") == promoted, "a drift in a version that is not served changes nothing"
    assert rollback_live("evolving-towns", promoted, "the promoted version drifted") == "evolving-towns@1.0.0"
    assert served("served-3") == "evolving-towns@1.0.0", "after its drift the parent serves again"


def test_a_bad_candidate_is_rejected_and_a_second_workflow_skips_its_mutation(local_model, prefect_server, project_dir, tmp_path):
    from apprentice.backends.pool import BackendPool
    from apprentice.config import load_pool_config
    from apprentice.evolution.mutations import propose
    from apprentice.evolution.registry import avoided_signatures
    from apprentice.evolution.shadow import evolve
    from apprentice.shapes.schema import load_shape
    from apprentice.workflows import parse_spec

    def spec(name: str, version: str, **stage):
        return parse_spec(
            {
                "name": name,
                "version": version,
                "stages": [{"name": "generate", "role": "generate", "corrections": 0, "temperature": 0.2, **stage}],
            }
        )

    live = spec("first-towns", "1.0.0")
    mutation, _ = next((m, c) for m, c in propose(live, limit=10) if m.operator == "tune_temperature")
    bad = spec("first-towns", "1.1.0", temperature=0.5, max_tokens=4)  # deliberately broken: 4 tokens cut every record

    async def run():
        pool = BackendPool(load_pool_config())
        try:
            return await evolve(pool, live, [(mutation, bad)], load_shape(project_dir / "tests/data/city.json"), seeds=list(range(4)))
        finally:
            await pool.aclose()

    report = asyncio.run(run())
    assert report.promoted is None and report.candidates[0].verdict == "rejected" and "validity" in report.candidates[0].reason
    assert mutation.signature in avoided_signatures()
    second = spec("second-towns", "1.0.0")
    assert mutation.signature not in {m.signature for m, _ in propose(second, avoided_signatures(), limit=10)}
