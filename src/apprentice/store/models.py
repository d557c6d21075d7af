"""Store tables. The store is the truth: hooks run in other processes and keep nothing in memory."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class CallRecord(SQLModel, table=True):
    """The call ledger: one row per model request and backend the pool tried (its HTTP attempts
    with their retries), served or failed; booked by the pool itself (`backends/booking.py`)."""

    __tablename__ = "call_ledger"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    run_id: str = Field(index=True, description="the Prefect task run that made the call, or a local id")
    workflow: str = Field(index=True)
    version: str
    stage: str
    purpose: str = Field(default="generation", description="a `backends.booking.Purpose`: generation, monitoring, calibration, shadow...")
    backend: str = Field(index=True)
    model: str
    tier: str
    latency_s: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
    attempts: int = Field(description="HTTP requests made to this backend for the call, retries included")
    failed_over_from: str = ""
    error: str = Field(default="", description="why the backend failed the call (a `BackendErrorKind`, or cancelled); empty if served")


class ExecutionRecord(SQLModel, table=True):
    """One execution of a workflow version's stage (a task run) or of the whole workflow (a flow run).

    Keyed by the run id, so a hook that fires twice writes one row.
    """

    __tablename__ = "executions"

    run_id: str = Field(primary_key=True)
    kind: str = Field(description="task | flow")
    at: datetime = Field(default_factory=utcnow, index=True)
    workflow: str = Field(index=True)
    version: str = Field(index=True)
    stage: str = ""
    state: str = Field(description="Prefect state name: Completed, Cached, Failed, Crashed...")
    records: int = 0
    valid_records: int = 0
    latency_s: float = Field(
        default=0.0, description="mean seconds per record (model calls and repair, all of a stage's or the run's stages)"
    )
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    attempts: int = 0
    corrections: int = 0
    validity: float = 0.0
    quality: float | None = Field(
        default=None, description="mean first-pass quality: 1 per record valid with no correction, 1/(1+k) after k, 0 if invalid"
    )
    output_chars: int = 0
    realism: float | None = Field(default=None, description="share of written records with no realism defect (flow rows)")
    error_class: str | None = None
    request_class: str = Field(default="", index=True, description="the run's request class (`learning.requests.class_of`)")
    round: int | None = Field(
        default=None, description="correct loop: the round of the stage row (0 the first write; premium max_rounds + 1)"
    )
    compared_records: int = Field(default=0, description="records the stage was given a record for (so could change it)")
    changed_records: int = Field(default=0, description="of those, records the stage gave back changed")
    measured_records: int = Field(default=0, description="records whose validity was measured as the stage got them (checks, rounds)")
    entered_valid_records: int = Field(default=0, description="of those, records that already passed as the stage got them")
    fixed_records: int = Field(default=0, description="of those, records that entered failing and left valid")
    broken_records: int = Field(default=0, description="of those, records that entered valid and left failing")
    corrected_records: int = Field(default=0, description="records the stage sent at least one correction prompt for")
    corrected_valid_records: int = Field(default=0, description="of those, records valid after their corrections")


class KeptRecord(SQLModel, table=True):
    """A record an incomplete batch made (valid, or rejected for its content) before backends
    failed it. The batch's rerun reuses these and makes only the rest; completing drops them."""

    __tablename__ = "kept_records"

    batch_key: str = Field(primary_key=True, description="the batch's content key (`BatchPlan.cache_key`)")
    record_index: int = Field(primary_key=True)
    outcome_json: str
    at: datetime = Field(default_factory=utcnow)


class CachedVariant(SQLModel, table=True):
    """A pre-generated record for a shape that asks for `$cache: N` variants. Keyed by the shape's
    and the spec's content hashes, so a changed shape or spec never serves stale variants."""

    __tablename__ = "cached_variants"

    id: int | None = Field(default=None, primary_key=True)
    cache_key: str = Field(index=True)
    workflow: str = Field(index=True)
    position: int
    record_json: str
    at: datetime = Field(default_factory=utcnow)


