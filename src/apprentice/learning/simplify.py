"""Self-simplification: which stages, correction prompts, correction rounds and committee members
of a workflow version add no measurable quality, and which versions stop earning their cost.

The evidence is paired within each record: every stage row in the store (`monitor/hooks.py`)
counts what the stage did to the records it was given — records it gave back unchanged, failing
records it fixed, passing records it broke, corrections that ended valid — so "with the stage"
and "without it" are the same records before and after it. A removal is proposed only when an
exact one-sided binomial test says the share of records the thing helped is below a tolerance
(`SimplifyPolicy.tolerance`, 3 points) at `alpha` 0.05, over at least `min_records` records from
`min_batches` batches: a stage that helped 2 records of 10 is not pruned by chance, and neither is
one seen on too few records. A proposal is only a candidate: the evolution flow shadow-runs it
beside the live version on the same seeds and ramps it through the canary like any other change
(`evolution/shadow.py`), so a removal that costs quality is rejected and becomes an avoidance rule.

Versions are compared run by run: a version whose cost per valid record is worse than its
parent's (beyond `cost_margin`) over the latest `retire_window` runs, without better validity or
realism, is proposed for retirement; `retire` takes it (traffic back to the parent). A request
class seen in at least `specialist_runs` runs gets a specialist: a copy of the spec registered as a
candidate under its own name, so it evolves on its class's runs alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import NamedTuple

import numpy as np
from pydantic import BaseModel, Field
from scipy.stats import binomtest, mannwhitneyu
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from apprentice.evolution.compare import Verdict, compare
from apprentice.evolution.mutations import (
    SIMPLIFYING,
    Mutation,
    drop_correction_rounds,
    drop_corrections,
    remove_stage,
    single_generator,
)
from apprentice.evolution.registry import VersionStatus, add_avoidance, register, set_split, versions
from apprentice.store import ExecutionRecord, read, write
from apprentice.store.models import AvoidanceRule, VersionRecord
from apprentice.workflows import MergePolicy, Pattern, StageRole, WorkflowSpec

__all__ = [
    "Evidence",
    "Removal",
    "Simplification",
    "SimplifyPolicy",
    "StageTotals",
    "Subject",
    "candidate_from",
    "helps_rarely",
    "proposals_for",
    "propose_specialists",
    "recurring_classes",
    "retire",
    "retirements",
    "specialist",
    "stage_totals",
    "take_retirements",
    "taken_for",
]


class Removal(StrEnum):
    """What a simplification takes away."""

    stage = "stage"  # a checking stage that fixes nothing, an enrich stage that changes nothing
    corrections = "corrections"  # a stage's correction prompts, which never end valid
    correction_rounds = "correction_rounds"  # a correct loop's rounds from `target` on
    committee = "committee"  # every consensus candidate or parallel branch but `target`
    version = "version"  # a version that costs more than its parent for no better quality


class SimplifyPolicy(BaseModel):
    """How sure the evidence must be before anything is proposed."""

    alpha: float = Field(0.05, gt=0, lt=1, description="significance of the one-sided test")
    tolerance: float = Field(
        0.03, gt=0, lt=1, description="a thing that helps fewer than this share of its records adds nothing measurable"
    )
    min_records: int = Field(100, ge=1, description="records the thing must have been seen on")
    min_batches: int = Field(3, ge=1, description="batches (stage rows) those records come from")
    retire_window: int = Field(20, ge=2, description="latest runs of a version and of its parent compared")
    retire_min_runs: int = Field(5, ge=2, description="runs each side needs before a retirement is proposed")
    cost_margin: float = Field(0.10, ge=0, description="share of the parent's cost per valid record a version may exceed it by")
    specialist_runs: int = Field(20, ge=1, description="runs of a request class before it gets a specialist version")


class Evidence(BaseModel):
    """Why a simplification is proposed: the paired sample, quality with and without, the test."""

    n: int = Field(description="paired observations: records (stages, rounds, committees) or runs (versions)")
    batches: int = Field(description="stage rows (or runs) the observations come from")
    helped: int = Field(description="observations the thing helped: records changed, fixed or rescued")
    quality_with: float | None = Field(description="validity with it")
    quality_without: float | None = Field(description="validity without it (for a stage: the same records as they entered it)")
    p_value: float
    test: str
    cost_saved_usd: float = Field(description="per record made (versions: per valid record)")


class Simplification(BaseModel):
    """A proposed removal from one workflow version, with its evidence."""

    subject: str = Field(description="what the evidence is about: workflow@version (or a request class)")
    workflow: str
    version: str
    removal: Removal
    target: str = Field(description="the stage, the first round dropped, the committee member kept, or the version retired")
    reason: str
    evidence: Evidence

    @property
    def key(self) -> str:
        return f"{self.workflow}@{self.version}"

    @property
    def action(self) -> str:
        """What taking it does, in words."""
        return {
            Removal.stage: f"remove stage '{self.target}'",
            Removal.corrections: f"no corrections in stage '{self.target}'",
            Removal.correction_rounds: f"drop correction rounds from {self.target}",
            Removal.committee: f"only '{self.target}' of the committee",
            Removal.version: "retire the version",
        }[self.removal]

    @property
    def summary(self) -> str:
        """One line for people: what goes, from which version, why, how sure, what it saves."""
        return f"{self.action} ({self.key}): {self.reason}; p={self.evidence.p_value:.2g}, saves ${self.evidence.cost_saved_usd:.6f}/record"


class StageTotals(BaseModel):
    """One stage's (or correction round's) execution rows summed over a version's runs."""

    stage: str
    round: int | None = None
    batches: int = 0
    records: int = 0
    valid_records: int = 0
    cost_usd: float = 0.0
    corrections: int = 0
    compared_records: int = 0
    changed_records: int = 0
    measured_records: int = 0
    entered_valid_records: int = 0
    fixed_records: int = 0
    broken_records: int = 0
    corrected_records: int = 0
    corrected_valid_records: int = 0


