"""The file formats a run's valid records are written in: JSONL (the default), Parquet and CSV.

Parquet and CSV columns come from the shape's JSON Schema (`arrow_schema`). Where the schema is
definite — a closed object (`additionalProperties: false`, as compiled shapes are), an array with
one item schema, a single scalar type (optionally nullable) — objects become structs, arrays
lists and scalars their Arrow type. Where it is not (`anyOf`/`oneOf`/`allOf`, open or free
objects, tuples, mixed types, recursion) the value is kept whole as its JSON text, in a string
field marked with the metadata `JSON_FIELD`, so nothing a record holds is lost. A schema whose
root is not a closed object gives one column, `record`, the schema marked `WHOLE_RECORDS`. CSV has the same columns with every
struct and list as JSON text too. Writers append batch by batch; what they write only becomes the
final file when `output.DatasetWriter` renames it.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from apprentice.errors import ApprenticeError, ConfigError

if TYPE_CHECKING:  # pyarrow and the shapes package are imported where used: the CLI names a `Format` without loading them
    import pyarrow as pa

JSON_FIELD = {b"apprentice.json": b"true"}
"""Field metadata of a column (or struct field, or list item) that holds JSON text."""
RECORD_COLUMN = "record"
"""The one column of a file whose schema's root is not a closed object..."""
WHOLE_RECORDS = {b"apprentice.whole_records": b"true"}
"""...marked by this schema metadata."""
_SCALARS = {"string": "string", "integer": "int64", "number": "float64", "boolean": "bool_"}
"""JSON Schema scalar types and the `pyarrow` type factories that hold them."""
_DEPTH = 16
"""Nesting past which a (recursive) schema's values are kept as JSON text."""


class Format(StrEnum):
    """How the valid records are written; meta rows and rejects are JSONL whatever the format."""

    jsonl = "jsonl"
    parquet = "parquet"
    csv = "csv"

    @classmethod
    def of(cls, path: Path) -> Format | None:
        """The format a file name says (`.jsonl`, `.parquet`, `.csv`), if it says one."""
        return next((f for f in cls if path.suffix.lower() == f".{f.value}"), None)

    @classmethod
    def choose(cls, asked: str | Format | None, out: Path | None) -> Format:
        """The format asked for, else the one `out`'s name says, else JSONL. Asking for one format
        and naming a file after another is a mistake, said in one line."""
        named = cls.of(out) if out is not None else None
        if asked is None:
            return named or cls.jsonl
        try:
            chosen = cls(str(asked).lower())
        except ValueError:
            raise ConfigError(f"unknown output format {asked!r}: use one of {', '.join(f.value for f in cls)}") from None
        if named is not None and named is not chosen:
            raise ConfigError(f"the output file {out} is named .{named.value} but the format asked for is {chosen.value}")
        return chosen


def json_field(name: str) -> pa.Field:
    import pyarrow as pa

    return pa.field(name, pa.string(), metadata=JSON_FIELD)


def is_json_field(field: pa.Field) -> bool:
    return (field.metadata or {}).get(b"apprentice.json") == b"true"


def arrow_field(name: str, schema: Any, root: Any, depth: int = 0, expanding: frozenset[str] = frozenset()) -> pa.Field:
    """The Arrow field for values valid for `schema` (a subschema of `root`); `expanding` holds
    the `$ref`s being followed, so a recursive schema's values are JSON text where it recurs."""
    import pyarrow as pa

    from apprentice.shapes.fields import resolve_ref

    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str):
        if ref in expanding:
            return json_field(name)
        expanding |= {ref}
    schema = resolve_ref(schema, root)
    if depth > _DEPTH or not schema or any(k in schema for k in ("$ref", "anyOf", "oneOf", "allOf", "not", "if", "prefixItems")):
        return json_field(name)
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds if isinstance(kinds, list) else _implied_types(schema)
    kinds = [k for k in kinds if k != "null"]
    if len(kinds) != 1:
        return json_field(name)
    kind = kinds[0]
    if kind == "object":
        return _struct_field(name, schema, root, depth, expanding)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return pa.field(name, pa.list_(arrow_field("item", schema["items"], root, depth + 1, expanding)))
    return pa.field(name, getattr(pa, _SCALARS[kind])()) if kind in _SCALARS else json_field(name)


def _implied_types(schema: dict[str, Any]) -> list[str]:
    """The type an untyped schema implies: an object from its properties, a string from an enum
    or const of strings; otherwise none (JSON text)."""
    if isinstance(schema.get("properties"), dict):
        return ["object"]
    values = schema["enum"] if isinstance(schema.get("enum"), list) else [schema["const"]] if "const" in schema else []
    return ["string"] if values and all(isinstance(v, str) for v in values) else []