class WorkflowState(SQLModel, table=True):
    """The apprenticeship of one workflow version: its state, its learned profile, its costs."""

    __tablename__ = "workflow_states"

    key: str = Field(primary_key=True, description="workflow@version")
    workflow: str = Field(index=True)
    version: str
    state: str = "apprentice"
    executions: int = 0
    good_executions: int = 0
    good_by_judges: int = Field(default=0, description="good executions a reliable judge judged normal")
    good_by_checks: int = Field(default=0, description="good executions on deterministic checks alone (no reliable judge)")
    refused_executions: int = Field(
        default=0, description="executions not learned: failed, deterministic defects, or judged bad by a reliable judge"
    )
    graduate_after: int | None = Field(
        default=None, description="good executions this version needs to graduate (its policy at the last run)"
    )
    judge_calls: int = 0
    executions_apprentice: int = 0
    executions_graduated: int = 0
    monitoring_cost_apprentice: float = 0.0
    monitoring_cost_graduated: float = 0.0
    profile_json: str = "{}"
    drift_json: str = "{}"
    recent_json: str = Field(default="[]", description="the last executions' metrics, for investigations")
    source_json: str = Field(default="{}", description="the last run's shape and spec references, for evolution triggers")
    last_drift_at: datetime | None = None
    last_drift_reason: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class StateTransition(SQLModel, table=True):
    """Every change of a workflow version's state, with why."""

    __tablename__ = "state_transitions"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    workflow: str = Field(index=True)
    version: str
    from_state: str
    to_state: str
    reason: str
    run_id: str | None = None


class TrendWarning(SQLModel, table=True):
    """A trend that matters, found by the daily trend flow."""

    __tablename__ = "trend_warnings"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    workflow: str = Field(index=True)
    version: str
    metric: str
    severity: str
    relative_per_week: float
    projection: float
    horizon_days: int
    reason: str


class VersionRecord(SQLModel, table=True):
    """An immutable workflow version with its lineage, status and share of traffic."""

    __tablename__ = "workflow_versions"

    key: str = Field(primary_key=True, description="workflow@version")
    workflow: str = Field(index=True)
    version: str
    spec_json: str
    content_hash: str
    parent: str | None = None
    mutation: str | None = None
    reason: str = ""
    status: str = Field(default="candidate", description="candidate | live | canary | retired | rejected | rolled_back")
    traffic: float = 0.0
    at: datetime = Field(default_factory=utcnow)


class AvoidanceRule(SQLModel, table=True):
    """A mutation that failed somewhere: what changed, in which context, why. Every workflow's
    evolution consults these, so the same mistake is not tried twice anywhere."""

    __tablename__ = "avoidance_rules"

    id: int | None = Field(default=None, primary_key=True)
    signature: str = Field(index=True, description="operator:context:change")
    operator: str
    context: str
    change: str
    reason: str
    source: str = Field(description="the workflow version where it failed")
    at: datetime = Field(default_factory=utcnow)


class JudgeReliability(SQLModel, table=True):
    """What calibration on planted defects measured of one judge backend (`monitor/calibration.py`)."""

    __tablename__ = "judge_reliability"

    judge: str = Field(primary_key=True, description="the judge backend's name")
    tier: str = ""
    planted: int = 0
    detected: int = 0
    clean: int = 0
    false_alarms: int = 0
    by_kind_json: str = Field(default="{}", description="planted kind → [detected, planted]")
    updated_at: datetime = Field(default_factory=utcnow)


class RouteOutcome(SQLModel, table=True):
    """What records of one request class became on one tier, summed (`learning/router.py`):
    the learned router's evidence, kept across runs and processes."""

    __tablename__ = "route_outcomes"

    class_key: str = Field(primary_key=True, description="the request class (`learning.requests.class_of`)")
    tier: str = Field(primary_key=True)
    trials: int = 0
    passes: int = Field(default=0, description="records valid and realism-clean at the pattern's final check")
    valid: int = 0
    realistic: int = 0
    latency_s: float = Field(default=0.0, description="sum over the trials")
    cost_usd: float = Field(default=0.0, description="sum over the trials")
    updated_at: datetime = Field(default_factory=utcnow)


class LibrarySolution(SQLModel, table=True):
    """A solution that validated, as data (`learning/library.Solution` as JSON): its workflow spec,
    field plan, statistics spec, prompts and measured results, and its request's representation."""

    __tablename__ = "library_solutions"

    id: str = Field(primary_key=True, description="hash of the request's representation")
    class_key: str = Field(index=True)
    solution_json: str
    at: datetime = Field(default_factory=utcnow)


class LibraryThresholds(SQLModel, table=True):
    """The solution library's similarity thresholds, as learned from reuses and adaptations."""

    __tablename__ = "library_thresholds"

    name: str = Field(primary_key=True)
    reuse: float
    adapt: float
    pattern: float
    at: datetime = Field(default_factory=utcnow)
