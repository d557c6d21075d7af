"""A run's files, written batch by batch as batches finish, never held whole in memory.

`NAME.jsonl` (or `NAME.parquet`, `NAME.csv`: `formats.py`) holds the valid records in index
order, `NAME.meta.jsonl` every record's version and pattern facts (routing score and tier,
branches, attempts, votes), `NAME.rejects.jsonl` the records rejected for their content with
their reasons; with a statistics-path report, `NAME.verification.json` too. Meta rows and rejects
are JSONL in every format. Every file grows under a temporary name and is renamed when the run
commits, so a killed run never leaves half a file and its rerun writes the same final files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apprentice.errors import OutputError
from apprentice.formats import Format, JsonLines, RecordsWriter, records_writer
from apprentice.numeric import NumericReport
from apprentice.records import RecordOutcome

if TYPE_CHECKING:
    from apprentice.dataset import BatchResult


def meta_path(out: Path) -> Path:
    return out.with_suffix(".meta.jsonl")


def rejects_path(out: Path) -> Path:
    """Where the rejects of an output file go: beside it, `NAME.rejects.jsonl`."""
    return out.with_suffix(".rejects.jsonl")


def _temporary(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def meta_row(outcome: RecordOutcome, version: str) -> dict[str, Any]:
    row = {"index": outcome.index, "valid": outcome.valid, "version": version, **outcome.meta}
    if outcome.unmade:
        row["not_made"] = outcome.reason
    return row


class DatasetWriter:
    """Appends outcomes, in the order given (the caller gives them in index order), to the
    temporary files: the valid records in `fmt` (columns from `json_schema`, the shape's, for
    Parquet and CSV), meta rows and rejects as JSONL; `commit` renames them into place,
    `discard` removes them."""

    def __init__(self, out: Path, fmt: Format = Format.jsonl, json_schema: Any = None) -> None:
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self._records = records_writer(_temporary(out), fmt, json_schema)
        self._meta = JsonLines(_temporary(meta_path(out)))
        self._rejects: JsonLines | None = None  # opened at the first reject: a clean run has no rejects file

    def write(self, outcomes: list[RecordOutcome], version: str) -> None:
        """Append a batch's outcomes (made by `version`, `workflow@version`); a full disk raises
        `OutputError`."""
        with _writing(self.out):
            self._write(outcomes, version)

    def _write(self, outcomes: list[RecordOutcome], version: str) -> None:
        self._records.write([o.record for o in outcomes if o.valid])
        self._meta.write([meta_row(o, version) for o in outcomes])
        rejects = [{"index": o.index, "reason": o.reason, "record": o.record} for o in outcomes if not o.valid and not o.unmade]
        if rejects:
            self._rejects = self._rejects or JsonLines(_temporary(rejects_path(self.out)))
            self._rejects.write(rejects)

    def commit(self, numeric: NumericReport | None = None) -> tuple[Path, Path | None]:
        """Move the files into place; returns the records file and the rejects file, if any. A
        full disk (the files' last bytes are written as they close) discards them and raises
        `OutputError`."""
        try:
            with _writing(self.out):
                return self._commit(numeric)
        except OutputError:
            self.discard()
            raise

    def _commit(self, numeric: NumericReport | None) -> tuple[Path, Path | None]:
        for writer in self._writers():
            writer.close()
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
        for writer in self._writers():
            with contextlib.suppress(Exception):  # the run's own error is the one to report
                writer.close()
            writer.path.unlink(missing_ok=True)

    def _writers(self) -> list[RecordsWriter]:
        return [w for w in (self._records, self._meta, self._rejects) if w is not None]


@contextlib.contextmanager
def _writing(out: Path) -> Iterator[None]:
    """An OSError while writing a run's files as the one line a person reads, with what to do."""
    try:
        yield
    except OSError as exc:
        raise OutputError(
            f"cannot write {out.name} in {out.parent}: {exc.strerror or exc}; its partial files are removed and what the run made "
            "is kept: free some space there (or choose another --out) and run the same command again to resume"
        ) from None


def write_outputs(batches: list[BatchResult], out: Path, numeric: NumericReport | None = None) -> tuple[Path, Path | None]:
    """Write whole batches at once (a run streams them through `DatasetWriter` instead)."""
    writer = DatasetWriter(out)
    for outcome, version in sorted(((o, f"{b.workflow}@{b.version}") for b in batches for o in b.outcomes), key=lambda pair: pair[0].index):
        writer.write([outcome], version)
    return writer.commit(numeric)
