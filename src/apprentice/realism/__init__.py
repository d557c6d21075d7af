"""Deterministic realism checks: what makes a person throw a schema-valid record away.

A small model's record can pass its JSON Schema and still be useless: a bio that repeats the
shape's hint ("A two-sentence biography of a person."), a placeholder ("string", "[Your Bio]",
"Lorem ipsum", `user@example.com`), JSON or chat debris inside a string (`"type':'array"`,
`]}\\nThe bio is indeed two sentences`, "Here is..."), a date in the year 0948, or the same email
as the record before. `check_record` finds what one record shows by itself; `DatasetChecker`
adds what needs the other records (duplicate identifiers, near-duplicate texts) and sums it all
up in a `RealismReport`. No model is called: every check is a rule, and every defect carries a
JSON-pointer path and a one-line message that a correction prompt can quote.

Where each part lives (a reader finds each concept in the module named after it):

- `defects`: the vocabulary, `DefectKind` and `Defect`.
- `record`: `check_record`, one record's checks in order.
- `dataset`: `DatasetChecker`: duplicate identifiers, near-duplicate texts, the tally.
- `report`: `RealismReport` and `FieldRealism`, the run's realism metrics and findings.
- `identifiers`: `identifier_name` and `looks_like_code`: values that name one record.
- checks of one string: `placeholders`, `echo`, `debris`, `prose` (with `is_prose_hint`).
- `dates`: implausible dates and ages.
- `contradictions`: a record's text against its own fields (age, birth year, pronouns, first
  person, surname, price, food talk, an event's span).
- `leaves`, `hints`, `normalise`: walking a record with its subschemas, the schema's hint texts
  (`hints_of`), and the text normalisation the checks share.

Names with a leading underscore are private to this package; importers use the names below.
"""

from apprentice.realism.dataset import DatasetChecker
from apprentice.realism.defects import Defect, DefectKind
from apprentice.realism.hints import hints_of
from apprentice.realism.identifiers import identifier_name, looks_like_code
from apprentice.realism.prose import is_prose_hint
from apprentice.realism.record import check_record
from apprentice.realism.report import FieldRealism, RealismReport

__all__ = [
    "DatasetChecker",
    "Defect",
    "DefectKind",
    "FieldRealism",
    "RealismReport",
    "check_record",
    "hints_of",
    "identifier_name",
    "is_prose_hint",
    "looks_like_code",
]
