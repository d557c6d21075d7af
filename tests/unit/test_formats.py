"""Output formats: a run written as Parquet or CSV reads back as the same records as its JSONL —
nested objects and arrays as structs and lists where the schema is definite, JSON text where it
is not — with meta rows and rejects still JSONL, and no half-written file from a killed run."""

from __future__ import annotations

import json

import httpx
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from apprentice.errors import ConfigError
from apprentice.formats import ArrowRecords, arrow_schema, csv_schema, is_json_field
from apprentice.run import BatchRun, generate_async, resolve_shape

from .fakes import Script, chat_reply
from .test_run import lines, pool_of, record_number

SPEC = {
    "name": "towns",
    "version": "2",
    "sampling": False,
    "realism_checks": False,
    "stages": [{"name": "draft", "role": "generate", "corrections": 1}],
}
NESTED = {"city": "string", "population": 0, "area_km2": 1.5, "coastal": True, "tags": ["string"], "mayor": {"name": "string", "age": 0}}
LOOSE = {  # anyOf, a free object, an array of anything: no definite Arrow type
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "value": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "attributes": {"type": "object"},
        "history": {"type": "array"},
    },
    "required": ["id", "value", "attributes", "history"],
    "additionalProperties": False,
}
OPEN = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}  # extra keys allowed: kept whole


def nested_town(index: int) -> dict:
    return {
        "city": f'Tromsø {index} «nord», "quoted"',
        "population": 1000 + index,
        "area_km2": 2.5 * index,
        "coastal": index % 2 == 0,
        "tags": [f"t{index}", "fjord"][: 1 + index % 2],
        "mayor": {"name": f"Ola {index}", "age": 40 + index},
    }


def loose_record(index: int) -> dict:
    return {
        "id": index,
        "value": f"v{index}" if index % 2 else index,
        "attributes": {"k": [index, {"deep": None}]} if index % 3 else {},
        "history": [index, "x", {"a": 1}],
    }


def open_record(index: int) -> dict:
    return {"id": index, **({"note": f"extra {index}", "nested": {"n": index}} if index % 2 else {})}


def model(make, rejected: frozenset[int] = frozenset({3})) -> Script:
    """A fake model that writes record `i` as `make(i)`, and an invalid answer for `rejected`."""

    def answer(request: httpx.Request) -> httpx.Response:
        index = record_number(request)
        if index is None or index in rejected:
            return chat_reply(json.dumps({"nonsense": True}))
        return chat_reply(json.dumps(make(index), ensure_ascii=False))

    return Script(answer)


def decoded(value, field: pa.Field):
    """A value read from Parquet or CSV with its JSON-text fields decoded."""
    if value is None:
        return None
    if is_json_field(field):
        return json.loads(value)
    if pa.types.is_struct(field.type):
        return {f.name: decoded(value[f.name], f) for f in field.type}
    if pa.types.is_list(field.type):
        return [decoded(item, field.type.value_field) for item in value]
    return value


def rows(table: pa.Table, columns: pa.Schema) -> list:
    """The records of a table apprentice wrote under `columns`: whole records from a `record`
    column, else rows."""
    records = [{f.name: decoded(row[f.name], f) for f in columns} for row in table.to_pylist()]
    return [r["record"] for r in records] if columns.metadata == {b"apprentice.whole_records": b"true"} else records


