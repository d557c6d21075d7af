"""The vocabulary of the checks: a defect's kind, and a defect (kind, JSON-pointer path, message).

Declared once here; every check returns these, and a correction prompt quotes `str(defect)`.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class DefectKind(StrEnum):
    """What is wrong with a value, beyond its schema."""

    ECHO = "echo"
    PLACEHOLDER = "placeholder"
    DEBRIS = "debris"
    IMPLAUSIBLE_DATE = "implausible_date"
    DUPLICATE_IDENTIFIER = "duplicate_identifier"
    NEAR_DUPLICATE = "near_duplicate"
    BROKEN_CONSTRAINT = "broken_constraint"
    TRUNCATED = "truncated"


class Defect(BaseModel):
    """One defect: its kind, where (JSON pointer, e.g. `/bio`) and a one-line message."""

    kind: DefectKind
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"
