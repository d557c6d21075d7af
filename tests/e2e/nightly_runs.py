"""The nightly deployment as a user runs it: prefect.yaml → `prefect deploy` → `prefect deployment
run` → a process worker, on the test session's real Prefect server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from prefect.client.schemas.sorting import FlowRunSort


def prefect(*args: str, cwd: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "prefect", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"prefect {' '.join(args)} failed:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
    return result


def deploy_nightly(project_dir: Path, env: dict[str, str]) -> None:
    """The process work pool and prefect.yaml's `nightly` deployment (again, if they exist)."""
    prefect("work-pool", "create", "apprentice-process", "--type", "process", "--overwrite", cwd=project_dir, env=env)
    prefect("--no-prompt", "deploy", "--name", "nightly", cwd=project_dir, env=env)


def run_nightly(project_dir: Path, env: dict[str, str], job: Path, run_key: str) -> Any:
    """`prefect deployment run` of the nightly with `job`, then one worker pass; the flow run."""
    from prefect.client.orchestration import get_client

    parameters = ("--param", f"job={job}", "--param", f"run_key={run_key}")
    run = prefect("deployment", "run", "nightly-generation/nightly", *parameters, cwd=project_dir, env=env)
    assert "Created flow run" in run.stdout
    prefect("worker", "start", "--pool", "apprentice-process", "--run-once", cwd=project_dir, env=env, timeout=900)

    async def last_run() -> Any:
        async with get_client() as client:
            runs = await client.read_flow_runs(limit=5, sort=FlowRunSort.START_TIME_DESC)
            return [r for r in runs if r.deployment_id is not None][0]

    return asyncio.run(last_run())