_SUMMED = [name for name in StageTotals.model_fields if name not in ("stage", "round", "batches")]
RETIRED = "retired: "
"""How the avoidance rule of a version retired for its cost begins."""
_DONE = {VersionStatus.retired, VersionStatus.rejected, VersionStatus.rolled_back}


def stage_totals(rows: list[ExecutionRecord]) -> dict[tuple[str, int | None], StageTotals]:
    """Stage rows summed per (stage, correct-loop round); rows of tasks that made no stage metrics are left out."""
    totals: dict[tuple[str, int | None], StageTotals] = {}
    for row in rows:
        if row.kind != "task" or not row.records:
            continue
        total = totals.setdefault((row.stage, row.round), StageTotals(stage=row.stage, round=row.round))
        total.batches += 1
        for name in _SUMMED:
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return totals


def helps_rarely(helped: int, n: int, batches: int, policy: SimplifyPolicy) -> float | None:
    """The p-value of "this helps fewer than `tolerance` of its records" (exact binomial, one-sided),
    or None when the sample is below the minimum and nothing may be said."""
    if n < policy.min_records or batches < policy.min_batches or helped > n:
        return None
    return float(binomtest(helped, n, policy.tolerance, alternative="less").pvalue)


class Subject(NamedTuple):
    """The runs one set of proposals is judged on: a version's, or only those of one request class."""

    workflow: str
    version: str
    request_class: str | None = None

    @property
    def name(self) -> str:
        return self.request_class or f"{self.workflow}@{self.version}"


def proposals_for(
    subject: str, *, spec: WorkflowSpec | None = None, policy: SimplifyPolicy | None = None, engine: Engine | None = None
) -> list[Simplification]:
    """What `subject` could do without, most money saved first. `subject` is workflow@version; a
    request class (each version that served it, judged on that class's runs alone); or a
    workflow's name (its live, else latest, version). Nothing is known of an unknown subject.
    `spec` (for its version) defaults to the registry's copy; without one, only stages and
    correction prompts are judged (rounds and committees need the pattern)."""
    policy = policy or SimplifyPolicy()
    proposals = []
    for judged in _subjects(subject, engine):
        known = spec if spec is not None and spec.key == f"{judged.workflow}@{judged.version}" else None
        proposals += _proposals(judged, known or _registered_spec(f"{judged.workflow}@{judged.version}", engine), policy, engine)
    return sorted(proposals, key=lambda p: -p.evidence.cost_saved_usd)


