"""What the apprenticeship is fed after a dataset run: the run as an `Observation` (its metrics,
`monitor/metrics.py`) and the `ApprenticeshipPolicy` its spec's monitoring options make."""

from __future__ import annotations

from typing import NamedTuple

from apprentice.backends.pool import BackendPool
from apprentice.config import load_settings
from apprentice.dataset import DatasetSummary, RecordTotals
from apprentice.evolution.registry import versions as registered_versions
from apprentice.evolution.shadow import rollback_live
from apprentice.monitor.apprenticeship import HANDED_ON, ApprenticeshipPolicy, Observation, State, Step, load_state, observe
from apprentice.monitor.metrics import STAGE_METRICS, stage_metric
from apprentice.workflows import WorkflowSpec

__all__ = ["Observed", "observation", "observe_run", "policy_for", "proven_parent"]


class Observed(NamedTuple):
    """A run's apprenticeship step, and the version rolled back to if it handed its own on."""

    step: Step
    rolled_back_to: str | None = None


async def observe_run(
    pool: BackendPool, spec: WorkflowSpec, summary: DatasetSummary, records: RecordTotals, run_id: str, source: dict[str, str]
) -> Observed:
    """Feed a dataset run to its version's state machine (judged as an apprentice, drift-checked
    once graduated). A version the step hands on to investigation is rolled back to its parent
    if it was serving live. `source` (the run's shape and spec references) rides along."""
    obs = observation(spec, summary, records, run_id).model_copy(update={"source": source})
    step = await observe(pool, obs, policy_for(spec))
    parent = None
    if any(after in HANDED_ON for _, after, _ in step.moves):
        parent = rollback_live(spec.name, spec.key, f"{spec.key} drifted: {step.reason}")
    return Observed(step, parent)


PROVEN = frozenset({State.graduated, State.investigating, State.evolving})
"""States of a parent that has served a whole apprenticeship."""


def observation(spec: WorkflowSpec, summary: DatasetSummary, records: RecordTotals, run_id: str) -> Observation:
    """One execution's metrics, per record: latency, validity, first-pass quality, cost, tokens,
    output size and, where the records were checked, realism; with what the deterministic checks
    found in the written records. Built from the run's running totals (`RunTotals.records`), so
    observing a run needs none of its records but the first few, kept as its sample."""
    per_record = max(1, records.outcomes)
    values: dict[str, float] = {
        "latency_s": summary.seconds_per_record or 0.0,
        "validity": summary.records / max(1, summary.requested),
        "cost_usd": summary.cost_usd / per_record,
        "tokens": (summary.input_tokens + summary.output_tokens) / per_record,
        "quality": summary.quality or 0.0,
    }
    if records.valid:
        values["output_chars"] = records.output_chars / records.valid
    values.update(stage_values(records))
    realism = summary.realism if summary.realism is not None and summary.realism.records else None
    if realism is not None:
        values.update(realism.metrics())
    findings = realism.findings() if realism is not None else []
    return Observation(
        workflow=spec.name, version=spec.version, run_id=run_id, values=values, findings=findings, sample=list(records.first_valid[:3])
    )


def stage_values(records: RecordTotals) -> dict[str, float]:
    """Each stage's mean time and tokens per run of it and the share of its runs that gave back
    a valid record, named `STAGE:METRIC` (`metrics.STAGE_METRICS`)."""
    values: dict[str, float] = {}
    for stage, totals in records.stages.items():
        if totals.runs:
            figures = {"latency_s": totals.latency_s, "tokens": float(totals.tokens), "validity": float(totals.valid)}
            values.update({stage_metric(stage, name): figures[name] / totals.runs for name in STAGE_METRICS})
    return values


def policy_for(spec: WorkflowSpec) -> ApprenticeshipPolicy:
    """The spec's monitoring options over the settings. A version evolved from a proven parent
    serves a shortened apprenticeship (half the runs, at least 10): it inherits a known-good design."""
    settings = load_settings()
    options = spec.monitoring
    graduate_after = options.graduate_after or settings.graduate_after
    if proven_parent(spec):
        graduate_after = max(10, graduate_after // 2)
    return ApprenticeshipPolicy(
        graduate_after=graduate_after,
        spot_check=settings.spot_check if options.spot_check is None else options.spot_check,
        stability_tolerance=options.stability_tolerance,
        escalate_below=options.escalate_below,
        cusum_k=options.cusum_k,
        cusum_h=options.cusum_h,
        calibration_per_run=settings.calibration_per_run if options.calibration_per_run is None else options.calibration_per_run,
        calibration_target=settings.calibration_target,
    )


def proven_parent(spec: WorkflowSpec) -> bool:
    """Was `spec` registered as evolved from a version that graduated?"""
    registered = next((v for v in registered_versions(spec.name) if v.key == spec.key), None)
    if registered is None or not registered.parent:
        return False
    parent_name, _, parent_version = registered.parent.partition("@")
    return State(load_state(parent_name, parent_version).state) in PROVEN
