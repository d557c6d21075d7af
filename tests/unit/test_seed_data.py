"""Seed data: a CSV, JSONL or Parquet file whose rows the records are about ("a review for each
product in products.csv"); bad files are one clear error; the same night makes the same records."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from apprentice.dataset import generate_batch, plan_batches, plan_presets
from apprentice.seeddata import ABOUT, SeedData, SeedDataError, load_rows, seed_rows, split_row
from apprentice.shapes.schema import load_shape
from apprentice.workflows import WorkflowSpec, load_spec, parse_spec

from .fakes import Script, chat_reply
from .test_realistic_records import pool_with

ROOT = Path(__file__).resolve().parents[2]
ROWS = [
    {"product": "Aeropress coffee maker", "category": "kitchen", "price_usd": "39.95"},
    {"product": "Trail running shoes", "category": "apparel", "price_usd": "140.00"},
    {"product": "Kindle Paperwhite", "category": "electronics", "price_usd": "149.99"},
]


def write_csv(path: Path, rows: list[dict]) -> Path:
    path.write_text(",".join(rows[0]) + "\n" + "".join(",".join(r.values()) + "\n" for r in rows))
    return path


def reviews_spec(path: Path, mode: str = "each") -> WorkflowSpec:
    return parse_spec(
        {
            "name": "reviews",
            "seed_data": {"path": str(path), "mode": mode},
            "stages": [{"name": "review", "role": "generate"}, {"name": "check", "role": "validate"}],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_rows_read_the_same_from_csv_jsonl_and_parquet(tmp_path, suffix):
    path = tmp_path / f"products{suffix}"
    if suffix == ".csv":
        write_csv(path, ROWS)
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    else:
        pq.write_table(pa.Table.from_pylist(ROWS), path)
    assert load_rows(path) == ROWS
    assert load_rows(path, ["product"]) == [{"product": r["product"]} for r in ROWS]


@pytest.mark.parametrize(
    ("name", "content", "columns", "says"),
    [
        ("missing.csv", None, None, "does not exist"),
        ("rows.xlsx", "x", None, "unknown format .xlsx"),
        ("rows.jsonl", '{"a": 1}\n{"a": \n', None, "line 2: not JSON"),
        ("rows.jsonl", "[1, 2]\n", None, "must be a JSON object"),
        ("rows.csv", "product\n", None, "has no rows"),
        ("rows.csv", "product\nkettle\n", ["price"], "no column(s) price; it has product"),
        ("rows.parquet", "not parquet", None, "not readable Parquet"),
    ],
)
def test_a_bad_seed_file_is_one_clear_error(tmp_path, name, content, columns, says):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(SeedDataError, match=None) as caught:
        load_rows(path, columns)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_a_column_named_like_a_field_fills_it_when_valid_and_the_rest_is_what_the_record_is_about():
    schema = {
        "type": "object",
        "properties": {
            "product": {"type": "string"},
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "review": {"type": "string"},
        },
    }
    assert split_row({"product": "Kettle", "rating": "4", "maker": "Fellow"}, schema) == {
        "product": "Kettle",
        "rating": 4,
        ABOUT: {"maker": "Fellow"},
    }
    # a value the field cannot take is not forced into it: the model is told it instead
    assert split_row({"product": "Kettle", "rating": "9"}, schema) == {"product": "Kettle", ABOUT: {"rating": "9"}}


def test_each_mode_takes_rows_in_order_and_cycles_and_sample_mode_is_seeded(tmp_path):
    path = write_csv(tmp_path / "p.csv", ROWS)
    each = seed_rows(SeedData(path=str(path)), 5, seed=1)
    assert [r["product"] for r in each] == [ROWS[i % 3]["product"] for i in range(5)]
    sample = SeedData(path=str(path), mode="sample")
    assert seed_rows(sample, 20, seed=1) == seed_rows(sample, 20, seed=1)
    assert seed_rows(sample, 20, seed=1) != seed_rows(sample, 20, seed=2)


def test_the_shipped_review_spec_finds_its_csv_beside_it_wherever_it_is_run_from(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    spec = load_spec(ROOT / "deployments/review.workflow.yaml")
    shape = load_shape(ROOT / "deployments/review.json")
    _plan, presets = plan_presets(spec, shape, 10, seed=3)
    assert presets is not None
    assert [p["product"] for p in presets] == [r["product"] for r in load_rows(ROOT / "deployments/products.csv")]
    assert presets[0][ABOUT] == {"category": "outdoor", "price_usd": "129.00", "made_by": "Northpeak"}
    assert "reviewer" in presets[0] and "reviewed_at" in presets[0]  # the field plan still samples the rest


def test_a_changed_seed_file_changes_the_batches_keys_and_a_moved_one_does_not(tmp_path):
    shape = load_shape(ROOT / "deployments/review.json")
    first = write_csv(tmp_path / "a.csv", ROWS)
    moved = write_csv(tmp_path / "b.csv", ROWS)
    changed = write_csv(tmp_path / "c.csv", [{**ROWS[0], "category": "garden"}, *ROWS[1:]])

    def key(path: Path) -> str:
        spec = reviews_spec(path)
        return plan_batches(3, 3, 7, plan_presets(spec, shape, 3, seed=7)[1])[0].cache_key(spec, shape)

    assert key(first) == key(moved)
    assert key(first) != key(changed)


async def test_the_model_is_told_what_each_record_is_about_and_the_row_fills_its_field(tmp_path):
    shape = load_shape(ROOT / "deployments/review.json")
    spec = reviews_spec(write_csv(tmp_path / "p.csv", ROWS))
    _plan, presets = plan_presets(spec, shape, 2, seed=5)
    texts = ["Brews a clean cup every morning before work; easy to rinse.", "Light and grippy on muddy trails, my feet stayed dry."]
    script = Script(
        lambda _r: chat_reply(json.dumps({"headline": f"Worth it, take {len(script.requests)}", "review": texts[len(script.requests) % 2]}))
    )
    batch = await generate_batch(pool_with(script), spec, shape, plan_batches(2, 2, 5, presets)[0], concurrency=1)
    prompts = {r["messages"][-1]["content"].split(":", 1)[0]: r["messages"][-1]["content"] for r in script.requests}
    assert '"category": "kitchen"' in prompts["Create record number 1"] and '"category": "apparel"' in prompts["Create record number 2"]
    assert [o.record["product"] for o in batch.outcomes] == ["Aeropress coffee maker", "Trail running shoes"]
    assert all(o.valid and ABOUT not in o.record for o in batch.outcomes)