def _proposals(subject: Subject, spec: WorkflowSpec | None, policy: SimplifyPolicy, engine: Engine | None) -> list[Simplification]:
    """One version's proposals from its stage rows (of one class, if the subject names one)."""
    rows = read(lambda s: list(s.exec(select(ExecutionRecord).where(*_rows_of(subject), ExecutionRecord.kind == "task"))), engine)
    totals = stage_totals(rows)
    made = max((t.records for t in totals.values()), default=0)
    found = _stage_removals(totals, spec, policy, made) + _correction_drops(totals, spec, policy, made)
    if spec is not None:
        found += _round_drops(totals, spec, policy, made) + _committee_drops(totals, spec, policy, made, _flow_validity(subject, engine))
    proposals = [Simplification(subject=subject.name, workflow=subject.workflow, version=subject.version, **item) for item in found]
    if subject.request_class is None:  # a version is retired for all its runs, not a class's
        proposals += [r for r in retirements(subject.workflow, policy=policy, engine=engine) if r.version == subject.version]
    return proposals


def _stage_removals(totals: dict, spec: WorkflowSpec | None, policy: SimplifyPolicy, made: int) -> list[dict]:
    """Stages a sequential or parallel workflow could lose: a checking stage that fixed (almost) no
    record it got, another that gave back (almost) every record as it got it."""
    out = []
    for t in totals.values():
        if t.round is not None or (spec is not None and not _removable(spec, t.stage)):
            continue
        if t.measured_records:
            count = _Count(t.fixed_records, t.measured_records, t.batches, "fixed")
            left = t.entered_valid_records + t.fixed_records - t.broken_records
            quality = (left / count.n, t.entered_valid_records / count.n)
        elif t.compared_records:
            count = _Count(t.changed_records, t.compared_records, t.batches, "changed")
            with_it = t.valid_records / t.records
            quality = (with_it, max(0.0, with_it - count.helped / count.n))  # at worst every change was a fix
        else:
            continue
        if (p := _significant(count, policy)) is not None:
            reason = f"stage '{t.stage}' {count.meaning} {count.helped} of {count.n} records it was given"
            out.append(_found(Removal.stage, t.stage, reason, count, p, quality, t.cost_usd / max(made, 1), policy))
    return out


def _correction_drops(totals: dict, spec: WorkflowSpec | None, policy: SimplifyPolicy, made: int) -> list[dict]:
    """Stages whose correction prompts (almost) never ended valid: a failed record is regenerated anyway."""
    out = []
    for t in totals.values():
        if t.round is not None or not t.corrected_records or (spec is not None and not _corrects(spec, t.stage)):
            continue
        count = _Count(t.corrected_valid_records, t.corrected_records, t.batches, "valid after its corrections")
        if (p := _significant(count, policy)) is not None:
            with_it = t.valid_records / t.records
            quality = (with_it, with_it - count.helped / t.records)
            saved = t.cost_usd * t.corrections / (t.records + t.corrections) / max(made, 1)  # a call per record, one per correction
            reason = f"stage '{t.stage}': {count.helped} of {count.n} corrected records ended valid"
            out.append(_found(Removal.corrections, t.stage, reason, count, p, quality, saved, policy))
    return out


def _round_drops(totals: dict, spec: WorkflowSpec, policy: SimplifyPolicy, made: int) -> list[dict]:
    """A correct loop's rounds from the first (after round 1) on which, taken together, fixed
    (almost) no record they got: the premium pass still follows the rounds that are kept."""
    if spec.pattern is not Pattern.correct_loop:
        return []
    rounds = [t for t in totals.values() if t.round is not None and 2 <= t.round <= spec.max_rounds]
    for first in sorted({t.round or 0 for t in rounds}):
        tail = [t for t in rounds if (t.round or 0) >= first]
        count = _Count(sum(t.fixed_records for t in tail), sum(t.measured_records for t in tail), min(t.batches for t in tail), "fixed")
        if (p := _significant(count, policy)) is not None:
            reason = f"correction rounds {first}–{spec.max_rounds} fixed {count.helped} of {count.n} records they got"
            quality = (count.helped / count.n, sum(t.entered_valid_records for t in tail) / count.n)
            saved = sum(t.cost_usd for t in tail) / max(made, 1)
            return [_found(Removal.correction_rounds, str(first), reason, count, p, quality, saved, policy)]
    return []


