"""What a `$cache` hit no longer redoes on every request (compiling and checking the shape,
hashing the variant key, parsing the query string) is remembered without changing any answer:
two shapes, counts or backends still have variants of their own, a bad shape is refused every
time, and a query string is read as before. And `apprentice serve` runs on uvicorn's fast parts
when they import, on its pure-Python ones when not."""

from __future__ import annotations

import json
import sys

import pytest
from starlette.datastructures import QueryParams

from apprentice.mockapi import Limits, parse_request
from apprentice.mockapi import app as mock_app
from apprentice.mockapi.app import query_of
from apprentice.mockapi.server import UvicornParts, uvicorn_parts
from tests.unit.test_mockapi import PRODUCT, USER


async def cached_answer(served, path: str, shape: dict, **params: str):
    response = await served.client.get(f"/api/mock/{path}", params={"shape": json.dumps(shape), **params})
    assert response.status_code == 200, response.text
    return response


async def test_two_cache_shapes_on_one_path_keep_variants_of_their_own(served):
    products, users = {**PRODUCT, "$cache": 2}, {**USER, "$cache": 2}
    first = [await cached_answer(served, "things", shape) for shape in (products, users)]
    again = [await cached_answer(served, "things", shape) for shape in (products, users)]
    assert [r.headers["X-Cache"] for r in first + again] == ["miss", "miss", "hit", "hit"]
    assert list(again[0].json()) == list(PRODUCT) and list(again[1].json()) == list(USER)


async def test_another_count_or_backend_is_another_set_of_variants(served):
    await cached_answer(served, "goods", {**PRODUCT, "$cache": 2})
    more = await cached_answer(served, "goods", {**PRODUCT, "$cache": 3})
    elsewhere = await cached_answer(served, "goods", {**PRODUCT, "$cache": 2}, backend="other")
    assert more.headers["X-Cache"] == elsewhere.headers["X-Cache"] == "miss"
    assert (await cached_answer(served, "goods", {**PRODUCT, "$cache": 2})).headers["X-Cache"] == "hit"


@pytest.mark.parametrize(
    "shape",
    [
        {"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}, "$cache": 2},
        {"type": "object", "properties": {"a": {"type": "nonsense"}}, "$cache": 2},
        {"name": "string", "$cache": -1},
    ],
)
async def test_a_bad_cache_shape_is_refused_every_time_it_is_asked(served, shape):
    answers = [await served.client.get("/api/mock/bad", params={"shape": json.dumps(shape)}) for _ in range(3)]
    assert [a.status_code for a in answers] == [400, 400, 400]
    assert len({a.text for a in answers}) == 1 and "bad shape" in answers[0].text
    assert served.calls("generator") == 0


@pytest.mark.parametrize("raw", [b"", b"a=1", b"a=1&a=2&b=%7B%22x%22%3A+1%7D", b"flag&n=&shape=%E2%82%AC", b"n=3;x=4"])
def test_a_query_string_reads_as_starlette_reads_it(raw):
    assert query_of(raw) == dict(QueryParams(raw))


def test_a_remembered_query_is_a_fresh_dict_each_time():
    query_of(b"n=2")["n"] = "99"
    assert query_of(b"n=2") == {"n": "2"}


def test_a_long_query_string_is_read_but_not_remembered(monkeypatch):
    monkeypatch.setattr(mock_app, "REMEMBERED_QUERY_BYTES", 8)
    mock_app._parsed_query.cache_clear()
    assert query_of(b"shape=%7B%22x%22%3A+1%7D") == {"shape": '{"x": 1}'}
    assert mock_app._parsed_query.cache_info().currsize == 0


def test_serve_runs_on_httptools_and_uvloop_when_they_import(monkeypatch):
    for module in ("httptools", "uvloop"):
        monkeypatch.setitem(sys.modules, module, object())  # present, whether installed or not
    assert uvicorn_parts() == UvicornParts(http="httptools", loop="uvloop")


@pytest.mark.parametrize(("missing", "expected"), [("httptools", ("h11", "uvloop")), ("uvloop", ("httptools", "asyncio"))])
def test_serve_falls_back_to_h11_or_asyncio_for_what_does_not_import(monkeypatch, missing, expected):
    for module in ("httptools", "uvloop"):
        monkeypatch.setitem(sys.modules, module, None if module == missing else object())  # None: import fails
    assert uvicorn_parts() == UvicornParts(*expected)


async def test_a_request_keeps_one_run_id_and_no_two_requests_share_one(served):
    request = parse_request("GET", "users", {"shape": json.dumps(USER)}, {}, b"", Limits())
    first, second = served.engine.prepare(request), served.engine.prepare(request)
    assert first.run_id == first.run_id != second.run_id
    assert first.run_id.startswith("mock-")
