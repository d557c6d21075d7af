"""Seed data: rows of a CSV, JSONL or Parquet file that condition a dataset's records.

"A review for each product in products.csv": a spec names the file (`seed_data: {path:
products.csv}`) and record *i* is written about row *i* (`mode: each`, cycling when the dataset
is longer than the file) or about a row drawn from (seed, i) (`mode: sample`). A column named like
a top-level field of the shape fills that field when its value is valid for it; every other
column is told to the model as what the record is about. Rows are read once per run, before any
batch, and travel in the batches' given values, so they are part of each batch's cache key and a
rerun of the same night makes the same records.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from apprentice.errors import ConfigError
from apprentice.shapes.validate import declared_types, field_issues

__all__ = ["ABOUT", "SeedData", "SeedDataError", "load_rows", "seed_rows", "split_row"]

ABOUT = "$about"
"""The key, inside a record's given values, of the seed row's columns that are not fields."""

FORMATS = (".csv", ".jsonl", ".ndjson", ".parquet")


class SeedDataError(ConfigError):
    """The seed-data file cannot be used: missing, empty, of an unknown format, or malformed."""


class SeedData(BaseModel):
    """What a workflow spec says about its seed data."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="a .csv, .jsonl or .parquet file; relative paths are relative to the spec file")
    mode: Literal["each", "sample"] = Field("each", description="each: record i is about row i (cycling); sample: a seeded draw per record")
    columns: list[str] | None = Field(None, description="the columns to use (default: all)")


def load_rows(path: Path | str, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """The file's rows as dicts (CSV values stay strings; JSONL and Parquet keep their types)."""
    path = Path(path)
    if not path.is_file():
        raise SeedDataError(f"seed data {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SeedDataError(f"seed data {path}: unknown format {suffix or '(none)'}; use one of {', '.join(FORMATS)}")
    rows = _read_csv(path) if suffix == ".csv" else _read_parquet(path) if suffix == ".parquet" else _read_jsonl(path)
    if not rows:
        raise SeedDataError(f"seed data {path} has no rows")
    if columns:
        missing = [c for c in columns if c not in rows[0]]
        if missing:
            raise SeedDataError(f"seed data {path} has no column(s) {', '.join(missing)}; it has {', '.join(rows[0])}")
        rows = [{c: row.get(c) for c in columns} for row in rows]
    return rows


def _read_csv(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [{k: v for k, v in row.items() if k is not None and v not in (None, "")} for row in csv.DictReader(handle)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SeedDataError(f"seed data {path} is not readable CSV: {exc}") from None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SeedDataError(f"seed data {path}, line {number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise SeedDataError(f"seed data {path}, line {number}: a row must be a JSON object, not {type(row).__name__}")
        rows.append(row)
    return rows


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq  # only a Parquet seed needs pyarrow loaded

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise SeedDataError(f"seed data {path} is not readable Parquet: {exc}") from None
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]


def seed_rows(seed_data: SeedData, n: int, seed: int, base: Path | None = None) -> list[dict[str, Any]]:
    """The row each of `n` records is about, in record order."""
    path = Path(seed_data.path)
    rows = load_rows(path if path.is_absolute() or base is None else base / path, seed_data.columns)
    if seed_data.mode == "each":
        return [rows[i % len(rows)] for i in range(n)]
    picks = np.random.default_rng([seed, 0x5EED]).integers(0, len(rows), size=n)
    return [rows[int(i)] for i in picks]


def split_row(row: dict[str, Any], schema: Any) -> dict[str, Any]:
    """A record's given values from its seed row: columns named like a top-level field fill it
    when valid for it (CSV text read as the number or boolean the field wants); the other
    columns go under `ABOUT`, for the model to write about."""
    root = schema if isinstance(schema, dict) else {}
    props = declared if isinstance(declared := root.get("properties"), dict) else {}
    given: dict[str, Any] = {}
    about: dict[str, Any] = {}
    for column, raw in row.items():
        value = _typed(raw, props.get(column))
        fits = column in props and not field_issues(schema, column, value, limit=1)
        (given if fits else about)[column] = value if fits else raw
    return {**given, ABOUT: about} if about else given


def _typed(raw: Any, sub: Any) -> Any:
    """CSV holds text: "42" for an integer field is 42, "true" for a boolean one is True."""
    types = declared_types(sub)
    if not isinstance(raw, str) or "string" in types:
        return raw
    text = raw.strip()
    try:
        if "integer" in types and text.lstrip("+-").isdigit():
            return int(text)
        if "number" in types:
            return float(text)
    except ValueError:
        return raw
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return raw