def _struct_field(name: str, schema: dict[str, Any], root: Any, depth: int, expanding: frozenset[str]) -> pa.Field:
    """A closed object with properties as a struct; any other object as JSON text."""
    import pyarrow as pa

    properties = schema.get("properties")
    closed = schema.get("additionalProperties") is False and not schema.get("patternProperties")
    if not closed or not isinstance(properties, dict) or not properties:
        return json_field(name)
    return pa.field(name, pa.struct([arrow_field(key, sub, root, depth + 1, expanding) for key, sub in properties.items()]))


def arrow_schema(json_schema: Any) -> pa.Schema:
    """The columns of a Parquet file of records valid for `json_schema`."""
    import pyarrow as pa

    root = arrow_field(RECORD_COLUMN, json_schema, json_schema)
    return pa.schema(list(root.type)) if pa.types.is_struct(root.type) else pa.schema([root], metadata=WHOLE_RECORDS)


def csv_schema(columns: pa.Schema) -> pa.Schema:
    """The same columns for CSV: scalars as they are, structs and lists as JSON text."""
    import pyarrow as pa

    return pa.schema(
        [f if pa.types.is_primitive(f.type) or pa.types.is_string(f.type) else json_field(f.name) for f in columns],
        metadata=columns.metadata,
    )


def cell(value: Any, field: pa.Field) -> Any:
    """A value as `field` holds it: JSON text in a JSON field, a struct's fields, a list's items;
    strings made encodable (a lone surrogate becomes its backslash escape)."""
    import pyarrow as pa

    if value is None:
        return None
    if is_json_field(field):
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace").decode("utf-8")
    if pa.types.is_struct(field.type):
        return {f.name: cell(value.get(f.name), f) for f in field.type}
    if pa.types.is_list(field.type):
        return [cell(item, field.type.value_field) for item in value]
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


class RecordsWriter(Protocol):
    """Appends records to a file; `close` finishes it (a Parquet footer) and `path` names it."""

    path: Path

    def write(self, records: list[Any]) -> None: ...

    def close(self) -> None: ...


def json_line(value: Any) -> str:
    """`value` as one line of standard JSON: a number JSON cannot hold (a rejected record's
    `Infinity`, an overflowing statistics draw in a meta row) is written as null, since
    `Infinity` and `NaN` are Python's extension and other readers refuse the line."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), ensure_ascii=False, default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class JsonLines:
    """One JSON document per line, as given (meta rows and rejects too)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8", errors="backslashreplace")  # a lone surrogate stays a JSON \u escape

    def write(self, records: list[Any]) -> None:
        self._file.writelines(json_line(r) + "\n" for r in records)

    def close(self) -> None:
        self._file.close()


class ArrowRecords:
    """Records as Parquet or CSV rows under `columns`, buffered into row groups of at least
    `ROW_GROUP` records (tiny groups make a slow, large Parquet file), so at most that many wait."""

    ROW_GROUP = 1_000

    def __init__(self, path: Path, columns: pa.Schema, fmt: Format) -> None:
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq

        self.path, self.columns = path, columns
        self._rows: list[dict[str, Any]] = []
        self._writer = pq.ParquetWriter(str(path), columns) if fmt is Format.parquet else pa_csv.CSVWriter(str(path), columns)
        self._wrapped = columns.metadata == WHOLE_RECORDS

    def write(self, records: list[Any]) -> None:
        for record in records:
            row = {RECORD_COLUMN: record} if self._wrapped else record
            self._rows.append({f.name: cell(row.get(f.name), f) for f in self.columns})
        if len(self._rows) >= self.ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.columns))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


def records_writer(path: Path, fmt: Format, json_schema: Any) -> RecordsWriter:
    """A writer of valid records to `path` in `fmt`, its columns from the shape's JSON Schema."""
    if fmt is Format.jsonl:
        return JsonLines(path)
    columns = arrow_schema(json_schema)
    return ArrowRecords(path, columns if fmt is Format.parquet else csv_schema(columns), fmt)


def load_dataset(path: str | Path, split: str = "train") -> Any:
    """A dataset file apprentice wrote (`.jsonl`, `.parquet` or `.csv`) as a Hugging Face
    `datasets.Dataset` (needs the `datasets` package, which apprentice does not install).
    JSON-text columns (see the module) stay strings."""
    try:
        import datasets
    except ImportError:
        raise ApprenticeError("load_dataset needs the Hugging Face `datasets` package: pip install datasets") from None
    path = Path(path)
    fmt = Format.of(path)
    if fmt is None:
        raise ApprenticeError(f"{path} is not a .jsonl, .parquet or .csv file")
    read = {Format.jsonl: datasets.Dataset.from_json, Format.parquet: datasets.Dataset.from_parquet, Format.csv: datasets.Dataset.from_csv}[
        fmt
    ]
    return read(str(path), split=split)
