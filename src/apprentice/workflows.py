"""Workflow specs: what a generation pattern does, as typed, hashable, serialisable data.

Everything later (apprenticeship state, trends, evolution) is keyed by a workflow *version*:
`name@version`, with a content hash over everything that changes behaviour, so two specs that
would behave the same share one hash whatever they are called.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from apprentice.config import Tier
from apprentice.errors import ConfigError
from apprentice.fieldplan import FieldOverride
from apprentice.monitor.options import MonitoringOptions, take_legacy_options
from apprentice.numeric import NumericSpec
from apprentice.rules import Rule
from apprentice.seeddata import SeedData
from apprentice.userfiles import read_text


class Pattern(StrEnum):
    sequential = "sequential"
    parallel = "parallel"
    correct_loop = "correct_loop"
    routed = "routed"
    consensus = "consensus"
    statistics = "statistics"


class StageRole(StrEnum):
    generate = "generate"
    enrich = "enrich"
    validate = "validate"
    correct = "correct"
    judge = "judge"


class StageSpec(BaseModel):
    """One step of a pattern: which model serves it, how, and which fields it is responsible for."""

    model_config = {"extra": "forbid"}

    name: str
    role: StageRole
    backend: str | None = None
    tier: Tier = Tier.fast
    prompt: str | None = Field(None, description="extra instructions appended to the stage's prompt")
    fields: list[str] | None = Field(None, description="top-level fields this stage fills; None = all")
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0)
    corrections: int = Field(2, ge=0, le=10, description="correction prompts allowed after a failed validation")


class MergePolicy(StrEnum):
    """How the parallel pattern merges its branches."""

    all_required = "all_required"  # every branch must succeed
    quorum = "quorum"  # each field needs `quorum` valid branches; majority value wins
    best_of_n = "best_of_n"  # each field from the best-scored valid branch


class RoutingPolicy(StrEnum):
    """How the routed pattern picks a record's tier (`learning/router.py`)."""

    static = "static"  # complexity score against the thresholds
    cascade = "cascade"  # cheapest tier first, one tier up after each failed attempt; learns nothing
    learned = "learned"  # the cheapest start predicted to pass, from outcomes per request class (Thompson sampling)


class RoutingSpec(BaseModel):
    """Complexity thresholds (scores are 0–100), an optional per-record budget, and the policy.

    A policy is part of the workflow version, so evolution compares one with another like any
    other change; `target_premium_share` calibrates the learned policy to send about that share
    of records to premium first (RouteLLM's threshold calibration)."""

    model_config = {"extra": "forbid"}

    quality_from: float = Field(25, ge=0, le=100)
    premium_from: float = Field(60, ge=0, le=100)
    budget_usd: float | None = Field(None, ge=0, description="highest estimated cost per record")
    policy: RoutingPolicy = RoutingPolicy.static
    target_premium_share: float | None = Field(
        None, ge=0, le=1, description="learned: the share of records sent to premium first (None: as cost and validity decide)"
    )

    def hashed(self) -> dict[str, Any]:
        """The routing as hashed: settings added since hashes were first kept count only where set,
        so a spec that does not use them keeps its hash."""
        body = self.model_dump(mode="json")
        for name in ("policy", "target_premium_share"):
            if body[name] == RoutingSpec.model_fields[name].default:
                body.pop(name)
        return body


