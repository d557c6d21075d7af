"""Moments in time as the field plan handles them: all UTC, never before 1900.

A date or naive datetime becomes an aware UTC moment (`_aware`), a value read back from a sampled
field becomes one again (`_parse_moment`), moments are drawn uniformly in a window
(`_moment_between`) and rendered as the field's schema wants them (`_render`: a date, an ISO
date-time with `Z`, or Unix seconds). Kept apart because the plan's overrides, the samplers and
the derivations all need the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from apprentice.shapes.validate import declared_types

_FLOOR = datetime(1900, 1, 1, tzinfo=UTC)


def _aware(moment: date | datetime | None) -> datetime | None:
    """A date as midnight UTC, a naive datetime as UTC."""
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(), UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _moment_between(rng: np.random.Generator, start: datetime, end: datetime) -> datetime:
    span = max(int((end - start).total_seconds()), 0)
    return start + timedelta(seconds=int(rng.integers(0, span + 1)))


def _render(moment: datetime, sub: Mapping[str, Any], default: str) -> Any:
    """ISO 8601 as the schema wants it: `date`, `date-time` (UTC, `Z`), or Unix seconds for
    an integer field."""
    types = declared_types(sub)
    if types and types <= {"integer", "number"}:
        return int(moment.timestamp())
    kind = sub.get("format") if sub.get("format") in ("date", "date-time") else default
    return moment.date().isoformat() if kind == "date" else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_moment(value: Any) -> datetime | None:
    """A datetime from an ISO date/date-time string or Unix seconds; None if neither."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None
