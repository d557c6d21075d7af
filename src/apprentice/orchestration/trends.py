"""The daily trend flow: daily aggregates per workflow version from the store, `trends.analyse`
per metric, warnings to the store and as Prefect events, one markdown artifact."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.events import emit_event
from sqlalchemy import func
from sqlmodel import select

from apprentice.monitor.apprenticeship import load_state
from apprentice.store import ExecutionRecord, session, write
from apprentice.store.models import TrendWarning, utcnow
from apprentice.trends import TrendResult, analyse

METRICS = ("latency_s", "validity", "quality", "realism", "cost_usd", "input_tokens", "output_tokens")
BARS = "▁▂▃▄▅▆▇█"


def daily_series(window_days: int) -> dict[tuple[str, str], dict[str, list[float]]]:
    """{(workflow, version): {metric: [daily mean, oldest first]}} from flow-level executions that
    generated something (a run wholly reused or served from `$cache` says nothing of the workflow)."""
    since = utcnow() - timedelta(days=window_days)
    day = func.date(ExecutionRecord.at)
    query = (
        select(ExecutionRecord.workflow, ExecutionRecord.version, day, *(func.avg(getattr(ExecutionRecord, m)) for m in METRICS))
        .where(ExecutionRecord.kind == "flow", ExecutionRecord.state != "Cached", ExecutionRecord.at >= since)
        .group_by(ExecutionRecord.workflow, ExecutionRecord.version, day)
        .order_by(day)
    )
    series: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with session() as s:
        for workflow, version, _day, *values in s.exec(query).all():
            for metric, value in zip(METRICS, values, strict=True):
                if value is not None:  # a day whose runs did not measure it (e.g. served from `$cache`)
                    series[(workflow, version)][metric].append(float(value))
    return series


def sparkline(values: list[float]) -> str:
    low, high = min(values), max(values)
    return "".join(BARS[int((v - low) / (high - low) * (len(BARS) - 1))] if high > low else BARS[0] for v in values)


@flow(name="daily-trends")
async def daily_trends(window_days: int = 30, horizon_days: int = 30, min_days: int = 10) -> list[TrendResult]:
    """Find slow degradation before it breaks: one trend test per workflow version and metric."""
    logger = get_run_logger()
    results: list[tuple[str, str, TrendResult, list[float]]] = []
    for (workflow, version), metrics in daily_series(window_days).items():
        for metric, values in metrics.items():
            if len(values) >= min_days:
                results.append((workflow, version, analyse(metric, values, horizon=horizon_days), values))
    warnings = [(w, v, r) for w, v, r, _ in results if r.warning]

    def store(s) -> None:
        for workflow, version, r in warnings:
            s.add(TrendWarning(workflow=workflow, version=version, metric=r.metric, severity=r.severity or "info",
                               relative_per_week=r.relative_per_week, projection=r.projection, horizon_days=r.horizon_days, reason=r.reason))  # fmt: skip

    if warnings:
        write(store)
    for workflow, version, r in warnings:
        source = json.loads(load_state(workflow, version).source_json or "{}")
        emit_event(
            event=f"apprentice.trend.{r.severity}",
            resource={"prefect.resource.id": f"apprentice.workflow.{workflow}@{version}", "prefect.resource.name": f"{workflow}@{version}"},
            payload={"metric": r.metric, "relative_per_week": r.relative_per_week, "projection": r.projection, "reason": r.reason, **source},
        )
    lines = [f"# Trends over {window_days} days: {len(warnings)} warning(s) in {len(results)} series", "",
             "| workflow@version | metric | daily | %/week (95% CI) | p (pre-whitened MK) | seasonal | projection +{h}d | warning |".replace("{h}", str(horizon_days)),
             "|---|---|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for workflow, version, r, values in results:
        ci = tuple(c / abs(r.level) for c in r.slope_ci_per_week)
        lines.append(f"| {workflow}@{version} | {r.metric} | {sparkline(values)} | {r.relative_per_week:+.1%} ({ci[0]:+.1%}…{ci[1]:+.1%}) | "
                     f"{r.mk_p:.3g} | {r.seasonal_strength:.2f} | {r.projection:.4g} | {r.severity or ''} |")  # fmt: skip
    await acreate_markdown_artifact(markdown="\n".join(lines), key="apprentice-trends", description="Daily trend analysis")
    logger.info("trend analysis: %d series, %d warnings", len(results), len(warnings))
    return [r for _, _, r, _ in results]