class WorkflowSpec(BaseModel):
    """A named, versioned pipeline of stages run by one pattern.

    Pattern settings are typed fields: `merge`/`quorum` (parallel), `rules`/`max_rounds`
    (correct_loop; rules also apply to every pattern's final check), `routes`/`routing` (routed:
    a sub-workflow per tier, any pattern, so patterns compose), `statistics` (statistics path).
    """

    model_config = {"extra": "forbid"}

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: str = "1.0.0"
    pattern: Pattern = Pattern.sequential
    description: str = ""
    stages: list[StageSpec] = Field(default_factory=list)
    merge: MergePolicy = MergePolicy.all_required
    quorum: int | None = Field(None, ge=1)
    rules: list[Rule] = Field(default_factory=list)
    max_rounds: int = Field(3, ge=1, le=10, description="correct_loop: correction rounds before the premium pass")
    routes: dict[Tier, WorkflowSpec] = Field(default_factory=dict)
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    statistics: NumericSpec | None = None
    sampling: bool = Field(
        True,
        description=(
            "sample or derive the fields a library does better than a model (names, emails, dates, enums...); False: the model "
            "writes every field"
        ),
    )
    realism_checks: bool = Field(
        True,
        description=(
            "check every record for echoed hints, placeholders, debris, implausible dates and duplicates; correct, regenerate, reject"
        ),
    )
    fields: dict[str, FieldOverride] = Field(
        default_factory=dict, description="per-field overrides of the field plan, e.g. {email: {source: derived, from: name}}"
    )
    seed_data: SeedData | None = Field(
        None, description="a CSV/JSONL/Parquet file whose rows the records are about, e.g. {path: products.csv, mode: each}"
    )
    record_timeout_s: float = Field(
        300.0,
        gt=0,
        description=(
            "seconds one record may take, every attempt and correction included; then it is rejected as timed out, with the "
            "stage it reached"
        ),
    )
    monitoring: MonitoringOptions = Field(
        default_factory=MonitoringOptions, description="apprenticeship, drift, judges and canary settings of this workflow"
    )
    options: dict[str, Any] = Field(default_factory=dict, description="free-form settings for extensions")

    @model_validator(mode="before")
    @classmethod
    def _typed_monitoring(cls, data: Any) -> Any:
        return take_legacy_options(data) if isinstance(data, dict) else data

    @model_validator(mode="before")
    @classmethod
    def _name_routes(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("routes"), dict):
            parent = data.get("name", "workflow")
            data = {
                **data,
                "routes": {
                    tier: ({"name": f"{parent}.{tier}", **route} if isinstance(route, dict) else route)
                    for tier, route in data["routes"].items()
                },
            }
        return data

    @model_validator(mode="after")
    def _check(self) -> WorkflowSpec:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError("stage names must be unique within a workflow")
        generators = [s for s in self.stages if s.role is StageRole.generate]
        if self.pattern is Pattern.routed:
            if not self.routes and not self.stages:
                raise ValueError("a routed workflow needs `routes` (a workflow per tier) or stages to re-tier")
            return self
        if self.pattern is Pattern.statistics:
            if self.statistics is None:
                raise ValueError("a statistics workflow needs a `statistics` section")
            return self
        if not self.stages:
            raise ValueError("a workflow needs at least one stage")
        if self.pattern in (Pattern.sequential, Pattern.correct_loop) and self.stages[0].role is not StageRole.generate:
            raise ValueError(f"a {self.pattern.value} workflow starts with a generate stage")
        if self.pattern is Pattern.parallel:
            if not generators:
                raise ValueError("a parallel workflow needs generate stages (its branches)")
            if self.merge is MergePolicy.quorum and (self.quorum or 0) > len(generators):
                raise ValueError(f"quorum {self.quorum} is more than the {len(generators)} branches")
        if self.pattern is Pattern.consensus and len(generators) < 2:
            raise ValueError("a consensus workflow needs at least two generate stages (its candidates)")
        return self

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def content_hash(self) -> str:
        """Hash of what changes behaviour (pattern, stages, settings), not of name or version."""
        return _digest(self._hashed_body(top=True))

    @property
    def records_hash(self) -> str:
        """Hash of what decides the records themselves: the content hash with `record_timeout_s`
        at its default, since it only decides how long a record may take. A batch is keyed by it, so the rerun that
        the out-of-time message asks for (a larger `record_timeout_s`) keeps the records already
        made and makes only the rest."""
        return _digest(_at_default_timeout(self._hashed_body(top=True)))

    def _hashed_body(self, *, top: bool) -> dict[str, Any]:
        """The spec as hashed. Monitoring options are hashed where the free `options` held them
        before they were typed, and only where they differ from the defaults, so no hash moved."""
        body = self.model_dump(mode="json", exclude={"monitoring", "routes", *(("name", "version", "description") if top else ())})
        body["options"] = {**body["options"], **self.monitoring.model_dump(mode="json", exclude_defaults=True)}
        body["routes"] = {tier.value: route._hashed_body(top=False) for tier, route in self.routes.items()}
        body["routing"] = self.routing.hashed()
        return body


def _at_default_timeout(body: dict[str, Any]) -> dict[str, Any]:
    """The hashed body with every `record_timeout_s` (routes' too) at its default: a spec left at
    the default keeps the batch keys it had before the records hash existed."""
    default = WorkflowSpec.model_fields["record_timeout_s"].default
    routes = {tier: _at_default_timeout(route) for tier, route in body["routes"].items()}
    return {**body, "record_timeout_s": default, "routes": routes}


def _digest(body: dict[str, Any]) -> str:
    if body.get("seed_data"):  # where the file lies is not behaviour; its rows are in each batch's key
        body["seed_data"].pop("path")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def default_spec(name: str = "default") -> WorkflowSpec:
    """One generate stage plus validation: what `apprentice generate` runs without a spec file."""
    return WorkflowSpec(
        name=name,
        stages=[
            StageSpec(name="generate", role=StageRole.generate),
            StageSpec(name="validate", role=StageRole.validate),
        ],
    )


def load_spec(path: Path | str) -> WorkflowSpec:
    """Read a spec from YAML or JSON, with a one-line error for anything wrong in it."""
    path = Path(path)
    text = read_text(path, "workflow spec", ConfigError)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"workflow spec {path} is not valid YAML/JSON: {exc}") from None
    spec = parse_spec(data, source=str(path))
    if spec.seed_data is not None and not Path(spec.seed_data.path).is_absolute():
        resolved = (path.parent / spec.seed_data.path).resolve()
        spec = spec.model_copy(update={"seed_data": spec.seed_data.model_copy(update={"path": str(resolved)})})
    return spec


def parse_spec(data: Any, *, source: str = "workflow spec") -> WorkflowSpec:
    if isinstance(data, WorkflowSpec):
        return data
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise ConfigError(f"{source}: {where}: {err['msg']}") from None
