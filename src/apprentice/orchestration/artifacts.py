"""Prefect artifacts for dataset runs: a sample table and a markdown summary."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from apprentice.dataset import DatasetSummary
from apprentice.monitor.status import spend_markdown
from apprentice.records import RecordOutcome


def artifact_key(*parts: str) -> str:
    """Prefect keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")[:100]


def summary_markdown(summary: DatasetSummary, spend: list[str] | None = None) -> str:
    """The run's summary; `spend` (markdown lines: the workflow's model calls by purpose, from the
    ledger) goes after the per-backend table."""
    lines = [
        f"# Dataset `{summary.workflow}@{summary.version}`",
        "",
        f"- records: **{summary.records}** valid of {summary.requested} requested, **{summary.invalid}** invalid",
        f"- tokens: {summary.input_tokens} in / {summary.output_tokens} out; cost ${summary.cost_usd:.4f}",
        f"- batches reused from a previous run: {summary.batches_reused}",
        f"- output: `{summary.out}`" + (f"; rejects with reasons: `{summary.rejects}`" if summary.rejects else ""),
        "",
        "| backend | calls | tokens in | tokens out | cost ($) | model time (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, u in sorted(summary.per_backend.items()):
        lines.append(f"| {name} | {u.calls} | {u.input_tokens} | {u.output_tokens} | {u.cost_usd:.4f} | {u.seconds:.1f} |")
    if spend:
        lines += ["", *spend]
    lines += realism_markdown(summary)
    lines += routing_markdown(summary)
    if summary.from_cache:
        lines += ["", f"{summary.from_cache} records served from `$cache` variants without a model call."]
    if summary.numeric:
        verdict = "passed" if summary.numeric.passed else "FAILED"
        lines += [
            "",
            f"## Statistics path: verification {verdict} (n={summary.numeric.n}, draws={summary.numeric.draws})",
            "",
            "| test | field | statistic | p-value | threshold | passed |",
            "|---|---|---:|---:|---:|---|",
        ]
        for c in summary.numeric.checks:
            p = f"{c.p_value:.4f}" if c.p_value is not None else "–"
            lines.append(f"| {c.test} | {c.field} | {c.statistic:.4f} | {p} | {c.threshold} | {'yes' if c.passed else 'NO'} |")
    return "\n".join(lines)


def routing_markdown(summary: DatasetSummary) -> list[str]:
    """Where the routed pattern sent the run's records (each record's decision and reason are its
    meta row's `routing`)."""
    paths = {k: v for k, v in summary.routing.items() if k != "escalated"}
    if not paths:
        return []
    shares = ", ".join(f"{path}: {count}" for path, count in sorted(paths.items()))
    escalated = summary.routing.get("escalated", 0)
    return [
        "",
        f"## Routing: {shares}; escalated after a failed tier: {escalated}",
        "",
        "Each record's decision and reason: `routing` in its meta row.",
    ]


def realism_markdown(summary: DatasetSummary) -> list[str]:
    """Per field: its source, distinct-value ratio and defects by kind; per run: the clean share."""
    report = summary.realism
    if report is None:
        return []
    sources = {row["field"]: row["source"] for row in summary.field_plan or []}
    lines = [
        "",
        f"## Realism: {report.clean_share:.0%} of {report.records} records without a defect; near-duplicate texts "
        f"{report.near_duplicate_rate:.1%}",
        "",
        "| field | source | distinct | defects |",
        "|---|---|---:|---|",
    ]
    for path, field in report.fields.items():
        defects = ", ".join(f"{k}: {v}" for k, v in field.defects.items()) or "–"
        lines.append(f"| `{path}` | {sources.get(path.lstrip('/'), 'model')} | {field.distinct_ratio:.2f} | {defects} |")
    return lines


PATTERN_CHARS = 80
"""The pattern-metadata column's width: enough to show the tier, score or votes at a glance."""


def sample_rows(sample: list[RecordOutcome], sample_size: int = 20) -> list[dict]:
    """The sample table's rows, in index order: each record's own fields first (what a person
    opens the table for), then whether it is valid and why not, its index, and its pattern
    metadata cut to `PATTERN_CHARS`. A record field that shares one of those names keeps it;
    the run's column is then prefixed with `_`."""
    rows = []
    for outcome in sorted(sample, key=lambda o: o.index)[:sample_size]:
        record = outcome.record if isinstance(outcome.record, dict) else {} if outcome.record is None else {"value": outcome.record}
        row: dict[str, Any] = {k: v if isinstance(v, (str, int, float, bool)) or v is None else json.dumps(v) for k, v in record.items()}
        facts = {
            "valid": outcome.valid,
            "reason": outcome.reason or "",
            "index": outcome.index,
            "pattern": _short(json.dumps(outcome.meta, default=str)) if outcome.meta else "",
        }
        for name, value in facts.items():
            row["_" + name if name in row else name] = value
        rows.append(row)
    return rows


def _short(text: str) -> str:
    return text if len(text) <= PATTERN_CHARS else text[: PATTERN_CHARS - 1] + "…"


async def publish(summary: DatasetSummary, sample: list[RecordOutcome], *, sample_size: int = 20) -> None:
    """The run's summary (with the workflow's model calls by purpose), and a table of its first
    records (`sample`: the run's first outcomes)."""
    rows = sample_rows(sample, sample_size)
    base = artifact_key("dataset", summary.workflow)
    spend = await asyncio.to_thread(spend_markdown, summary.workflow)
    await asyncio.gather(
        acreate_table_artifact(table=rows, key=f"{base}-sample", description=f"First {len(rows)} records"),
        acreate_markdown_artifact(markdown=summary_markdown(summary, spend), key=f"{base}-summary", description="Dataset run summary"),
    )
