"""The apprenticeship state machine, one per workflow version.

    apprentice ──(N good executions, stable profile)──▶ graduated
    graduated ──(drift or sudden failure)──▶ investigating
    investigating ──UPDATE_PROFILE──▶ graduated (profile rebuilt from recent executions)
                  ──EVOLVE_WORKFLOW──▶ evolving (handed to evolution)
                  ──CRITICAL──▶ critical

In *apprentice* every execution is judged by the tiered judges and, when good, teaches the
profile. Evidence comes before opinion: a run that failed or whose written records have
deterministic defects (schema or realism) is never learned as good, whatever a judge says; a
clean run is good when a judge measured as reliable (`calibration.py`) calls it normal or, where
no judge is reliable yet, on the deterministic checks alone — the status says which. Judges are
calibrated on planted defects in the same runs, within a small budget. *Graduated* executions
are checked by statistics only (`DriftMonitor`): zero model calls, unless an optional random
spot check (`spot_check`, default 0) asks a judge. Drift triggers an *investigation*: the judges
get the recent executions and the profile and return an action. Everything is persisted in the
store (state, profile, detector state, transitions), so hooks and flows in any process see the
same machine.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from apprentice.backends.booking import Purpose, booked_as
from apprentice.backends.pool import BackendPool
from apprentice.backends.types import ChatMessage
from apprentice.config import Tier
from apprentice.generation import ask_structured
from apprentice.monitor.calibration import Reliability, Trial, calibrate
from apprentice.monitor.drift import DriftCheck, DriftMonitor
from apprentice.monitor.judges import SYSTEM, Judgement, JudgeTrust, Verdict, VerdictStatus, judge_execution
from apprentice.monitor.options import CUSUM_H, CUSUM_K, ESCALATE_BELOW
from apprentice.monitor.profile import QualityProfile
from apprentice.store import JudgeReliability, StateTransition, WorkflowState, session, write
from apprentice.store.models import utcnow

RECENT = 20


class State(StrEnum):
    apprentice = "apprentice"
    graduated = "graduated"
    investigating = "investigating"
    evolving = "evolving"
    critical = "critical"


HANDED_ON = frozenset({State.evolving, State.critical})
"""States in which the version is no longer trusted to serve: evolution or a person takes over."""


class Action(StrEnum):
    UPDATE_PROFILE = "UPDATE_PROFILE"
    EVOLVE_WORKFLOW = "EVOLVE_WORKFLOW"
    CRITICAL = "CRITICAL"


class Diagnosis(BaseModel):
    action: Action
    reasons: list[str] = Field(default_factory=list)
    resilience: str | None = Field(None, description="for CRITICAL: what to add (retries, fallback backend, …)")
    source: Literal["judge", "rule"] = "judge"


DIAGNOSIS_SCHEMA = {
    "type": "object",
    "properties": {
        "action": {"enum": [a.value for a in Action]},
        "reasons": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "resilience": {"type": "string"},
    },
    "required": ["action", "reasons"],
}


class Observation(BaseModel):
    """One execution of a workflow version, as the machine sees it."""

    workflow: str
    version: str
    run_id: str
    values: dict[str, float] = Field(default_factory=dict)
    error_class: str | None = None
    findings: list[str] = Field(default_factory=list, description="what the deterministic checks found in the written records")
    sample: list[Any] = Field(default_factory=list)
    source: dict[str, str] = Field(default_factory=dict, description="shape and spec references of the run")


class ApprenticeshipPolicy(BaseModel):
    graduate_after: int = Field(50, ge=2, description="good executions needed to graduate")
    stability_tolerance: float = Field(0.1, gt=0)
    escalate_below: tuple[float, float] = ESCALATE_BELOW
    cusum_k: float = Field(CUSUM_K, gt=0, description="CUSUM allowance of a new drift detector, in profile sds")
    cusum_h: float = Field(CUSUM_H, gt=0, description="CUSUM threshold of a new drift detector, in profile sds")
    spot_check: float = Field(0.0, ge=0, le=1, description="share of graduated executions judged anyway")
    calibration_per_run: int = Field(2, ge=0, description="planted-defect trials per judge in an apprentice run")
    calibration_target: int = Field(20, ge=4, description="trials of each kind after which a judge's calibration stops")


class Step(BaseModel):
    """What one observation did."""

    state: State
    previous: State
    reason: str = ""
    verdict: Verdict | None = None
    drift: DriftCheck | None = None
    diagnosis: Diagnosis | None = None
    learned: bool = Field(False, description="an apprentice execution learned as good")
    basis: str = Field("", description="why it was, or was not, learned as good")
    calibration: list[Trial] = Field(default_factory=list)
    judge_calls: int = 0
    monitoring_cost_usd: float = 0.0
    moves: list[tuple[State, State, str]] = Field(default_factory=list, description="(from, to, reason), in order")

    def move(self, to: State, reason: str) -> None:
        self.moves.append((self.state, to, reason))
        self.state, self.reason = to, reason


@dataclass
class _Machine:
    """One version's persisted machine, loaded for one observation."""

    row: WorkflowState
    profile: QualityProfile
    detector: DriftMonitor
    recent: list[dict[str, Any]]
    reliability: dict[str, Reliability]
    judgements: list[Judgement] = field(default_factory=list)

    @classmethod
    def load(cls, obs: Observation, policy: ApprenticeshipPolicy, engine: Engine | None) -> _Machine:
        row = load_state(obs.workflow, obs.version, engine)
        profile = (
            QualityProfile.model_validate_json(row.profile_json)
            if row.profile_json != "{}"
            else QualityProfile(workflow=obs.workflow, version=obs.version)
        )
        detector = (
            DriftMonitor.model_validate_json(row.drift_json) if row.drift_json != "{}" else DriftMonitor(k=policy.cusum_k, h=policy.cusum_h)
        )
        return cls(row=row, profile=profile, detector=detector, recent=json.loads(row.recent_json), reliability=load_reliability(engine))

    def trust(self, policy: ApprenticeshipPolicy) -> dict[str, JudgeTrust]:
        return {name: r.trust(policy.calibration_target) for name, r in self.reliability.items()}


