"""prefect.yaml → `prefect deploy` → a process worker → `prefect deployment run`, on a real server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from prefect.client.schemas.sorting import FlowRunSort

pytestmark = pytest.mark.e2e


def prefect(*args: str, cwd, env, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "prefect", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"prefect {' '.join(args)} failed:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
    return result


def test_nightly_deployment_runs_through_a_worker(local_model, prefect_server, project_dir, tmp_path):
    from prefect.client.orchestration import get_client

    out_dir = tmp_path / "nightly"
    env = {**os.environ, "PWD": str(project_dir), "APPRENTICE_HOME": str(tmp_path / "home")}
    prefect("work-pool", "create", "apprentice-process", "--type", "process", cwd=project_dir, env=env)
    prefect("--no-prompt", "deploy", "--name", "nightly", cwd=project_dir, env=env)
    job = tmp_path / "job.yaml"
    job.write_text(f"shape: {project_dir / 'tests/data/city.json'}\nn: 3\nbatch_size: 3\nconcurrency: 2\nout_dir: {out_dir}\n")
    run = prefect(
        "deployment",
        "run",
        "nightly-generation/nightly",
        "--param",
        f"job={job}",
        "--param",
        "run_key=2026-11-23",
        cwd=project_dir,
        env=env,
    )
    assert "Created flow run" in run.stdout
    prefect("worker", "start", "--pool", "apprentice-process", "--run-once", cwd=project_dir, env=env, timeout=900)

    async def last_run():
        async with get_client() as client:
            runs = await client.read_flow_runs(limit=5, sort=FlowRunSort.START_TIME_DESC)
            return [r for r in runs if r.deployment_id is not None][0]

    flow_run = asyncio.run(last_run())
    assert flow_run.state.is_completed(), flow_run.state
    records = [json.loads(line) for line in (out_dir / "city" / "2026-11-23.jsonl").read_text().splitlines()]
    assert 1 <= len(records) <= 3, "a record the realism checks reject is listed in the rejects file, not written"
