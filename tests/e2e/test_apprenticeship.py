"""The apprenticeship end to end: real model as generator and judge, real Prefect server."""

from __future__ import annotations

import asyncio

import pytest
import yaml
from sqlmodel import select

from apprentice.monitor.apprenticeship import load_state, transitions
from apprentice.store import CallRecord, session
from tests.e2e.conftest import run_flow

pytestmark = pytest.mark.e2e


def monitoring_calls(workflow: str) -> int:
    with session() as s:
        return len(s.exec(select(CallRecord).where(CallRecord.workflow == workflow, CallRecord.purpose == "monitoring")).all())


def latest_artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), sort=ArtifactSort.CREATED_DESC, limit=1
            )

    return asyncio.run(read())[0].data


def test_graduates_stops_judging_then_investigates_a_failure(local_model, prefect_server, project_dir, tmp_path):
    from apprentice.orchestration.dataset import generate_dataset

    spec = tmp_path / "cities.workflow.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "apprenticed-cities",
                "version": "1.0.0",
                "options": {"graduate_after": 3, "stability_tolerance": 1.0},
                "stages": [{"name": "generate", "role": "generate"}, {"name": "check", "role": "validate"}],
            }
        )
    )
    shape = str(project_dir / "tests/data/city.json")

    def run(seed: int, **options):
        return run_flow(
            generate_dataset(
                shape=shape, spec=str(spec), n=2, batch_size=2, out=str(tmp_path / f"{seed}.jsonl"), seed=seed, return_state=True, **options
            )
        )

    assert run(100, monitor=False).is_completed()  # warm the model: a cold first call is not the workflow's latency
    for seed in range(6):  # a run whose records the checks find defects in is refused, not learned: it may take more than 3
        assert run(seed).is_completed()
        if seed == 0:
            assert "/3 |" in latest_artifact("apprenticeship-apprenticed-cities"), "progress counts against the spec's own graduate_after"
        if load_state("apprenticed-cities", "1.0.0").state == "graduated":
            break
    status = latest_artifact("apprenticeship-apprenticed-cities")
    judge_row = next(
        line for line in status.splitlines() if line.startswith("| local |")
    )  # the embedded judge, calibrated on planted defects
    assert any(word in judge_row for word in ("measuring", "reliable", "unreliable")) and "planted" in status
    assert "Good executions rest on:" in status
    assert load_state("apprenticed-cities", "1.0.0").state == "graduated"
    judged = monitoring_calls("apprenticed-cities")
    assert judged >= 3, "every apprentice run was judged"

    for seed in range(10, 12):
        assert run(seed).is_completed()
    assert monitoring_calls("apprenticed-cities") == judged, "graduated runs make no judge calls"
    assert load_state("apprenticed-cities", "1.0.0").executions_graduated == 2

    failed = run(12, backends_file=str(tmp_path / "missing-backends.toml"))  # an injected failure
    assert failed.is_failed()
    assert load_state("apprenticed-cities", "1.0.0").state == "investigating"

    assert run(13).is_completed()  # the next run carries out the investigation with the judges
    row = load_state("apprenticed-cities", "1.0.0")
    moves = [(t.from_state, t.to_state, t.reason) for t in transitions("apprenticed-cities")]
    assert [m[:2] for m in moves[:2]] == [("apprentice", "graduated"), ("graduated", "investigating")]
    last = moves[-1]
    assert last[0] == "investigating" and last[1] == row.state and row.state in ("graduated", "evolving", "critical")
    assert "diagnosis" in last[2] and monitoring_calls("apprenticed-cities") > judged