async def observe(
    pool: BackendPool,
    obs: Observation,
    policy: ApprenticeshipPolicy | None = None,
    *,
    engine: Engine | None = None,
    rng: random.Random | None = None,
) -> Step:
    """Feed one execution to its version's state machine; persist and return what happened.

    Its model calls (judges, diagnoses: monitoring; planted-defect trials: calibration) are booked
    by the pool under the execution's run id, and in the ledger when this returns."""
    policy = policy or ApprenticeshipPolicy()
    rng = rng or random.Random()
    machine = _Machine.load(obs, policy, engine)
    state = State(machine.row.state)
    step = Step(state=state, previous=state)
    machine.row.executions += 1
    try:
        with booked_as(Purpose.monitoring, workflow=obs.workflow, version=obs.version, run_id=obs.run_id):
            await _judge_or_check(pool, obs, policy, machine, step, rng, engine)
    finally:
        await pool.flush_calls()
    _book(obs, policy, machine, step, state, engine)
    return step


async def _judge_or_check(
    pool: BackendPool,
    obs: Observation,
    policy: ApprenticeshipPolicy,
    machine: _Machine,
    step: Step,
    rng: random.Random,
    engine: Engine | None,
) -> None:
    """What the version's state asks of this execution: judging (apprentice), drift checks
    (graduated), then an investigation if either moved it there."""
    if step.previous is State.apprentice:
        await _as_apprentice(pool, obs, policy, machine, step, rng, engine)
    elif step.previous is State.graduated:
        await _as_graduated(pool, obs, policy, machine, step, rng)
    machine.recent = (machine.recent + [{"values": obs.values, "error_class": obs.error_class, "findings": len(obs.findings)}])[-RECENT:]
    if step.state is State.investigating:
        await _investigate(pool, obs, machine, step)


