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


class WorkflowSpec(BaseModel):
    """A named, versioned pipeline of stages run by one pattern."""

    model_config = {"extra": "forbid"}

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: str = "1.0.0"
    pattern: Pattern = Pattern.sequential
    description: str = ""
    stages: list[StageSpec]
    options: dict[str, Any] = Field(default_factory=dict, description="pattern-specific settings")

    @model_validator(mode="after")
    def _check(self) -> WorkflowSpec:
        if not self.stages:
            raise ValueError("a workflow needs at least one stage")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError("stage names must be unique within a workflow")
        if self.pattern is Pattern.sequential and self.stages[0].role is not StageRole.generate:
            raise ValueError("a sequential workflow starts with a generate stage")
        return self

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def content_hash(self) -> str:
        """Hash of what changes behaviour (pattern, stages, options), not of name or version."""
        body = self.model_dump(mode="json", include={"pattern", "stages", "options"})
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
    if not path.is_file():
        raise ConfigError(f"workflow spec {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"workflow spec {path} is not valid YAML/JSON: {exc}") from None
    return parse_spec(data, source=str(path))


def parse_spec(data: Any, *, source: str = "workflow spec") -> WorkflowSpec:
    if isinstance(data, WorkflowSpec):
        return data
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise ConfigError(f"{source}: {where}: {err['msg']}") from None
