"""Outages on the real model server and a real Prefect server: a run that could not make its
records fails loudly and resumes exactly; a dead embedded server is restarted and the run delivers;
an interrupted run ends in one line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from prefect.client.schemas.sorting import FlowRunSort

from apprentice.backends import local
from apprentice.config import load_settings
from apprentice.errors import RunIncomplete
from tests.e2e.conftest import run_flow

pytestmark = pytest.mark.e2e


def read_jsonl(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def finished_batches() -> int:
    """Result files Prefect persisted: one per finished stage task of a batch."""
    folder = load_settings().results_dir
    return len(list(folder.iterdir())) if folder.is_dir() else 0


def completed_batches() -> int:
    """Batch subflows (`workflow@version/batch-N`) the Prefect API has seen complete: a whole
    batch, where a result file is only one of its stages."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    completed = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED])))

    async def count() -> int:
        async with get_client() as client:
            runs = await client.read_flow_runs(flow_run_filter=completed, limit=200)
            return sum(1 for r in runs if "/batch-" in (r.name or ""))

    return asyncio.run(count())


def wait_for(condition: Callable[[], bool], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.5)


def server_process() -> psutil.Process:
    """The llama.cpp server itself (the child of the `sh` that apprentice launches it under)."""
    server = local.LocalServer.from_settings(load_settings())
    return psutil.Process(int(server.pid_file.read_text())).children()[0]


def backends_file(tmp_path: Path, url: str) -> Path:
    """The real local server, but as a plain backend apprentice does not look after."""
    path = tmp_path / "plain.toml"
    path.write_text(
        f'[[backends]]\nname = "plain"\nbase_url = "{url}"\nmodel = "smollm2-135m-instruct"\n'
        'structured_output = "llama_cpp"\ntimeout_s = 60\nmax_concurrency = 2\n[retry]\nattempts = 2\ninitial_wait_s = 0.2\n'
    )
    return path


def test_a_model_server_that_dies_by_sigill_mid_run_is_restarted_and_the_run_delivers_every_record(
    local_model, prefect_server, project_dir, tmp_path
):
    from apprentice.orchestration.dataset import generate_dataset

    server = local.LocalServer.from_settings(load_settings())
    starts_before = server.log_file.read_text().count(local.START_MARK)
    victim = server_process()
    baseline = finished_batches()

    def kill_after_first_batch() -> None:
        wait_for(lambda: finished_batches() > baseline)
        victim.send_signal(signal.SIGILL)  # what a build with CPU features the machine lacks does

    killer = threading.Thread(target=kill_after_first_batch, daemon=True)
    killer.start()
    out = tmp_path / "restart.jsonl"
    state = run_flow(
        generate_dataset(
            shape=str(project_dir / "tests/data/city.json"),
            n=6,
            batch_size=2,
            parallel_batches=1,
            concurrency=1,
            seed=101,
            out=str(out),
            monitor=False,
            return_state=True,
        )
    )
    killer.join(timeout=5)
    assert not victim.is_running(), "the server was killed mid-run"
    assert state.is_completed(), state.message
    assert state.result().records == 6 and len(read_jsonl(out)) == 6
    assert server.log_file.read_text().count(local.START_MARK) == starts_before + 1, "restarted exactly once"


def test_an_outage_fails_the_run_keeps_what_was_made_and_the_rerun_makes_only_the_rest(local_model, prefect_server, project_dir, tmp_path):
    from prefect.client.orchestration import get_client

    out = tmp_path / "outage.jsonl"
    plain = backends_file(tmp_path, local_model)
    command = [
        sys.executable,
        "-m",
        "apprentice.cli",
        "generate",
        str(project_dir / "tests/data/city.json"),
        "-n",
        "8",
        "--batch-size",
        "2",
        "--concurrency",
        "1",
        "--seed",
        "202",
        "--out",
        str(out),
        "--backends",
        str(plain),
    ]
    baseline = completed_batches()
    run = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: completed_batches() > baseline or run.poll() is not None)
        server = local.LocalServer.from_settings(load_settings())
        local.stop(server)  # the backend goes away mid-run; apprentice does not own it here
        _stdout, stderr = run.communicate(timeout=300)
    finally:
        local.start(local.LocalServer.from_settings(load_settings()))
    made = read_jsonl(out)
    assert run.returncode == 1, stderr[-2000:]
    assert f"failed: made {len(made)} of 8 records" in " ".join(stderr.split()), stderr[-2000:]
    assert "Traceback" not in stderr
    assert 2 <= len(made) < 8

    async def last_dataset_state():
        async with get_client() as client:
            runs = await client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=5)
            return next((r.state.name if r.state else None) for r in runs if r.name and r.parameters.get("out") == str(out))

    assert asyncio.run(last_dataset_state()) == "Failed"

    again = subprocess.run(command, env=os.environ.copy(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    records = read_jsonl(out)
    assert len(records) == 8 and len({json.dumps(r, sort_keys=True) for r in records}) == 8
    assert all(r in records for r in made), "what the failed run made is kept, not made again"


def test_a_run_whose_backends_all_fail_ends_failed_and_says_so(prefect_server, project_dir, tmp_path):
    from apprentice.orchestration.dataset import generate_dataset

    dead = backends_file(tmp_path, "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    out = tmp_path / "nothing.jsonl"
    state = run_flow(
        generate_dataset(
            shape=str(project_dir / "tests/data/city.json"), n=3, out=str(out), backends_file=str(dead), monitor=False, return_state=True
        )
    )
    assert state.is_failed()
    failure = state.result(raise_on_failure=False)
    assert isinstance(failure, RunIncomplete) and failure.summary is not None and failure.summary.not_made == 3
    assert "made 0 of 3 records; 3 were not made because backends failed" in str(failure)
    assert read_jsonl(out) == []


def test_an_interrupted_run_ends_in_one_line_and_the_same_command_resumes(local_model, prefect_server, project_dir, tmp_path):
    out = tmp_path / "interrupted.jsonl"
    command = [
        sys.executable,
        "-m",
        "apprentice.cli",
        "generate",
        str(project_dir / "tests/data/city.json"),
        "-n",
        "6",
        "--batch-size",
        "2",
        "--concurrency",
        "1",
        "--seed",
        "303",
        "--out",
        str(out),
    ]
    baseline = finished_batches()
    run = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: finished_batches() > baseline or run.poll() is not None)
    run.send_signal(signal.SIGTERM)
    _stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if line.strip() and "| INFO" not in line and "| WARNING" not in line]
    assert len(lines) == 1 and lines[0].startswith("interrupted: "), stderr[-2000:]
    assert "run the same command again to resume" in lines[0]

    again = subprocess.run(command, env=os.environ.copy(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(read_jsonl(out)) == 6