def _committee_drops(totals: dict, spec: WorkflowSpec, policy: SimplifyPolicy, made: int, flow_validity: float | None) -> list[dict]:
    """A committee whose best member alone failed (almost) no record: the others could only have
    rescued what it failed, so one backend suffices."""
    members = [s for s in spec.stages if s.role is StageRole.generate and s.fields is None]
    committee = spec.pattern is Pattern.consensus or (spec.pattern is Pattern.parallel and spec.merge is not MergePolicy.all_required)
    if not committee or len(members) < 2:
        return []
    tested = []
    for member in members:
        if (t := totals.get((member.name, None))) is not None:
            count = _Count(t.records - t.valid_records, t.records, t.batches, "failed (a rescue was possible)")
            if (p := _significant(count, policy)) is not None:
                tested.append((p, t.cost_usd, t, count))
    if not tested:
        return []
    p, kept_cost, best, count = min(tested, key=lambda item: (item[0], item[1]))
    others = sum(t.cost_usd for (name, round_), t in totals.items() if round_ is None and name in _committee_cost_stages(spec)) - kept_cost
    reason = f"'{best.stage}' alone was valid on {best.valid_records} of {count.n} records"
    quality = (flow_validity, best.valid_records / count.n)
    return [_found(Removal.committee, best.stage, reason, count, p, quality, others / max(made, 1), policy)]


class _Count(NamedTuple):
    """What a test counted: `helped` of `n` records (from `batches` stage rows), and what helping meant."""

    helped: int
    n: int
    batches: int
    meaning: str


def _significant(count: _Count, policy: SimplifyPolicy) -> float | None:
    """The p-value when the count says "helps rarely" at `alpha`, else None."""
    p = helps_rarely(count.helped, count.n, count.batches, policy)
    return p if p is not None and p < policy.alpha else None


def _found(
    removal: Removal,
    target: str,
    reason: str,
    count: _Count,
    p: float,
    quality: tuple[float | None, float | None],
    saved: float,
    policy: SimplifyPolicy,
) -> dict:
    """A proposal's fields (all but its subject), with its evidence."""
    test = f"exact binomial, one-sided: share {count.meaning} < {policy.tolerance:.0%} (alpha {policy.alpha})"
    evidence = Evidence(
        n=count.n,
        batches=count.batches,
        helped=count.helped,
        quality_with=quality[0],
        quality_without=quality[1],
        p_value=p,
        test=test,
        cost_saved_usd=saved,
    )
    return {"removal": removal, "target": target, "reason": reason, "evidence": evidence}


def _removable(spec: WorkflowSpec, stage: str) -> bool:
    """Sequential and parallel stages are removed one by one; a committee is judged as a whole."""
    return spec.pattern in (Pattern.sequential, Pattern.parallel) and any(s.name == stage for s in spec.stages)


def _corrects(spec: WorkflowSpec, stage: str) -> bool:
    return spec.pattern is not Pattern.correct_loop and any(s.name == stage and s.corrections for s in spec.stages)


def _committee_cost_stages(spec: WorkflowSpec) -> set[str]:
    return {s.name for s in spec.stages if s.role in (StageRole.generate, StageRole.judge)}


def candidate_from(proposal: Simplification, spec: WorkflowSpec) -> tuple[Mutation, WorkflowSpec] | None:
    """The evolution candidate a proposal stands for (None for a retirement, or a change the spec
    cannot take); the mutation's reason quotes the evidence."""
    reason = f"{proposal.reason} (n={proposal.evidence.n}, p={proposal.evidence.p_value:.3g})"
    if proposal.removal is Removal.stage:
        return remove_stage(spec, proposal.target, reason)
    if proposal.removal is Removal.corrections:
        return drop_corrections(spec, proposal.target, reason)
    if proposal.removal is Removal.correction_rounds:
        return drop_correction_rounds(spec, int(proposal.target) - 1, reason)
    if proposal.removal is Removal.committee:
        return single_generator(spec, proposal.target, reason)
    return None


def retirements(workflow: str, *, policy: SimplifyPolicy | None = None, engine: Engine | None = None) -> list[Simplification]:
    """Versions of `workflow` whose cost per valid record, run by run over the latest window, is
    worse than their parent's (beyond the margin) while neither validity nor realism is better."""
    policy = policy or SimplifyPolicy()
    registered = {v.key: v for v in versions(workflow, engine)}
    runs = _flow_runs(workflow, engine)
    out = []
    for row in registered.values():
        if row.status in _DONE or row.parent not in registered:
            continue
        mine, theirs = runs.get(row.key, [])[: policy.retire_window], runs.get(row.parent or "", [])[: policy.retire_window]
        if min(len(mine), len(theirs)) >= policy.retire_min_runs:
            found = _costlier(row, mine, theirs, policy)
            out += [found] if found else []
    return out


