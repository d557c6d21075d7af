"""The evolution flow: propose candidate versions, shadow-run them beside the live version,
promote the best through a canary ramp or keep the live one; an artifact shows the comparison.
Triggered by hand (`prefect deployment run 'evolve-workflow/evolve'`), by an Automation on the
`apprentice.workflow.evolving` or `apprentice.trend.*` events, or from code."""

from __future__ import annotations

import json
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.events import emit_event

from apprentice.evolution.mutations import model_proposals as propose_with_model
from apprentice.evolution.mutations import propose
from apprentice.evolution.registry import avoided_signatures, bump, live, versions
from apprentice.evolution.shadow import EvolutionReport, evolve
from apprentice.monitor.apprenticeship import load_state
from apprentice.orchestration.artifacts import artifact_key
from apprentice.orchestration.dataset import resolve_shape, resolve_spec, workflow_name
from apprentice.orchestration.runtime import close_pools, pool_for
from apprentice.workflows import WorkflowSpec


def next_versions(spec: WorkflowSpec, count: int) -> list[str]:
    taken = {v.version for v in versions(spec.name)} | {spec.version}
    out, current = [], spec.version
    while len(out) < count:
        current = bump(current)
        if current not in taken:
            out.append(current)
    return out


@flow(name="evolve-workflow")
async def evolve_workflow(
    shape: str | dict[str, Any],
    spec: str | dict[str, Any] | None = None,
    shadow_records: int = 6,
    max_candidates: int = 3,
    backends_file: str | None = None,
    model_proposals: bool = True,
) -> EvolutionReport:
    """Evolve the live version of `spec`'s workflow (the registry's live version if there is one).

    Candidates: up to `max_candidates` from the rule-based operators, plus (with
    `model_proposals`) up to three stage edits a model proposes as structured JSON."""
    logger = get_run_logger()
    compiled = resolve_shape(shape)
    current = resolve_spec(spec, fallback_name=workflow_name(shape))
    registered = live(current.name)
    if registered is not None:
        current = WorkflowSpec.model_validate_json(registered.spec_json)
    avoided = avoided_signatures()
    proposals = propose(current, avoided, limit=max_candidates)
    try:
        pool = pool_for(backends_file)
        if model_proposals:
            state = load_state(current.name, current.version)
            evidence = {"state": state.state, "last_drift": state.last_drift_reason, "recent": json.loads(state.recent_json)[-5:]}
            seen = {s.content_hash for _, s in proposals} | {current.content_hash}
            for mutation, candidate in await propose_with_model(pool, current, evidence, avoided):
                if candidate.content_hash not in seen:
                    proposals.append((mutation, candidate))
                    seen.add(candidate.content_hash)
        candidates = [(m, s.model_copy(update={"version": v})) for (m, s), v in zip(proposals, next_versions(current, len(proposals)), strict=True)]
        logger.info("evolving %s: %d candidate(s) after avoidance rules", current.key, len(candidates))
        report = await evolve(pool, current, candidates, compiled, seeds=list(range(shadow_records)))
    finally:
        await close_pools()
    event = "promoted" if report.promoted else "rolled_back" if report.rolled_back else "kept"
    emit_event(
        event=f"apprentice.evolution.{event}",
        resource={"prefect.resource.id": f"apprentice.workflow.{current.key}", "prefect.resource.name": current.key},
        payload={"promoted": report.promoted, "candidates": [c.key for c in report.candidates]},
    )
    await acreate_markdown_artifact(markdown=report_markdown(report), key=artifact_key("evolution", current.name), description=f"Evolution of {current.key}")
    return report


def report_markdown(report: EvolutionReport) -> str:
    lines = [f"# Evolution of `{report.live}`: " + (f"promoted `{report.promoted}`" if report.promoted else "rolled back" if report.rolled_back else "live version kept"), "",
             "| candidate | mutation | verdict | validity live → cand. | latency s (valid records) | cost (valid records) | why |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in report.candidates:
        cells = {x.metric: f"{x.live_median:.3g} → {x.candidate_median:.3g} ({x.verdict})" for x in c.comparisons}
        lines.append(f"| {c.key} | `{c.mutation}` | **{c.verdict}** | {cells.get('validity', '–')} | {cells.get('latency_s', '–')} | {cells.get('cost_usd', '–')} | {c.reason} |")
    if report.ramp:
        lines += ["", "Canary ramp: " + " → ".join(f"{s['traffic']:.0%} {'ok' if s['passed'] else 'FAILED'}" for s in report.ramp)]
    return "\n".join(lines)
