"""The dataset flow and the CLI on the real local model and a real Prefect server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from typing import Any

import pytest
from sqlmodel import select

from apprentice.realism import check_record
from apprentice.shapes.schema import load_shape
from apprentice.shapes.validate import validate
from apprentice.store import CallRecord, ExecutionRecord, session
from tests.e2e.conftest import run_flow

pytestmark = pytest.mark.e2e


def read_jsonl(path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sequential_flow_generates_valid_records_and_feeds_the_store(local_model, prefect_server, project_dir, tmp_path):
    from prefect.client.orchestration import get_client

    from apprentice.orchestration.dataset import generate_dataset

    out = tmp_path / "profiles.jsonl"
    state = run_flow(
        generate_dataset(
            shape=str(project_dir / "deployments/user_profile.json"),
            spec=str(project_dir / "deployments/user_profile.workflow.yaml"),
            n=6,
            batch_size=3,
            out=str(out),
            seed=11,
            return_state=True,
        )
    )
    summary = state.result()
    schema = load_shape(project_dir / "deployments/user_profile.json").json_schema
    records = read_jsonl(out)
    # a 135M model's bio may stay unusable after corrections: such a record is rejected, never written
    assert len(records) == summary.records >= 1 and summary.records + summary.invalid == 6
    assert all(validate(r, schema) == [] and check_record(r, schema) == [] for r in records)
    assert summary.realism is not None and summary.realism.clean_share == 1.0
    assert summary.per_backend["local"].calls >= 6, "the profile stage calls the model for each record"
    assert len({r["email"] for r in records}) == len(records) and summary.field_plan is not None

    with session() as s:
        stages = {row.stage for row in s.exec(select(ExecutionRecord).where(ExecutionRecord.workflow == "user-profiles"))}
        calls = s.exec(select(CallRecord).where(CallRecord.workflow == "user-profiles")).all()
    assert {"profile", "check"} <= stages, "identity's fields are all sampled, so it needs no model call"
    assert "profile" in {c.stage for c in calls} and "identity" not in {c.stage for c in calls} and all(c.backend == "local" for c in calls)

    async def artifacts():
        async with get_client() as client:
            return await client.read_artifacts()

    keys = {a.key for a in asyncio.run(artifacts())}
    assert {"dataset-user-profiles-sample", "dataset-user-profiles-summary"} <= keys


def finished_batches(stage_rows: Iterable[ExecutionRecord]) -> int:
    """Batches (run one at a time) every step of which has finished: a step's row written by a
    later batch's stage task means the batches before it ran all their steps. A batch killed
    between its steps is not reused whole, only its finished steps."""
    runs_per_step: dict[str, set[str]] = {}
    for row in stage_rows:
        runs_per_step.setdefault(row.stage, set()).add(row.run_id.split(":")[0])
    return max((len(runs) for runs in runs_per_step.values()), default=0) - 1


def test_killed_dataset_run_resumes_without_duplicates(local_model, prefect_server, project_dir, tmp_path):
    out = tmp_path / "resume.jsonl"
    shape = str(project_dir / "tests/data/city.json")
    args = [
        sys.executable,
        "-c",
        "import asyncio, sys; from apprentice.orchestration.dataset import generate_dataset as g; "
        f"asyncio.run(g(shape={shape!r}, n=6, batch_size=2, "
        f"parallel_batches=1, concurrency=2, seed=5, out={str(out)!r}))",
    ]
    process = subprocess.Popen(args, env=os.environ.copy(), start_new_session=True)
    deadline = time.monotonic() + 300
    done_batches = 0
    while time.monotonic() < deadline and done_batches < 1:
        time.sleep(0.5)
        with session() as s:
            rows = s.exec(select(ExecutionRecord).where(ExecutionRecord.workflow == "city", ExecutionRecord.kind == "task")).all()
        done_batches = finished_batches(rows)
        assert process.poll() is None, "the run finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert done_batches >= 1 and not out.exists()

    from apprentice.orchestration.dataset import generate_dataset

    with session() as s:
        calls_before = len(s.exec(select(CallRecord).where(CallRecord.workflow == "city", CallRecord.purpose == "generation")).all())
    summary = asyncio.run(
        generate_dataset(
            shape=shape,
            n=6,
            batch_size=2,
            parallel_batches=1,
            concurrency=1,
            seed=5,
            out=str(out),
        )
    )
    assert summary.batches_reused >= 1
    records = read_jsonl(out)
    assert len(records) == 6
    assert len({json.dumps(r, sort_keys=True) for r in records}) == 6, "no record is duplicated"
    with session() as s:
        new_calls = (
            len(s.exec(select(CallRecord).where(CallRecord.workflow == "city", CallRecord.purpose == "generation")).all()) - calls_before
        )
    assert new_calls < summary.per_backend["local"].calls, "reused batches made no new model calls"


def test_cli_generate_writes_valid_records(local_model, prefect_server, project_dir, tmp_path):
    out = tmp_path / "out.jsonl"
    shape = project_dir / "tests/data/city.json"
    result = subprocess.run(
        [sys.executable, "-m", "apprentice.cli", "generate", str(shape), "-n", "5", "--out", str(out)],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    records = read_jsonl(out)
    schema = load_shape(shape).json_schema
    assert len(records) == 5 and all(validate(r, schema) == [] for r in records)
    assert f"wrote 5 valid records to {out}" in result.stdout.replace("\n", "")


def test_a_dask_task_runner_spreads_the_batches_over_worker_processes_and_resumes_there(local_model, prefect_server, project_dir, tmp_path):
    distributed = pytest.importorskip("distributed")
    from prefect_dask import DaskTaskRunner

    from apprentice.orchestration.dataset import generate_dataset

    shape = str(project_dir / "tests/data/city.json")
    out = tmp_path / "dask.jsonl"
    kwargs: dict[str, Any] = dict(shape=shape, n=4, batch_size=2, concurrency=1, out=str(out), seed=23, monitor=False)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        # A TaskRunner of PrefectDaskFuture: with_options' parameter is invariant in the future type.
        flow = generate_dataset.with_options(task_runner=DaskTaskRunner(address=cluster.scheduler_address))  # type: ignore[arg-type]
        with distributed.get_task_stream(client) as stream:
            first = run_flow(flow(**kwargs))
        records = read_jsonl(out)
        again = run_flow(flow(**kwargs))

    assert len(stream.data) >= 2, "each batch ran as a task on the cluster"
    schema = load_shape(shape).json_schema
    assert first.records == first.generated == len(records) == 4 and all(validate(r, schema) == [] for r in records)
    assert (again.batches_reused, again.generated) == (2, 0) and read_jsonl(out) == records


def test_a_hundred_events_on_the_real_model_have_no_realism_defect(local_model, prefect_server, tmp_path):
    """The field plan samples the city, the dates and the organiser's email; the model writes the
    title and the attendance; every written record passes every realism check, across batches."""
    from apprentice.orchestration.dataset import generate_dataset
    from apprentice.realism import DatasetChecker

    shape = tmp_path / "event.json"
    shape.write_text(
        json.dumps(
            {
                "title": "string",
                "city": "string",
                "starts_at": "ISO-8601",
                "ends_at": "ISO-8601",
                "attendees": 0,
                "organizer_email": "email",
            }
        )
    )
    out = tmp_path / "events.jsonl"
    summary = asyncio.run(generate_dataset(shape=str(shape), n=100, batch_size=25, concurrency=2, out=str(out), seed=3))
    records = read_jsonl(out)
    assert len(records) == summary.records >= 90, "a record the checks still find defects in is rejected, never written"
    checker = DatasetChecker(load_shape(shape).json_schema)
    for index, record in enumerate(records):
        checker.add(index, record)
    report = checker.report()
    assert report.clean_share == 1.0, report.defects
    assert report.fields["/organizer_email"].distinct_ratio == 1.0 and report.near_duplicate_rate <= 0.02
    assert all(r["ends_at"] > r["starts_at"] for r in records)
