"""Implausible dates: before 1900, over a year ahead, a birth date or an age outside 0–120, and a
whole date in prose in such a year."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from apprentice.realism.leaves import _Leaf
from apprentice.realism.normalise import _clip
from apprentice.shapes.fields import snake_case

_ISO = re.compile(
    r"^\s*(?P<y>[+-]?\d{1,6})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?\s*$",
    re.IGNORECASE,
)
_BIRTH_NAME = re.compile(r"(^|_)(dob|birthday|birthdate|birth_date|date_of_birth|born(_on|_at)?)$")


def _as_date(text: str) -> tuple[int, datetime | None] | None:
    """(year, moment) of an ISO-8601 date or date-time (moment None when the calendar rejects
    it or the year is outside datetime's range); None when it is not ISO-shaped."""
    match = _ISO.match(text)
    if not match:
        return None
    year = int(match["y"])
    try:
        moment = datetime(
            year, int(match["m"]), int(match["d"]), int(match["H"] or 0), int(match["M"] or 0), int(match["S"] or 0), tzinfo=UTC
        )
    except ValueError:
        return year, None
    return year, moment


_PROSE_DATE = re.compile(r"\b\d{1,2}[./]\d{1,2}[./](\d{4})\b|\b(\d{4})-\d{2}-\d{2}\b")


def _implausible_in_prose(leaf: _Leaf, now: datetime) -> str | None:
    """A whole date inside text whose year is before 1900 or over a year ahead ("Catherine Diaz
    1.02.1834 is a dramatherapist"). A bare year is left alone: history has years."""
    if not isinstance(leaf.value, str) or len(leaf.value.split()) < 3:
        return None
    for match in _PROSE_DATE.finditer(leaf.value):
        year = int(match.group(1) or match.group(2))
        if year < 1900 or year > now.year + 1:
            return f"mentions the date {match.group()!r}, in the year {year}"
    return None


def _bounded(sub: Mapping[str, Any]) -> bool:
    """The schema states bounds for this value: its plausibility is the schema's business."""
    return any(k in sub for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "formatMinimum", "formatMaximum"))


def _implausible(leaf: _Leaf, now: datetime) -> str | None:
    """Why a date (or an age) cannot be right: before 1900, over a year ahead, an age outside
    0–120. Only whole values that are dates by format, by field name or by shape."""
    snake = snake_case(leaf.name)
    if isinstance(leaf.value, (int, float)) and not isinstance(leaf.value, bool):
        if snake == "age" and not _bounded(leaf.sub) and not 0 <= leaf.value <= 120:
            return f"age {leaf.value} is outside 0–120"
        return None
    if not isinstance(leaf.value, str) or _bounded(leaf.sub):
        return None
    parsed = _as_date(leaf.value)
    if parsed is None:
        return None
    year, moment = parsed
    if year < 1900:
        return f"date {_clip(leaf.value)!r} is before 1900"
    if moment is None:
        return None
    if moment > now + timedelta(days=365):
        return f"date {_clip(leaf.value)!r} is more than a year in the future"
    if _BIRTH_NAME.search(snake):
        age = (now - moment).days / 365.2425
        if not 0 <= age <= 120:
            return f"birth date {_clip(leaf.value)!r} gives an age of {age:.0f}, outside 0–120"
    return None