async def _as_apprentice(
    pool: BackendPool,
    obs: Observation,
    policy: ApprenticeshipPolicy,
    machine: _Machine,
    step: Step,
    rng: random.Random,
    engine: Engine | None,
) -> None:
    """Judge (with calibrated trust), learn a good run, calibrate the judges, maybe graduate."""
    row = machine.row
    judgement = await judge_execution(
        pool, evidence(obs, machine.profile), escalate_below=policy.escalate_below, trust=machine.trust(policy)
    )
    machine.judgements.append(judgement)
    step.verdict = judgement.verdict
    step.learned, step.basis = learned_as_good(obs, judgement.verdict)
    if step.learned:
        row.good_executions += 1
        row.good_by_judges += judgement.verdict.trusted
        row.good_by_checks += not judgement.verdict.trusted
        machine.profile.add(obs.values)
    else:
        row.refused_executions += 1
    step.calibration, calls = await calibrate_judges(pool, obs, machine.profile, judgement, machine.reliability, policy, rng)
    machine.judgements.append(Judgement(verdict=judgement.verdict, chain=[], calls=calls))
    if step.calibration:
        save_reliability(machine.reliability, engine)
    stable, why = machine.profile.stable(min_count=policy.graduate_after, tolerance=policy.stability_tolerance)
    if row.good_executions >= policy.graduate_after and stable:
        step.move(State.graduated, f"{row.good_executions} good executions ({graduation_basis(row)}); {why}")


async def _as_graduated(
    pool: BackendPool, obs: Observation, policy: ApprenticeshipPolicy, machine: _Machine, step: Step, rng: random.Random
) -> None:
    """Statistics only (defects never teach the profile); a judge only for an optional spot check."""
    step.drift = machine.detector.check(machine.profile, obs.values, error_class=obs.error_class, learn=not obs.findings)
    if step.drift.alarm:
        machine.row.last_drift_at, machine.row.last_drift_reason = utcnow(), step.drift.reason
        step.move(State.investigating, step.drift.reason)
    elif policy.spot_check and rng.random() < policy.spot_check:
        judgement = await judge_execution(
            pool, evidence(obs, machine.profile), escalate_below=policy.escalate_below, trust=machine.trust(policy)
        )
        machine.judgements.append(judgement)
        step.verdict = judgement.verdict
        if (
            judgement.verdict.trusted
            and judgement.verdict.status == VerdictStatus.broken
            and judgement.verdict.confidence >= policy.escalate_below[1]
        ):
            step.move(State.investigating, "spot check: " + "; ".join(judgement.verdict.reasons[:2]))


async def _investigate(pool: BackendPool, obs: Observation, machine: _Machine, step: Step) -> None:
    """Ask for a diagnosis and carry it out (a rebuilt profile learns only clean recent runs)."""
    sudden = bool(step.drift and step.drift.sudden) or obs.error_class is not None
    diagnosis, calls = await investigate(pool, machine.recent, machine.profile, sudden=sudden)
    machine.judgements.append(Judgement(verdict=Verdict(status=VerdictStatus.suspicious, confidence=1.0), chain=[], calls=calls))
    step.diagnosis = diagnosis
    if diagnosis.action is Action.UPDATE_PROFILE:
        machine.profile = QualityProfile(workflow=obs.workflow, version=obs.version)
        for item in machine.recent[-10:]:
            if not item.get("error_class") and not item.get("findings"):
                machine.profile.add(item["values"])
        machine.detector.reset()
    target = {Action.UPDATE_PROFILE: State.graduated, Action.EVOLVE_WORKFLOW: State.evolving, Action.CRITICAL: State.critical}[
        diagnosis.action
    ]
    step.move(target, f"diagnosis {diagnosis.action.value} ({diagnosis.source}): " + "; ".join(diagnosis.reasons[:2]))


def _book(obs: Observation, policy: ApprenticeshipPolicy, machine: _Machine, step: Step, state: State, engine: Engine | None) -> None:
    """Monitoring costs by phase, and the machine back to the store (the pool booked the calls)."""
    row = machine.row
    calls = [c for j in machine.judgements for c in j.calls]
    step.judge_calls = len(calls)
    step.monitoring_cost_usd = sum(c.cost_usd for c in calls)
    row.judge_calls += len(calls)
    if state is State.apprentice:
        row.executions_apprentice += 1
        row.monitoring_cost_apprentice += step.monitoring_cost_usd
    else:
        row.executions_graduated += 1
        row.monitoring_cost_graduated += step.monitoring_cost_usd
    row.state, row.graduate_after = step.state.value, policy.graduate_after
    if obs.source:
        row.source_json = json.dumps(obs.source)
    row.profile_json, row.drift_json = machine.profile.model_dump_json(), machine.detector.model_dump_json()
    row.recent_json = json.dumps(machine.recent)
    save_state(row, step, obs.run_id, engine)


