"""A preview before a long run: a handful of records made through the library (no Prefect flow),
the field plan that made them, and a profile of each field — its types, how varied its values
are, their range or commonest values, and the realism defects found — so that a shape or spec
can be judged in seconds."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from apprentice.backends.booking import Purpose, booked_as
from apprentice.backends.pool import BackendPool
from apprentice.dataset import BatchPlan, generate_batch, plan_presets, realism_report
from apprentice.fieldplan import RecordPlan
from apprentice.numeric import sample
from apprentice.run import open_pool, resolve_shape, resolve_spec, workflow_name
from apprentice.shapes.schema import Shape
from apprentice.workflows import Pattern, WorkflowSpec

TOP_VALUES = 3
VALUE_CHARS = 24


class FieldProfile(BaseModel):
    """One top-level field over the preview's valid records."""

    field: str
    types: list[str] = Field(description="JSON types seen, commonest first")
    distinct_ratio: float
    spread: str = Field(description="min – max for numbers, else the commonest values with their counts")
    defects: dict[str, int] = Field(default_factory=dict, description="realism defects by kind")


class Preview(BaseModel):
    """What `apprentice preview` shows."""

    workflow: str
    records: list[Any]
    rejects: list[dict[str, Any]] = Field(default_factory=list, description="index and reason of each record that could not be made valid")
    field_plan: RecordPlan | None = None
    profiles: list[FieldProfile] = Field(default_factory=list)


async def make_preview(
    shape: str | Path | dict | Shape,
    *,
    spec: str | Path | dict | WorkflowSpec | None = None,
    n: int = 5,
    seed: int = 0,
    pool: BackendPool | None = None,
    backends_file: str | None = None,
) -> Preview:
    """`n` records for `shape` by `spec`'s workflow (default: generate then validate), on `pool`
    (default: one built from `backends_file`, closed afterwards), with their plan and profile.
    Its calls are booked as preview."""
    compiled = resolve_shape(shape)
    workflow = resolve_spec(spec, fallback_name=workflow_name(shape))
    numeric = sample(workflow.statistics, n, seed)[0] if workflow.pattern is Pattern.statistics and workflow.statistics else None
    field_plan, presets = plan_presets(workflow, compiled, n, seed, numeric)
    owned = open_pool(backends_file) if pool is None else None
    serving = owned if owned is not None else pool
    assert serving is not None
    try:
        plan = BatchPlan(index=0, start=0, count=n, seed=seed, total=n, presets=presets)
        with booked_as(Purpose.preview, workflow=workflow.name, version=workflow.version):
            batch = await generate_batch(serving, workflow, compiled, plan)
    finally:
        await (owned.aclose() if owned is not None else serving.flush_calls())
    outcomes = sorted(batch.outcomes, key=lambda o: o.index)
    records = [o.record for o in outcomes if o.valid]
    realism = realism_report(compiled.json_schema, [o for o in outcomes if o.valid])
    defects = {name.lstrip("/"): {str(k): v for k, v in f.defects.items()} for name, f in realism.fields.items()} if realism else {}
    return Preview(
        workflow=workflow.key,
        records=records,
        rejects=[{"index": o.index, "reason": o.reason} for o in outcomes if not o.valid],
        field_plan=field_plan,
        profiles=field_profiles(records, defects),
    )


def field_profiles(records: list[Any], defects: dict[str, dict[str, int]] | None = None) -> list[FieldProfile]:
    """A profile per top-level field of object records (fields in first-seen order), or one
    profile named `value` when the records are not objects."""
    if not records:
        return []
    if not all(isinstance(r, dict) for r in records):
        return [_profile("value", records, {})]
    names = list(dict.fromkeys(k for r in records for k in r))
    return [_profile(name, [r[name] for r in records if name in r], (defects or {}).get(name, {})) for name in names]


def _profile(name: str, values: list[Any], defects: dict[str, int]) -> FieldProfile:
    types = Counter(_json_type(v) for v in values)
    distinct = len({json.dumps(v, sort_keys=True, default=str) for v in values})
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers and len(numbers) == len(values):
        spread = f"{min(numbers)} – {max(numbers)}"
    else:
        common = Counter(_short(v) for v in values).most_common(TOP_VALUES)
        spread = ", ".join(f"{value} ×{count}" for value, count in common)
    return FieldProfile(
        field=name,
        types=[t for t, _ in types.most_common()],
        distinct_ratio=distinct / len(values) if values else 0.0,
        spread=spread,
        defects=defects,
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def render(preview: Preview, console: Console, plan_table: Table | None = None) -> None:
    """The records, the field plan (`plan_table`, as `apprentice plan` prints it) and the profile."""
    console.print(f"[bold]{len(preview.records)} record(s) from {preview.workflow}[/bold]")
    for record in preview.records:
        console.print_json(json.dumps(record, ensure_ascii=False, default=str))
    for reject in preview.rejects:
        console.print(f"record {reject['index']} could not be made valid: {reject['reason']}", highlight=False)
    if plan_table is not None:
        console.print(plan_table)
    if not preview.profiles:
        return
    table = Table("field", "type", "distinct", "range / top values", "realism defects", title="profile")
    for p in preview.profiles:
        defects = ", ".join(f"{kind}: {count}" for kind, count in p.defects.items()) or "–"
        table.add_row(p.field, " | ".join(p.types), f"{p.distinct_ratio:.2f}", p.spread, defects)
    console.print(table)
