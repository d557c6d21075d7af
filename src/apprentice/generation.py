"""One stage's work: ask a model for a JSON value and make it valid, or say why it is not.

call (structured output when the backend has it) → parse/repair → coerce → validate →
targeted correction prompts quoting the failing paths. A value that still fails is returned with
`valid=False` and the reason; it is never passed off as valid.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from apprentice.backends.booking import Purpose
from apprentice.backends.pool import BackendPool
from apprentice.backends.types import CallResult, ChatMessage, ModelRequest
from apprentice.config import Tier
from apprentice.errors import BackendError, BackendErrorKind, BackendUnavailableError
from apprentice.shapes.budget import fit_schema
from apprentice.shapes.fixups import fix
from apprentice.shapes.prompts import MAX_SCHEMA_CHARS, correction_messages
from apprentice.shapes.repair import RepairCounts, Unparseable, coerce, parse_json
from apprentice.shapes.validate import ValidationIssue, validate
from apprentice.workflows import StageSpec

ModelT = TypeVar("ModelT", bound=BaseModel)

BACKEND_FAILURES = frozenset({BackendError.__name__, BackendUnavailableError.__name__})
"""`StageMetrics.error_class` values that mean no backend answered (not that the answer was bad)."""


class StageMetrics(BaseModel):
    """What one stage of one record cost and how it went; the apprenticeship learns from these."""

    stage: str
    role: str
    backend: str | None = None
    latency_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    attempts: int = 0
    corrections: int = 0
    valid: bool = False
    output_chars: int = 0
    error_class: str | None = None
    repairs: RepairCounts = Field(default_factory=RepairCounts)
    changed: bool | None = Field(None, description="the stage gave back a record other than the one it was given (None: it was given none)")
    entered_valid: bool | None = Field(
        None, description="a checking stage or correction round: the record it was given already passed (None: not measured)"
    )
    round: int | None = Field(None, description="correct loop: 0 for the first write, then the correction round (premium: max_rounds + 1)")


@dataclass
class Progress:
    """How far the record in flight has got: what a record stopped by its time budget reports."""

    stage: str | None = None
    calls: list[CallResult] = field(default_factory=list)


PROGRESS: ContextVar[Progress | None] = ContextVar("apprentice_record_progress", default=None)
"""Set per record by the dataset layer; the stages of that record (its own asyncio tasks) update it."""


class StageOutcome(BaseModel):
    value: Any = None
    valid: bool = False
    issues: list[ValidationIssue] = Field(default_factory=list)
    reason: str | None = None
    metrics: StageMetrics
    calls: list[CallResult] = Field(default_factory=list)


async def produce_valid(
    pool: BackendPool,
    stage: StageSpec,
    schema: Any,
    messages: list[ChatMessage],
    *,
    seed: int | None = None,
) -> StageOutcome:
    """Run one stage until its value validates against `schema` or its corrections run out."""
    metrics = StageMetrics(stage=stage.name, role=stage.role.value)
    outcome = StageOutcome(metrics=metrics)
    started = time.perf_counter()
    if (progress := PROGRESS.get()) is not None:
        progress.stage = stage.name
    structured = fit_schema(schema, MAX_SCHEMA_CHARS) if isinstance(schema, dict) else None  # the grammar steers to what the prompt shows
    try:
        answer = await _call(pool, stage, messages, structured, seed, outcome)
        for attempt in range(stage.corrections + 1):
            value, issues = _check(answer.text, schema, metrics.repairs, last=attempt == stage.corrections)
            outcome.value, outcome.issues = value, issues
            if not issues:
                outcome.valid = True
                break
            if attempt == stage.corrections:
                break
            metrics.corrections += 1
            fix = correction_messages(value, schema, issues)
            answer = await _call(pool, stage, fix, structured, None if seed is None else seed + attempt + 1, outcome)
    except (BackendError, BackendUnavailableError) as exc:
        metrics.error_class = type(exc).__name__
        outcome.reason = str(exc)
    if not outcome.valid and outcome.reason is None:
        outcome.reason = "; ".join(str(i) for i in outcome.issues[:5]) or "no valid value"
        metrics.error_class = metrics.error_class or "InvalidOutput"
    metrics.valid = outcome.valid
    metrics.latency_s = time.perf_counter() - started
    metrics.output_chars = len(str(outcome.value)) if outcome.value is not None else 0
    return outcome


async def _call(
    pool: BackendPool,
    stage: StageSpec,
    messages: list[ChatMessage],
    schema: dict[str, Any] | None,
    seed: int | None,
    outcome: StageOutcome,
) -> CallResult:
    request = ModelRequest(
        messages=messages, json_schema=schema, temperature=stage.temperature, max_tokens=stage.max_tokens, seed=seed, stage=stage.name
    )
    try:
        result = await pool.complete(request, backend=stage.backend, tier=stage.tier)
    except BackendUnavailableError as exc:
        # A server may reject a schema its grammar engine cannot compile: ask again without it.
        if schema is None or BackendErrorKind.schema_rejected not in exc.kinds:
            raise
        request = request.model_copy(update={"json_schema": None})
        result = await pool.complete(request, backend=stage.backend, tier=stage.tier)
    account(outcome.metrics, result)
    outcome.calls.append(result)
    if (progress := PROGRESS.get()) is not None:
        progress.calls.append(result)
    return result


def _check(text: str, schema: Any, counts: RepairCounts, *, last: bool = True) -> tuple[Any, list[ValidationIssue]]:
    """Parse, coerce, validate; on the stage's last attempt, apply deterministic fixups too."""
    try:
        value = parse_json(text, counts)
    except Unparseable as exc:
        return None, [ValidationIssue(path="", message=str(exc), keyword="json")]
    value = coerce(value, schema, counts)
    issues = validate(value, schema)
    if issues and last:
        fixed = fix(value, schema, issues, counts)
        if fixed is not value:
            value, issues = fixed, validate(fixed, schema)
    return value, issues


def account(metrics: StageMetrics, result: CallResult) -> None:
    """Add one call to a stage's metrics (latency is the stage's wall time, kept by its caller)."""
    metrics.backend = result.backend
    metrics.calls += 1
    metrics.attempts += result.attempts
    metrics.input_tokens += result.input_tokens
    metrics.output_tokens += result.output_tokens
    metrics.cost_usd += result.cost_usd


async def ask_structured(
    pool: BackendPool,
    messages: list[ChatMessage],
    schema: dict[str, Any],
    model: type[ModelT],
    *,
    purpose: Purpose | None,
    stage: str,
    tier: Tier | None = None,
    backend: str | None = None,
    temperature: float = 0.0,
    max_tokens: int | None = None,
) -> tuple[ModelT | None, CallResult | None]:
    """One structured question (judges, diagnoses, proposals): (the answer validated as `model`,
    or None if unusable; the call, or None if no backend answered). Never raises for either.
    `purpose` and `stage` are what the pool books the call as: a judge's call is monitoring or
    calibration whatever run it is made in; None is the run's own purpose (a consensus judge is
    part of making a record)."""
    request = ModelRequest(
        messages=messages, json_schema=schema, temperature=temperature, max_tokens=max_tokens, purpose=purpose, stage=stage
    )
    try:
        call = await pool.complete(request, backend=backend, tier=tier)
    except (BackendError, BackendUnavailableError):
        return None, None
    try:
        return model.model_validate(parse_json(call.text, RepairCounts())), call
    except (Unparseable, ValidationError, ValueError, TypeError):
        return None, call