def evidence(obs: Observation, profile: QualityProfile) -> dict[str, Any]:
    return {
        "metrics": obs.values,
        "error": obs.error_class,
        "findings": obs.findings or ["the deterministic checks found no defect"],
        "profile": {name: m.summary() for name, m in profile.metrics.items()},
        "sample_records": obs.sample[:3],
    }


def learned_as_good(obs: Observation, verdict: Verdict) -> tuple[bool, str]:
    """Evidence before opinion: (learned as good?, why)."""
    if obs.error_class is not None:
        return False, f"the run failed ({obs.error_class})"
    if obs.findings:
        return False, "deterministic defects: " + "; ".join(obs.findings[:3])
    if verdict.trusted:
        return verdict.status == VerdictStatus.normal, f"judged {verdict.status} by {verdict.judge} (reliable, weight {verdict.weight:.2f})"
    return True, "no defect found by the deterministic checks; no judge is measured as reliable yet, so they alone decide"


def graduation_basis(row: WorkflowState) -> str:
    """Whose word the good executions rest on, in words for the status."""
    if not row.good_by_checks:
        return "judged normal by reliable judges"
    if not row.good_by_judges:
        return "on deterministic checks alone: no judge measured as reliable"
    return f"{row.good_by_judges} judged normal by reliable judges, {row.good_by_checks} on deterministic checks alone"


async def calibrate_judges(
    pool: BackendPool,
    obs: Observation,
    profile: QualityProfile,
    judgement: Judgement,
    reliability: dict[str, Reliability],
    policy: ApprenticeshipPolicy,
    rng: random.Random,
) -> tuple[list[Trial], list]:
    """Planted-defect trials for each judge of this run's chain still being measured."""
    trials: list[Trial] = []
    calls: list = []
    if not policy.calibration_per_run or obs.error_class is not None:
        return trials, calls
    for verdict in judgement.chain:
        judge = verdict.judge
        if (
            verdict.tier is None
            or judge is None
            or not reliability.setdefault(judge, Reliability(judge=judge)).needs_trials(policy.calibration_target)
        ):
            continue
        done, spent = await calibrate(pool, verdict.tier, evidence(obs, profile), policy.calibration_per_run, rng)
        calls += spent
        for trial in done:
            reliability.setdefault(trial.judge, Reliability(judge=trial.judge, tier=verdict.tier.value)).add(trial)
            reliability[trial.judge].tier = reliability[trial.judge].tier or verdict.tier.value
        trials += done
    return trials, calls


def load_reliability(engine: Engine | None = None) -> dict[str, Reliability]:
    """Every judge backend's calibration so far."""
    from sqlmodel import select

    with session(engine) as s:
        rows = s.exec(select(JudgeReliability)).all()
    return {
        r.judge: Reliability(
            judge=r.judge,
            tier=r.tier,
            planted=r.planted,
            detected=r.detected,
            clean=r.clean,
            false_alarms=r.false_alarms,
            by_kind=json.loads(r.by_kind_json),
        )
        for r in rows
    }


def save_reliability(reliability: dict[str, Reliability], engine: Engine | None = None) -> None:
    def persist(s) -> None:
        for r in reliability.values():
            s.merge(
                JudgeReliability(
                    judge=r.judge,
                    tier=r.tier,
                    planted=r.planted,
                    detected=r.detected,
                    clean=r.clean,
                    false_alarms=r.false_alarms,
                    by_kind_json=json.dumps(r.by_kind),
                    updated_at=utcnow(),
                )
            )

    write(persist, engine)


