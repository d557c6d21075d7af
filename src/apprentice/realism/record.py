"""One record: `check_record`, everything a record shows by itself.

Schema breaks, then per leaf the first defect a string shows (`_string_defect` lists the checks
in order), a number counted up and an implausible date, then the contradictions between fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from apprentice.realism.contradictions import (
    _age_contradictions,
    _birth_year_contradictions,
    _durations_longer_than_life,
    _event_too_long,
    _first_person_slips,
    _food_talk,
    _misspelt_names,
    _price_contradictions,
    _pronoun_contradictions,
    _reviewer_voice,
)
from apprentice.realism.dates import _implausible, _implausible_in_prose
from apprentice.realism.debris import _debris, _fields_pasted
from apprentice.realism.defects import Defect, DefectKind
from apprentice.realism.echo import _echo
from apprentice.realism.hints import _hint_texts
from apprentice.realism.leaves import _enumerated, _Leaf, _leaves
from apprentice.realism.placeholders import _code_as_name, _counted_up, _placeholder
from apprentice.realism.prose import _not_prose, _slot_in_prose, _table_in_prose, _talks_about_itself, _truncated
from apprentice.shapes.fields import resolve_ref
from apprentice.shapes.validate import validate


def _string_defect(leaf: _Leaf, hints: Mapping[str, list[tuple[str, str]]]) -> Defect | None:
    """The first of placeholder, echo and debris that a string value shows (one per value, so
    a correction prompt gets one clear reason per path)."""
    checks = (
        (DefectKind.PLACEHOLDER, _placeholder),
        (DefectKind.PLACEHOLDER, _code_as_name),
        (DefectKind.PLACEHOLDER, lambda lf: _slot_in_prose(lf, hints)),
        (DefectKind.ECHO, lambda lf: _echo(lf, hints)),
        (DefectKind.DEBRIS, lambda lf: _talks_about_itself(lf, hints)),
        (DefectKind.DEBRIS, _debris),
        (DefectKind.DEBRIS, lambda lf: _table_in_prose(lf, hints)),
        (DefectKind.PLACEHOLDER, lambda lf: _not_prose(lf, hints)),
        (DefectKind.TRUNCATED, lambda lf: _truncated(lf, hints)),
    )
    for kind, check in checks:
        message = check(leaf)
        if message:
            return Defect(kind=kind, path=leaf.pointer, message=message)
    return None


def _check(record: Any, schema: Any, hints: Mapping[str, list[tuple[str, str]]], now: datetime) -> list[Defect]:
    defects = [Defect(kind=DefectKind.BROKEN_CONSTRAINT, path=i.path, message=i.message) for i in validate(record, schema)]
    for leaf in _leaves(record, resolve_ref(schema, schema), schema):
        if isinstance(leaf.value, str) and not _enumerated(leaf.sub):
            found = _string_defect(leaf, hints)
            if found:
                defects.append(found)
        if _counted_up(leaf.value):
            defects.append(Defect(kind=DefectKind.PLACEHOLDER, path=leaf.pointer, message=f"is a placeholder number ({leaf.value})"))
        message = _implausible(leaf, now) or _implausible_in_prose(leaf, now)
        if message:
            defects.append(Defect(kind=DefectKind.IMPLAUSIBLE_DATE, path=leaf.pointer, message=message))
    contradictions = _age_contradictions(record) + _birth_year_contradictions(record, now) + _pronoun_contradictions(record)
    contradictions += _first_person_slips(record) + _price_contradictions(record) + _durations_longer_than_life(record)
    contradictions += _misspelt_names(record) + _event_too_long(record) + _food_talk(record) + _reviewer_voice(record)
    return defects + contradictions + _fields_pasted(record, schema)


def check_record(record: Any, schema: dict[str, Any] | bool, *, now: datetime | None = None) -> list[Defect]:
    """Everything one record shows by itself: schema breaks (`broken_constraint`), echoes of the
    shape's hints, placeholders, JSON/markup/chat debris, prose cut off mid-sentence and
    implausible dates, and prose that states an age other than the record's `age`. `now` (UTC by
    default) anchors "more than a year in the future" and ages."""
    now = now or datetime.now(UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    return _check(record, schema, _hint_texts(schema), now)