def _costlier(
    row: VersionRecord, mine: list[ExecutionRecord], theirs: list[ExecutionRecord], policy: SimplifyPolicy
) -> Simplification | None:
    """A retirement when the version's cost per valid record is significantly higher than its
    parent's (one-sided Mann–Whitney U at `alpha`) and its median beyond the margin, quality no better."""

    def per_valid(runs: list[ExecutionRecord]) -> list[float]:
        return [r.cost_usd / max(r.valid_records, 1) for r in runs]

    cost_a, cost_b = per_valid(theirs), per_valid(mine)
    median_a, median_b = float(np.median(cost_a)), float(np.median(cost_b))
    p = float(mannwhitneyu(cost_b, cost_a, alternative="greater").pvalue)
    if p >= policy.alpha or median_b <= median_a * (1 + policy.cost_margin) or _better_quality(mine, theirs):
        return None
    validity_a, validity_b = (sum(r.validity for r in runs) / len(runs) for runs in (theirs, mine))
    evidence = Evidence(
        n=len(mine),
        batches=len(mine),
        helped=0,
        quality_with=validity_b,
        quality_without=validity_a,
        p_value=p,
        test=f"Mann–Whitney U, one-sided, cost per valid record per run (margin {policy.cost_margin:.0%}); quality not better",
        cost_saved_usd=median_b - median_a,
    )
    reason = f"{median_b:.3g} per valid record against {median_a:.3g} for its parent {row.parent}, quality no better"
    return Simplification(
        subject=row.key,
        workflow=row.workflow,
        version=row.version,
        removal=Removal.version,
        target=row.key,
        reason=reason,
        evidence=evidence,
    )


def _better_quality(mine: list[ExecutionRecord], theirs: list[ExecutionRecord]) -> bool:
    """Is the version significantly better than its parent on validity, or on realism where both measured it?"""
    if (
        compare("validity", [r.validity for r in theirs], [r.validity for r in mine], higher_is_better=True, margin=0.0).verdict
        is Verdict.better
    ):
        return True
    realism_a, realism_b = ([r.realism for r in runs if r.realism is not None] for runs in (theirs, mine))
    if len(realism_a) < 2 or len(realism_b) < 2:
        return False
    return compare("realism", realism_a, realism_b, higher_is_better=True, margin=0.0).verdict is Verdict.better


def retire(proposal: Simplification, *, engine: Engine | None = None) -> None:
    """Take a retirement: the version is retired, whatever traffic it had goes to its parent, and
    the mutation that made it is avoided from now on (it did not earn its cost)."""
    rows = {v.key: v for v in versions(proposal.workflow, engine)}
    row = rows[proposal.target]
    split = {key: v.traffic for key, v in rows.items() if v.traffic > 0 and key != row.key}
    statuses = {row.key: VersionStatus.retired}
    if row.traffic > 0 and row.parent in rows:
        split[row.parent] = split.get(row.parent, 0.0) + row.traffic
        statuses[row.parent] = VersionStatus.live
    if abs(sum(split.values()) - 1.0) < 1e-9:
        set_split(proposal.workflow, split, statuses, engine)
    else:  # no traffic routed by the registry: only the status moves
        write(lambda s: _set_status(s, row.key, VersionStatus.retired), engine)
    if row.mutation:
        add_avoidance(row.mutation, f"{RETIRED}{proposal.reason}", row.key, engine)


def take_retirements(workflow: str, *, policy: SimplifyPolicy | None = None, engine: Engine | None = None) -> list[Simplification]:
    """Retire every version of `workflow` that no longer earns its cost; what was retired."""
    taken = retirements(workflow, policy=policy, engine=engine)
    for proposal in taken:
        retire(proposal, engine=engine)
    return taken


def _set_status(s: Session, key: str, status: VersionStatus) -> None:
    row = s.get(VersionRecord, key)
    if row is not None:
        row.status = status.value
        s.add(row)


def specialist(spec: WorkflowSpec, class_key: str) -> tuple[Mutation, WorkflowSpec]:
    """A copy of `spec` for one request class, under its own name (`NAME--class`), so it has its
    own versions, apprenticeship and evolution, fed only by that class's runs."""
    name = f"{spec.name}--{re.sub(r'[^A-Za-z0-9_.-]+', '-', class_key).strip('-')[:60] or 'class'}"
    mutation = Mutation(
        operator="specialise", target=name, change={"class": class_key}, context=spec.pattern.value, reason=f"class {class_key} recurs"
    )
    return mutation, spec.model_copy(update={"name": name})


