"""A dataset's realism as reported: per field (`FieldRealism`) and in all (`RealismReport`), with
the run's realism metrics and a few lines of findings."""

from __future__ import annotations

from pydantic import BaseModel, Field

from apprentice.realism.defects import DefectKind


class FieldRealism(BaseModel):
    """One top-level field over a dataset: how varied its values are and its defects by kind."""

    values: int = 0
    distinct_ratio: float = 1.0
    identifier: bool = Field(False, description="its values name one record (id, email, username, sku...)")
    defects: dict[DefectKind, int] = Field(default_factory=dict)


class RealismReport(BaseModel):
    """A dataset's realism: clean records (no defect of any kind), defects by kind and field,
    and the share of records that nearly repeat an earlier record's text."""

    records: int
    clean_records: int
    clean_share: float
    defects: dict[DefectKind, int]
    fields: dict[str, FieldRealism]
    near_duplicate_rate: float

    def metrics(self) -> dict[str, float]:
        """The execution metrics (`monitor/metrics.py`) this report gives: realism (clean share),
        distinct_ids (the lowest distinct ratio of an identifying field; 1 with none) and
        near_duplicates."""
        ids = [f.distinct_ratio for f in self.fields.values() if f.identifier and f.values > 1]
        return {"realism": self.clean_share, "distinct_ids": min(ids, default=1.0), "near_duplicates": self.near_duplicate_rate}

    def findings(self, limit: int = 4) -> list[str]:
        """What the checks found, a line each, for people and judges: defects by kind and field."""
        if not self.records or self.clean_records == self.records:
            return []
        lines = [f"{self.records - self.clean_records} of {self.records} records have a realism defect"]
        by_field = sorted(((n, kind, key) for key, f in self.fields.items() for kind, n in f.defects.items()), reverse=True)
        lines += [f"{n} × {kind.value} at {key}" for n, kind, key in by_field[:limit]]
        return lines
