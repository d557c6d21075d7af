"""The mock API server is safe by default: bounded requests, an API key for everything but the
mock routes, shapes that cannot reach files, and memories that stay small."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apprentice.backends.pool import BackendPool
from apprentice.mockapi import Limits, MockEngine, create_app, parse_request
from apprentice.mockapi.context_memory import ContextMemory
from apprentice.mockapi.errors import BadMockRequest, TooLarge
from apprentice.mockapi.shape_memory import ShapeMemory, endpoint
from apprentice.store import engine_for
from tests.unit.fakes import pool_config
from tests.unit.mockapi_fakes import FakeModel

USER = {"name": "string", "age": 0}


class MockClient(httpx.AsyncClient):
    """A client of the mock app that also holds the fake model behind it."""

    model: FakeModel


@pytest.fixture
async def client(tmp_path):
    model = FakeModel()
    pool = BackendPool(pool_config({"name": "generator"}, attempts=1), transport_factory=lambda cfg: httpx.MockTransport(model))
    engine = MockEngine(
        pool, store=engine_for(f"sqlite:///{tmp_path}/s.db"), limits=Limits(max_body_bytes=2_000, max_n=5, max_shape_chars=500)
    )
    async with MockClient(transport=httpx.ASGITransport(app=create_app(engine, api_key="k" * 20)), base_url="http://mock.test") as c:
        c.model = model
        yield c
    await engine.drain()


async def test_a_body_over_the_limit_is_refused_with_413(client):
    response = await client.post(
        "/api/mock/users", content=json.dumps({"shape": USER, "pad": "x" * 3_000}), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and not client.model.requests


async def test_n_over_the_limit_is_refused(client):
    response = await client.get("/api/mock/users", params={"shape": json.dumps(USER), "n": 6})
    assert response.status_code == 400 and "between 1 and 5" in response.json()["error"]["message"]


async def test_a_shape_over_the_limit_is_refused_with_413(client):
    response = await client.get("/api/mock/users", headers={"X-Response-Shape": json.dumps({f"f{i}": "string" for i in range(100)})})
    assert response.status_code == 413


async def test_management_routes_need_the_key_and_mock_routes_do_not(client):
    assert (await client.get("/api/health")).status_code == 401
    assert (await client.get("/api/health", headers={"X-Api-Key": "k" * 20})).status_code == 200
    assert (await client.get("/api/shapes", headers={"Authorization": "Bearer " + "k" * 20})).status_code == 200
    assert (await client.get("/api/mock/users", params={"shape": json.dumps(USER)})).status_code == 200


@pytest.mark.parametrize("ref", ["file:///etc/passwd", "http://127.0.0.1:1/schema.json", "/etc/passwd"])
async def test_a_shape_cannot_make_the_server_read_a_file_or_fetch_a_url(client, ref):
    response = await client.get("/api/mock/users", params={"shape": json.dumps({"type": "object", "properties": {"a": {"$ref": ref}}})})
    assert response.status_code in (400, 502)
    assert "root:" not in response.text


def test_a_shape_that_is_not_json_is_a_400_in_one_line():
    with pytest.raises(BadMockRequest, match="not valid JSON"):
        parse_request("GET", "users", {"shape": "{name: string"}, {}, b"", Limits())


@given(n=st.one_of(st.integers(-10, 500).map(str), st.text(max_size=5)))
@settings(max_examples=200)
def test_n_is_a_whole_number_within_bounds_or_a_400(n):
    try:
        parsed = parse_request("GET", "users", {"n": n}, {}, b"", Limits(max_n=100))
    except (BadMockRequest, TooLarge):
        return
    assert parsed.n is None or 1 <= parsed.n <= 100


def test_remembered_shapes_are_bounded_least_recently_used_first():
    memory = ShapeMemory(capacity=2)
    memory.remember("a", {"x": 0})
    memory.remember("b", {"y": 0})
    memory.recall("a")
    memory.remember("c", {"z": 0})
    assert set(memory.items()) == {"a", "c"}


def test_ids_in_a_path_are_one_endpoint():
    assert endpoint("/users/42/orders/3f2b1c9e-8d7a-4b6c-9e1f-0a2b3c4d5e6f/") == "users/{id}/orders/{id}"


def test_a_context_keeps_its_newest_answers_within_its_character_budget():
    memory = ContextMemory(Limits(context_answers=3, context_chars=200), clock=lambda: 0.0)
    for i in range(5):
        memory.add("c", "users", {"n": i, "pad": "x" * 30})
    hint = memory.hint("c")
    assert hint is not None
    assert '"n": 4' in hint and '"n": 1' not in hint and len(hint) < 400
    assert memory.hint("unknown") is None
