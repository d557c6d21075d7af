"""A dataset: `DatasetChecker`, what needs the other records (duplicate identifiers, near-duplicate
texts), and the tally of every defect into a `RealismReport`."""

from __future__ import annotations

import hashlib
import json
from array import array
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from apprentice.realism.defects import Defect, DefectKind
from apprentice.realism.hints import _hint_texts
from apprentice.realism.identifiers import _identifier
from apprentice.realism.leaves import _enumerated, _escape, _Leaf, _leaves
from apprentice.realism.normalise import _clip, _norm
from apprentice.realism.record import _check
from apprentice.realism.report import FieldRealism, RealismReport
from apprentice.shapes.fields import resolve_ref

_NEAR_WORDS = 6
_NEAR_JACCARD = 0.7


def _shingles(text: str) -> set[str]:
    words = _norm(text).split()
    return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)} if len(words) >= _NEAR_WORDS else set()


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def _digest(value: Any) -> int:
    return _hash(value.strip().casefold() if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str))


class DatasetChecker:
    """Accumulates a dataset record by record. `add` returns the defects that depend on other
    records (duplicate identifiers, near-duplicate texts) and counts every defect for `report`.

    Near duplicates: texts of at least six words in the same field whose word-3-gram shingle
    sets have Jaccard similarity ≥ 0.7 with an earlier record's; found through an inverted
    index over shingles, so an `add` costs time in proportion to the texts that share shingles
    with it, not to the whole dataset. `no_near_duplicates` names top-level fields left out of
    that check: pass a plan's sampled fields (a job title drawn from a list may well repeat).

    What it keeps grows with the records but not with their size: per identifier value its 64-bit
    hash and first record; per top-level field value a 64-bit hash (8 bytes, in an array); per
    text of six words or more its record and shingle count, and its shingles as 64-bit hashes in
    the inverted index. Records themselves are not kept."""

    def __init__(self, schema: dict[str, Any] | bool, *, now: datetime | None = None, no_near_duplicates: Iterable[str] = ()) -> None:
        self.schema = schema
        self.now = now
        self._skip = {"/" + _escape(name) for name in no_near_duplicates}
        self._hints = _hint_texts(schema)
        self._ids: dict[tuple[str, int], int] = {}
        self._id_fields: set[str] = set()
        self._postings: dict[str, dict[int, list[int]]] = {}
        self._text_records, self._text_sizes = array("q"), array("l")
        self._seen: dict[str, array] = {}
        self._fields: dict[str, FieldRealism] = {}
        self._defects: Counter[DefectKind] = Counter()
        self._records = self._clean = self._near = 0

    def add(self, index: int, record: Any, record_defects: list[Defect] | None = None) -> list[Defect]:
        """Check record `index` against the earlier ones; pass `record_defects` if `check_record`
        already ran on it (otherwise it runs here), so the report counts those too."""
        if record_defects is None:
            now = self.now or datetime.now(UTC)
            record_defects = _check(record, self.schema, self._hints, now if now.tzinfo else now.replace(tzinfo=UTC))
        leaves = list(_leaves(record, resolve_ref(self.schema, self.schema), self.schema))
        cross = self._duplicates(index, leaves) + self._near_duplicates(index, leaves)
        self._tally(record, record_defects + cross, any(d.kind is DefectKind.NEAR_DUPLICATE for d in cross))
        return cross

    def _duplicates(self, index: int, leaves: list[_Leaf]) -> list[Defect]:
        found = []
        for leaf in leaves:
            if not _identifier(leaf) or isinstance(leaf.value, bool):
                continue
            self._id_fields.add(leaf.pointer)
            slot = (leaf.pointer, _hash(str(leaf.value).strip().casefold()))
            first = self._ids.setdefault(slot, index)
            if first != index:
                message = f"{leaf.pointer} {_clip(str(leaf.value))!r} already belongs to record {first}"
                found.append(Defect(kind=DefectKind.DUPLICATE_IDENTIFIER, path=leaf.pointer, message=message))
        return found

    def _near_duplicates(self, index: int, leaves: list[_Leaf]) -> list[Defect]:
        found = []
        for leaf in leaves:
            top = "/" + leaf.pointer.split("/")[1] if leaf.pointer else ""
            text = isinstance(leaf.value, str) and not _enumerated(leaf.sub) and top not in self._skip
            shingles = {_hash(s) for s in _shingles(leaf.value)} if text else set()
            if not shingles:
                continue
            postings = self._postings.setdefault(leaf.key, {})
            shared = Counter(t for s in shingles for t in postings.get(s, ()) if self._text_records[t] != index)
            score, other = max(((n / (len(shingles) + self._text_sizes[t] - n), t) for t, n in shared.items()), default=(0.0, -1))
            if score >= _NEAR_JACCARD:
                message = f"nearly repeats record {self._text_records[other]}'s {leaf.key} (shingle Jaccard {score:.2f})"
                found.append(Defect(kind=DefectKind.NEAR_DUPLICATE, path=leaf.pointer, message=message))
            self._text_records.append(index)
            self._text_sizes.append(len(shingles))
            for s in shingles:
                postings.setdefault(s, []).append(len(self._text_records) - 1)
        return found

    def _tally(self, record: Any, defects: list[Defect], near: bool) -> None:
        self._records += 1
        self._clean += not defects
        self._near += near
        self._defects.update(d.kind for d in defects)
        for name, value in record.items() if isinstance(record, dict) else []:
            key = "/" + _escape(str(name))
            stats = self._fields.setdefault(key, FieldRealism())
            stats.values += 1
            self._seen.setdefault(key, array("Q")).append(_digest(value))
        for d in defects:
            top = "/" + d.path.split("/")[1] if d.path.count("/") >= 1 else "/"
            stats = self._fields.setdefault(top, FieldRealism())
            stats.defects[d.kind] = stats.defects.get(d.kind, 0) + 1

    def report(self) -> RealismReport:
        """The dataset so far."""
        fields = {}
        for key, stats in self._fields.items():
            distinct = len(set(self._seen.get(key, ()))) / stats.values if stats.values else 1.0
            update = {"distinct_ratio": round(distinct, 4), "defects": dict(stats.defects), "identifier": key in self._id_fields}
            fields[key] = stats.model_copy(update=update)
        return RealismReport(
            records=self._records,
            clean_records=self._clean,
            clean_share=self._clean / self._records if self._records else 0.0,
            defects={kind: self._defects.get(kind, 0) for kind in DefectKind},
            fields=fields,
            near_duplicate_rate=self._near / self._records if self._records else 0.0,
        )
