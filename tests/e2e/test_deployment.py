"""prefect.yaml → `prefect deploy` → a process worker → `prefect deployment run`, on a real server."""

from __future__ import annotations

import json
import os

import pytest

from tests.e2e.nightly_runs import deploy_nightly, run_nightly

pytestmark = pytest.mark.e2e


def test_nightly_deployment_runs_through_a_worker(local_model, prefect_server, project_dir, tmp_path):
    out_dir = tmp_path / "nightly"
    env = {**os.environ, "PWD": str(project_dir), "APPRENTICE_HOME": str(tmp_path / "home")}
    deploy_nightly(project_dir, env)
    job = tmp_path / "job.yaml"
    job.write_text(f"shape: {project_dir / 'tests/data/city.json'}\nn: 3\nbatch_size: 3\nconcurrency: 2\nout_dir: {out_dir}\n")
    flow_run = run_nightly(project_dir, env, job, "2026-11-23")
    assert flow_run.state.is_completed(), flow_run.state
    records = [json.loads(line) for line in (out_dir / "city" / "2026-11-23.jsonl").read_text().splitlines()]
    assert 1 <= len(records) <= 3, "a record the realism checks reject is listed in the rejects file, not written"
