"""The daily-trends flow on a real Prefect server over a store with 30 days of executions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import insert
from sqlmodel import select

from apprentice.store import ExecutionRecord, default_engine, session
from apprentice.store.models import TrendWarning, utcnow

pytestmark = pytest.mark.e2e


def test_trend_flow_warns_on_the_degrading_workflow_only(prefect_server):
    from prefect.client.orchestration import get_client

    from apprentice.orchestration.trends import daily_trends

    rng = np.random.default_rng(0)
    now = utcnow()
    rows = []
    for name, growth in (("slowing-down", 0.02), ("steady", 0.0)):
        for day in range(30):
            for i in range(20):
                rows.append(
                    {
                        "run_id": f"{name}-{day}-{i}",
                        "kind": "flow",
                        "at": now - timedelta(days=29 - day, hours=1),
                        "workflow": name,
                        "version": "1.0.0",
                        "state": "Completed",
                        "latency_s": float(2.0 * (1 + growth * day) * rng.lognormal(0, 0.1)),
                        "validity": 1.0,
                        "quality": 1.0,
                        "cost_usd": 0.001,
                        "input_tokens": 500,
                        "output_tokens": 300,
                    }
                )
    with default_engine().begin() as conn:
        conn.execute(insert(ExecutionRecord), rows)

    results = asyncio.run(daily_trends())
    with session() as s:
        warned = {(w.workflow, w.metric) for w in s.exec(select(TrendWarning)).all()}
    assert ("slowing-down", "latency_s") in warned and not any(w == "steady" for w, _ in warned)
    assert any(r.metric == "latency_s" and r.warning for r in results)

    async def artifact():
        async with get_client() as client:
            return [a for a in await client.read_artifacts() if a.key == "apprentice-trends"]

    assert "slowing-down@1.0.0" in asyncio.run(artifact())[0].data