def read_back(path, shape) -> list:
    """The records of a Parquet file (its columns read from it) or a CSV file (its columns
    derived from the shape again, as a reader who has the schema would)."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return rows(table, table.schema)
    columns = csv_schema(arrow_schema(resolve_shape(shape).json_schema))
    return rows(pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(column_types=columns)), columns)


async def run_both(tmp_path, shape, make, fmt: str) -> tuple:
    """The same run (same fake model, same seed) written as JSONL and as `fmt`."""
    pool = pool_of(model(make))
    await generate_async(shape, n=7, spec=SPEC, out=tmp_path / "same.jsonl", batch_size=3, pool=pool)
    summary = await generate_async(shape, n=7, spec=SPEC, out=tmp_path / f"same.{fmt}", format=fmt, batch_size=3, pool=pool)
    return summary, lines(tmp_path / "same.jsonl")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
async def test_a_run_written_as_parquet_or_csv_reads_back_equal_to_its_jsonl(tmp_path, fmt, monkeypatch):
    monkeypatch.setattr(ArrowRecords, "ROW_GROUP", 2)  # several row groups, so buffering is exercised
    summary, jsonl = await run_both(tmp_path, NESTED, nested_town, fmt)
    assert (summary.records, summary.invalid) == (6, 1) and summary.out == str((tmp_path / f"same.{fmt}").resolve())
    assert len(jsonl) == 6 and jsonl[0]["mayor"] == {"name": "Ola 0", "age": 40}
    assert read_back(tmp_path / f"same.{fmt}", NESTED) == jsonl
    assert lines(tmp_path / "same.rejects.jsonl")[0]["index"] == 3, "rejects stay JSONL beside the records"
    assert len(lines(tmp_path / "same.meta.jsonl")) == 7
    assert not list(tmp_path.glob("*.tmp"))


def test_definite_schemas_give_typed_columns_nested_as_structs_and_lists():
    columns = arrow_schema(resolve_shape(NESTED).json_schema)
    assert columns.field("population").type == pa.int64() and columns.field("area_km2").type == pa.float64()
    assert columns.field("tags").type == pa.list_(pa.string())
    assert columns.field("mayor").type == pa.struct([pa.field("name", pa.string()), pa.field("age", pa.int64())])
    assert [f.name for f in arrow_schema(LOOSE) if is_json_field(f)] == ["value", "attributes", "history"]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize(("shape", "make"), [(LOOSE, loose_record), (OPEN, open_record)], ids=["anyOf-and-free-objects", "open-object"])
async def test_a_schema_without_definite_types_still_writes_every_value(tmp_path, fmt, shape, make):
    summary, jsonl = await run_both(tmp_path, shape, make, fmt)
    assert summary.records == 6 and any(len(r) > 1 for r in jsonl)
    assert read_back(tmp_path / f"same.{fmt}", shape) == jsonl


class Killed(BaseException):
    """Stands in for a signal that ends the run midway."""


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
async def test_a_killed_parquet_or_csv_run_leaves_no_file_and_its_rerun_writes_it_whole(tmp_path, fmt):
    from apprentice.dataset import make_batch

    pool = pool_of(model(nested_town))

    async def dies_at_batch_2(job):
        if job.plan.index == 2:
            raise Killed
        return BatchRun(await make_batch(pool, job.spec, job.shape, job.plan))

    out = tmp_path / f"towns.{fmt}"
    with pytest.raises(Killed):
        await generate_async(NESTED, n=9, spec=SPEC, out=out, batch_size=2, parallel_batches=1, run_batch=dies_at_batch_2)
    assert list(tmp_path.iterdir()) == [], "neither a final file nor a temporary one is left"
    await generate_async(NESTED, n=9, spec=SPEC, out=out, batch_size=2, pool=pool)
    assert [r["population"] for r in read_back(out, NESTED)] == [1000 + i for i in range(9) if i != 3]


async def test_the_format_follows_the_file_name_and_a_contradiction_is_one_clear_error(tmp_path):
    pool = pool_of(model(nested_town))
    await generate_async(NESTED, n=2, spec=SPEC, out=tmp_path / "named.parquet", pool=pool)
    assert pq.read_table(tmp_path / "named.parquet").num_rows == 2
    with pytest.raises(ConfigError, match="named .jsonl but the format asked for is csv"):
        await generate_async(NESTED, n=2, spec=SPEC, out=tmp_path / "x.jsonl", format="csv", pool=pool)
    with pytest.raises(ConfigError, match="unknown output format 'xlsx'"):
        await generate_async(NESTED, n=2, spec=SPEC, out=tmp_path / "x.out", format="xlsx", pool=pool)
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "x.out").exists()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "csv"])
async def test_load_dataset_gives_a_hugging_face_dataset_of_the_records(tmp_path, fmt, monkeypatch):
    datasets = pytest.importorskip("datasets")
    import apprentice

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    pool = pool_of(model(nested_town, rejected=frozenset()))
    await generate_async(NESTED, n=3, spec=SPEC, out=tmp_path / f"towns.{fmt}", pool=pool)
    loaded = apprentice.load_dataset(tmp_path / f"towns.{fmt}")
    assert isinstance(loaded, datasets.Dataset) and loaded.num_rows == 3
    assert loaded["population"] == [1000, 1001, 1002] and loaded["city"][1] == nested_town(1)["city"]