async def investigate(pool: BackendPool, recent: list[dict], profile: QualityProfile, *, sudden: bool) -> tuple[Diagnosis, list]:
    """Ask the judges (fast, then up) for an action; fall back to a rule when none answers usably."""
    messages = [
        ChatMessage(role="system", content=SYSTEM),
        ChatMessage(
            role="user",
            content=(
                "A graduated workflow drifted from its quality profile. Decide: UPDATE_PROFILE if the world "
                "changed but the output is still right, EVOLVE_WORKFLOW if the workflow should change, CRITICAL "
                "if it is failing (then say which resilience to add).\n"
                f"Profile: {json.dumps({n: m.summary() for n, m in profile.metrics.items()}, default=str)[:2500]}\n"
                f"Recent executions (oldest first): {json.dumps(recent[-10:], default=str)[:2500]}"
            ),
        ),
    ]
    calls = []
    for tier in Tier:
        diagnosis, call = await ask_structured(
            pool, messages, DIAGNOSIS_SCHEMA, Diagnosis, purpose=Purpose.monitoring, stage="diagnosis", tier=tier, max_tokens=200
        )
        if call is not None:
            calls.append(call)
        if diagnosis is not None:
            return diagnosis, calls
    return rule_diagnosis(recent, profile, sudden=sudden), calls


def rule_diagnosis(recent: list[dict], profile: QualityProfile, *, sudden: bool) -> Diagnosis:
    """When no judge answers usably: failures are critical; lost validity or realism needs evolution;
    anything else (slower, dearer, but still right) updates the profile."""
    last = recent[-1] if recent else {}
    if sudden or last.get("error_class"):
        return Diagnosis(
            action=Action.CRITICAL,
            reasons=["the execution failed or its validity collapsed"],
            resilience="add a fallback backend and retries",
            source="rule",
        )
    for name in ("validity", "realism"):
        learned = profile.metrics.get(name)
        if learned is not None and last.get("values", {}).get(name, 1.0) < learned.mean - 2 * max(learned.sd, 0.01):
            return Diagnosis(action=Action.EVOLVE_WORKFLOW, reasons=[f"{name} is below its profile"], source="rule")
    return Diagnosis(action=Action.UPDATE_PROFILE, reasons=["output still valid; the operating point moved"], source="rule")


def load_state(workflow: str, version: str, engine: Engine | None = None) -> WorkflowState:
    with session(engine) as s:
        row = s.get(WorkflowState, f"{workflow}@{version}")
    return row or WorkflowState(key=f"{workflow}@{version}", workflow=workflow, version=version)


def save_state(row: WorkflowState, step: Step, run_id: str | None, engine: Engine | None = None) -> None:
    row.updated_at = utcnow()

    def persist(s) -> None:
        s.merge(row)
        for before, after, reason in step.moves:
            s.add(
                StateTransition(
                    workflow=row.workflow,
                    version=row.version,
                    from_state=before.value,
                    to_state=after.value,
                    reason=reason[:2000],
                    run_id=run_id,
                )
            )

    write(persist, engine)


def mark_failed(workflow: str, version: str, run_id: str, error_class: str, engine: Engine | None = None) -> bool:
    """From a failure hook (no model calls there): a graduated version goes to investigating at
    once; the next run's monitor step carries out the investigation. Returns True if it moved."""
    row = load_state(workflow, version, engine)
    if row.state != State.graduated:
        return False
    row.state, row.last_drift_at, row.last_drift_reason = State.investigating.value, utcnow(), f"the run failed ({error_class})"
    recent = json.loads(row.recent_json) + [{"values": {}, "error_class": error_class}]
    row.recent_json = json.dumps(recent[-RECENT:])
    step = Step(state=State.graduated, previous=State.graduated)
    step.move(State.investigating, row.last_drift_reason)
    save_state(row, step, run_id, engine)
    return True


def transitions(workflow: str | None = None, engine: Engine | None = None) -> list[StateTransition]:
    from sqlmodel import col, select

    query = select(StateTransition).order_by(col(StateTransition.at))
    if workflow:
        query = query.where(StateTransition.workflow == workflow)
    with session(engine) as s:
        return list(s.exec(query).all())


def all_states(engine: Engine | None = None) -> list[WorkflowState]:
    from sqlmodel import select

    with session(engine) as s:
        return list(s.exec(select(WorkflowState).order_by(WorkflowState.workflow, WorkflowState.version)).all())
