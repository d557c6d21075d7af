"""A run's files, written batch by batch as batches finish, never held whole in memory.

`NAME.jsonl` holds the valid records in index order, `NAME.meta.jsonl` every record's version and
pattern facts (routing score and tier, branches, attempts, votes), `NAME.rejects.jsonl` the
records rejected for their content with their reasons; with a statistics-path report,
`NAME.verification.json` too. Every file grows under a temporary name and is renamed when the run
commits, so a killed run never leaves half a file and its rerun writes the same final files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from apprentice.numeric import NumericReport
from apprentice.records import FailureKind, RecordOutcome

if TYPE_CHECKING:
    from apprentice.dataset import BatchResult


def meta_path(out: Path) -> Path:
    return out.with_suffix(".meta.jsonl")


def rejects_path(out: Path) -> Path:
    """Where the rejects of an output file go: beside it, `NAME.rejects.jsonl`."""
    return out.with_suffix(".rejects.jsonl")


def _temporary(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def _line(row: Any) -> str:
    return json.dumps(row, ensure_ascii=False, default=str) + "\n"


def meta_row(outcome: RecordOutcome, version: str) -> dict[str, Any]:
    row = {"index": outcome.index, "valid": outcome.valid, "version": version, **outcome.meta}
    if outcome.failure is FailureKind.backend:
        row["not_made"] = outcome.reason
    return row


class DatasetWriter:
    """Appends outcomes, in the order given (the caller gives them in index order), to the
    temporary files; `commit` renames them into place, `discard` removes them."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self._records = self._open(out)
        self._meta = self._open(meta_path(out))
        self._rejects: IO[str] | None = None  # opened at the first reject: a clean run has no rejects file

    @staticmethod
    def _open(path: Path) -> IO[str]:
        return _temporary(path).open("w", encoding="utf-8", errors="backslashreplace")  # a lone surrogate stays a JSON \u escape

    def write(self, outcomes: list[RecordOutcome], version: str) -> None:
        """Append a batch's outcomes (made by `version`, `workflow@version`)."""
        for outcome in outcomes:
            if outcome.valid:
                self._records.write(_line(outcome.record))
            self._meta.write(_line(meta_row(outcome, version)))
            if not outcome.valid and outcome.failure is not FailureKind.backend:
                self._rejects = self._rejects or self._open(rejects_path(self.out))
                self._rejects.write(_line({"index": outcome.index, "reason": outcome.reason, "record": outcome.record}))

    def commit(self, numeric: NumericReport | None = None) -> tuple[Path, Path | None]:
        """Move the files into place; returns the records file and the rejects file, if any."""
        for handle in self._handles():
            handle.close()
        os.replace(_temporary(self.out), self.out)
        os.replace(_temporary(meta_path(self.out)), meta_path(self.out))
        if numeric is not None:
            self.out.with_suffix(".verification.json").write_text(numeric.model_dump_json(indent=2))
        rejects = rejects_path(self.out)
        if self._rejects is None:
            rejects.unlink(missing_ok=True)
            return self.out, None
        os.replace(_temporary(rejects), rejects)
        return self.out, rejects

    def discard(self) -> None:
        """A run that ended in an error: remove the temporary files, leave earlier outputs be."""
        for handle in self._handles():
            handle.close()
            Path(handle.name).unlink(missing_ok=True)

    def _handles(self) -> list[IO[str]]:
        return [h for h in (self._records, self._meta, self._rejects) if h is not None]


def write_outputs(batches: list[BatchResult], out: Path, numeric: NumericReport | None = None) -> tuple[Path, Path | None]:
    """Write whole batches at once (a run streams them through `DatasetWriter` instead)."""
    writer = DatasetWriter(out)
    for outcome, version in sorted(((o, f"{b.workflow}@{b.version}") for b in batches for o in b.outcomes), key=lambda pair: pair[0].index):
        writer.write([outcome], version)
    return writer.commit(numeric)
