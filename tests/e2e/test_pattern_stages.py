"""What the Prefect UI shows of a pattern, read from the Prefect API instead of a screenshot: each
batch a subflow named after its pattern, each stage a task with its own state and duration."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlmodel import select

from apprentice.store import ExecutionRecord, session
from apprentice.workflows import load_spec
from tests.e2e.conftest import run_flow

pytestmark = pytest.mark.e2e

BRANCHES = ["details", "pricing", "inventory"]


async def pattern_runs(flow_run_id: Any) -> tuple[list[Any], dict[str, str], list[Any]]:
    """The dataset run's subflow runs, their flows' names, and every task run of them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId

    async with get_client() as client:
        subflows = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
        )
        flows = {str(run.id): (await client.read_flow(run.flow_id)).name for run in subflows}
        tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id for run in subflows])))
    return subflows, flows, tasks


def test_a_parallel_batch_is_a_subflow_with_a_task_per_branch_and_a_merge_task(local_model, prefect_server, project_dir, tmp_path):
    from apprentice.orchestration.dataset import generate_dataset

    spec = load_spec(project_dir / "deployments/product.parallel.workflow.yaml")
    # the model writes every field, so every branch has work (with the field plan, prices are sampled and `pricing` is left out)
    state = run_flow(
        generate_dataset(
            shape=str(project_dir / "deployments/product.json"),
            spec=spec.model_dump(mode="json") | {"sampling": False},
            n=2,
            batch_size=2,
            out=str(tmp_path / "products.jsonl"),
            seed=11,
            monitor=False,
            return_state=True,
        )
    )
    subflows, flows, tasks = asyncio.run(pattern_runs(state.state_details.flow_run_id))

    (batch,) = subflows
    assert (flows[str(batch.id)], batch.name, batch.state_name) == ("parallel", "products@1.0.0/batch-0", "Completed")
    by_name = {task.name: task for task in tasks}
    stages = [f"{stage}/batch-0" for stage in [*BRANCHES, "merge", "check"]]
    assert set(stages) <= set(by_name), sorted(by_name)
    for name in stages:
        task = by_name[name]
        assert task.state_name == "Completed" and task.start_time and task.end_time, (name, task.state_name)
        assert task.total_run_time.total_seconds() > 0
    branches = [by_name[f"{b}/batch-0"] for b in BRANCHES]
    assert max(b.start_time for b in branches) < min(b.end_time for b in branches), "the branches ran at once"
    assert by_name["merge/batch-0"].start_time >= max(b.end_time for b in branches), "the merge waits for every branch"

    with session() as s:  # the stage tasks' hooks wrote an execution row per stage
        rows = s.exec(select(ExecutionRecord).where(ExecutionRecord.run_id == f"{by_name['pricing/batch-0'].id}:pricing")).all()
    assert [(r.stage, r.records, r.state) for r in rows] == [("pricing", 2, "Completed")]