def propose_specialists(
    spec: WorkflowSpec, runs_by_class: Mapping[str, int], *, policy: SimplifyPolicy | None = None, engine: Engine | None = None
) -> list[VersionRecord]:
    """Register a specialist candidate (parent: `spec`) for each class with at least
    `specialist_runs` runs; one already registered is returned as it is."""
    policy = policy or SimplifyPolicy()
    out = []
    for class_key, runs in sorted(runs_by_class.items()):
        if runs >= policy.specialist_runs:
            mutation, candidate = specialist(spec, class_key)
            out.append(register(candidate, parent=spec.key, mutation=mutation, engine=engine))
    return out


def taken_for(workflow: str, *, engine: Engine | None = None) -> list[VersionRecord]:
    """Simplifications taken: versions made by a simplifying mutation that took traffic (live or
    canary, or live once and retired since), and versions retired for their cost (`retire`)."""
    rows = versions(workflow, engine)
    keys = [row.key for row in rows]
    retired_for_cost = read(
        lambda s: set(
            s.exec(select(AvoidanceRule.source).where(col(AvoidanceRule.source).in_(keys), col(AvoidanceRule.reason).startswith(RETIRED)))
        ),
        engine,
    )
    out = []
    for row in rows:
        operator = (row.mutation or "").split(":", 1)[0]
        promoted = operator in SIMPLIFYING and row.status in (VersionStatus.live, VersionStatus.canary, VersionStatus.retired)
        if promoted or row.key in retired_for_cost:
            out.append(row)
    return out


def _subjects(subject: str, engine: Engine | None) -> list[Subject]:
    """What a subject names: a version; the versions that served a request class; a workflow's
    live (else latest) version; or nothing the store knows."""
    if "@" in subject:
        workflow, version = subject.split("@", 1)
        return [Subject(workflow, version)]
    served = read(
        lambda s: list(
            s.exec(select(ExecutionRecord.workflow, ExecutionRecord.version).where(ExecutionRecord.request_class == subject).distinct())
        ),
        engine,
    )
    if served:
        return [Subject(workflow, version, subject) for workflow, version in sorted(served)]
    current = next((v for v in versions(subject, engine) if v.status == VersionStatus.live), None)
    if current is not None:
        return [Subject(current.workflow, current.version)]
    latest = read(
        lambda s: s.exec(
            select(ExecutionRecord.version).where(ExecutionRecord.workflow == subject).order_by(col(ExecutionRecord.at).desc()).limit(1)
        ).first(),
        engine,
    )
    return [Subject(subject, latest)] if latest is not None else []


def _registered_spec(key: str, engine: Engine | None) -> WorkflowSpec | None:
    row = read(lambda s: s.get(VersionRecord, key), engine)
    return WorkflowSpec.model_validate_json(row.spec_json) if row is not None else None


def _rows_of(subject: Subject) -> tuple:
    """Where-clauses for the execution rows of a subject's runs."""
    same_version = (ExecutionRecord.workflow == subject.workflow, ExecutionRecord.version == subject.version)
    return same_version if subject.request_class is None else (*same_version, ExecutionRecord.request_class == subject.request_class)


def _flow_runs(workflow: str, engine: Engine | None) -> dict[str, list[ExecutionRecord]]:
    """A workflow's dataset runs that made records, newest first, per version key."""
    rows = read(
        lambda s: list(
            s.exec(
                select(ExecutionRecord)
                .where(ExecutionRecord.workflow == workflow, ExecutionRecord.kind == "flow", ExecutionRecord.state != "Cached")
                .where(ExecutionRecord.records > 0)
                .order_by(col(ExecutionRecord.at).desc())
            )
        ),
        engine,
    )
    out: dict[str, list[ExecutionRecord]] = {}
    for row in rows:
        out.setdefault(f"{row.workflow}@{row.version}", []).append(row)
    return out


def _flow_validity(subject: Subject, engine: Engine | None) -> float | None:
    runs = [
        r
        for r in _flow_runs(subject.workflow, engine).get(f"{subject.workflow}@{subject.version}", [])
        if subject.request_class is None or r.request_class == subject.request_class
    ]
    requested = sum(r.records for r in runs)
    return sum(r.valid_records for r in runs) / requested if requested else None


def recurring_classes(workflow: str, *, engine: Engine | None = None) -> dict[str, int]:
    """Dataset runs of `workflow` per request class, when it has served more than one class (a
    workflow that only ever served one is already its specialist)."""
    runs = [r for rows in _flow_runs(workflow, engine).values() for r in rows if r.request_class]
    counts: dict[str, int] = {}
    for row in runs:
        counts[row.request_class] = counts.get(row.request_class, 0) + 1
    return counts if len(counts) > 1 else {}
