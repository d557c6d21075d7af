"""What a field plan is: for each top-level field, its source (sampled, derived or the model).

The pydantic models a workflow spec and a run exchange: `FieldOverride` (what a spec may say
about one field), `FieldPlan` (one field's decision and why), `RecordPlan` (the whole record, with
the order its filled fields are drawn in), and `FieldPlanError` for an override that cannot be
carried out. How a plan is made is in `planner`; these types depend on nothing else of the
package, so every other module can use them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from apprentice.errors import ConfigError
from apprentice.fieldplan.dates import _FLOOR, _aware


class FieldPlanError(ConfigError):
    """A field override cannot be carried out as written (unknown field, sampler or derivation)."""


class FieldSource(StrEnum):
    """Who fills a field: a sampler, a derivation from other fields, or the model."""

    SAMPLED = "sampled"
    DERIVED = "derived"
    MODEL = "model"


class FieldOverride(BaseModel):
    """What a workflow spec may say about one field, e.g. `{source: derived, from: name}`,
    `{source: model}` or `{source: sampled, sampler: date_time, after: 2019-01-01}`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: FieldSource
    sampler: str | None = None
    from_: list[str] | str | None = Field(None, alias="from")
    after: date | datetime | None = None
    before: date | datetime | None = None

    @model_validator(mode="after")
    def _window(self) -> FieldOverride:
        after, before = _aware(self.after), _aware(self.before)
        if after is not None and after < _FLOOR:
            raise ValueError("`after` must not be before 1900")
        if after is not None and before is not None and after >= before:
            raise ValueError("`after` must be earlier than `before`")
        return self

    @property
    def sources(self) -> list[str]:
        """The `from` fields as a list."""
        return [self.from_] if isinstance(self.from_, str) else list(self.from_ or [])


class FieldPlan(BaseModel):
    """The plan for one top-level field: its source, the sampler or derivation, and why."""

    name: str
    source: FieldSource
    sampler: str | None = None
    derived_from: list[str] = Field(default_factory=list)
    reason: str
    after: datetime | None = None
    before: datetime | None = None


class RecordPlan(BaseModel):
    """The plan for a whole record. `anchor` fixes the end of the default date window, so a
    rerun with the same plan makes the same dates whatever day it runs."""

    fields: list[FieldPlan] = Field(default_factory=list)
    locale: str = "en_US"
    anchor: date = Field(default_factory=lambda: datetime.now(UTC).date().replace(day=1))
    """The first day of the month: a run resumed tomorrow draws the same dates (they are in each
    batch's cache key); the window moves once a month."""

    def field(self, name: str) -> FieldPlan | None:
        """The plan of the field called `name`, if any."""
        return next((f for f in self.fields if f.name == name), None)

    # The name shadows pydantic's BaseModel.model_fields (a class-level mapping): kept, as callers
    # use it, but mypy rightly sees an incompatible override.
    def model_fields(self) -> list[str]:  # type: ignore[override]
        """Fields the model writes."""
        return [f.name for f in self.fields if f.source is FieldSource.MODEL]

    def filled_fields(self) -> list[str]:
        """Fields filled without the model (sampled or derived)."""
        return [f.name for f in self.fields if f.source is not FieldSource.MODEL]

    def sampled_share(self) -> float:
        """Share of fields filled without the model (0.0 for a plan with no fields)."""
        return len(self.filled_fields()) / len(self.fields) if self.fields else 0.0

    def table(self) -> list[dict[str, str]]:
        """One row per field, for printing."""
        return [
            {"field": f.name, "source": str(f.source), "sampler": f.sampler or "", "from": ", ".join(f.derived_from), "reason": f.reason}
            for f in self.fields
        ]

    def fill_order(self) -> list[FieldPlan]:
        """Filled fields, each after the fields it is derived from."""
        filled = {f.name: f for f in self.fields if f.source is not FieldSource.MODEL}
        order: list[FieldPlan] = []
        done: set[str] = set()

        def visit(name: str, trail: tuple[str, ...]) -> None:
            if name in done or name not in filled:
                return
            if name in trail:
                raise FieldPlanError(f"derived fields form a cycle: {' -> '.join((*trail, name))}")
            for source in filled[name].derived_from:
                visit(source, (*trail, name))
            done.add(name)
            order.append(filled[name])

        for name in filled:
            visit(name, ())
        return order
