"""The daily trend flow: `trends.analyse_store` over every workflow version and metric, its
warnings stored and sent as Prefect events, one markdown artifact."""

from __future__ import annotations

import json

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.events import emit_event

from apprentice.monitor.apprenticeship import load_state
from apprentice.trends import TrendResult, analyse_store, save_warnings, trends_markdown


@flow(name="daily-trends")
async def daily_trends(window_days: int = 30, horizon_days: int = 30, min_days: int = 10) -> list[TrendResult]:
    """Find slow degradation before it breaks: one trend test per workflow version and metric."""
    trends = analyse_store(window_days, horizon_days, min_days)
    warned = save_warnings(trends)
    for workflow, version, _, r in warned:
        source = json.loads(load_state(workflow, version).source_json or "{}")
        emit_event(
            event=f"apprentice.trend.{r.severity}",
            resource={"prefect.resource.id": f"apprentice.workflow.{workflow}@{version}", "prefect.resource.name": f"{workflow}@{version}"},
            payload={
                "metric": r.metric,
                "relative_per_week": r.relative_per_week,
                "projection": r.projection,
                "reason": r.reason,
                **source,
            },
        )
    await acreate_markdown_artifact(
        markdown=trends_markdown(trends, window_days, horizon_days), key="apprentice-trends", description="Daily trend analysis"
    )
    get_run_logger().info("trend analysis: %d series, %d warnings", len(trends), len(warned))
    return [t.result for t in trends]
