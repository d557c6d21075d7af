"""The mock API server on fake backends: shapes and their precedence, backends and workflows
per request, `$cache`, SSE, OpenAPI mounting, simulated errors and latency, context memory, the
502 path, and the ledger and execution rows each request leaves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import jsonschema
import pytest
from sqlmodel import select

from apprentice.backends.pool import BackendPool
from apprentice.mockapi import Limits, MockEngine, create_app, load_operations
from apprentice.shapes.schema import compile_shape
from apprentice.store import CallRecord, ExecutionRecord, engine_for, session
from apprentice.variants import load_variants, variant_key
from apprentice.workflows import default_spec
from tests.unit.fakes import pool_config
from tests.unit.mockapi_fakes import FakeModel, Served

PROJECT = Path(__file__).resolve().parents[2]
USER = {"name": "string", "age": 0, "city": "string", "bio": "A short biography"}
PRODUCT = {"title": "string", "blurb": "string", "price": 0.0, "stock": 0}  # blurb: the model writes it (the rest is sampled)


def valid_for(shape: dict, value) -> bool:
    return jsonschema.Draft202012Validator(compile_shape(shape).json_schema).is_valid(value)


# --- shapes: query, header, body, remembered, and their precedence --------------------------


@pytest.mark.parametrize("sources", [("query", "header", "body"), ("header", "body"), ("body",), ("query", "body"), ("query", "header")])
async def test_the_shape_comes_from_the_query_then_the_header_then_the_body(served, sources):
    shapes = {"query": {"q_field": "string"}, "header": {"h_field": "string"}, "body": {"b_field": "string"}}
    params = {"shape": json.dumps(shapes["query"])} if "query" in sources else {}
    headers = {"X-Response-Shape": json.dumps(shapes["header"])} if "header" in sources else {}
    body = {"shape": shapes["body"]} if "body" in sources else None
    response = await served.client.post("/api/mock/things/generate", params=params, headers=headers, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["X-Shape-Source"] == sources[0]
    assert list(response.json()) == list(shapes[sources[0]])


async def test_a_path_answered_once_remembers_its_shape(served):
    first = await served.client.post("/api/mock/users/42", json={"shape": USER})
    again = await served.client.get("/api/mock/users/7")  # the same endpoint, users/{id}
    assert first.status_code == again.status_code == 200
    assert again.headers["X-Shape-Source"] == "remembered"
    assert valid_for(USER, again.json())


async def test_a_request_without_any_shape_is_told_how_to_give_one(served):
    response = await served.client.get("/api/mock/nothing/here")
    assert response.status_code == 400
    assert "?shape=" in response.json()["error"]["message"]
    assert served.calls("generator") == 0


async def test_n_asks_for_an_array_of_valid_records(served):
    response = await served.client.get("/api/mock/products", params={"shape": json.dumps(PRODUCT), "n": 4})
    records = response.json()
    assert response.status_code == 200 and len(records) == 4
    assert all(valid_for(PRODUCT, r) for r in records)


async def test_body_fields_of_the_shape_are_kept_and_the_rest_written_to_agree(served):
    response = await served.client.post(
        "/api/mock/users/enrich", json={"shape": USER, "name": "Ada Lovelace", "city": "London", "note": "a mathematician"}
    )
    record = response.json()
    assert (record["name"], record["city"]) == ("Ada Lovelace", "London")
    assert any("a mathematician" in p for p in served.models["generator"].prompts)


# --- backends and workflows per request -----------------------------------------------------


async def test_x_llm_backend_sends_every_call_to_that_backend(served):
    response = await served.client.post("/api/mock/users/generate", json={"shape": USER}, headers={"X-LLM-Backend": "other"})
    assert response.status_code == 200
    assert served.calls("other") > 0 and served.calls("generator") == 0


async def test_backend_query_names_a_tier(served):
    response = await served.client.get("/api/mock/users", params={"shape": json.dumps(USER), "backend": "quality"})
    assert response.status_code == 200
    assert served.calls("other") > 0 and served.calls("generator") == 0


async def test_a_backend_outside_the_pool_is_refused_without_any_call(served):
    response = await served.client.get(
        "/api/mock/users", params={"shape": json.dumps(USER)}, headers={"X-LLM-Backend": "http://evil.test/v1"}
    )
    assert response.status_code == 400
    assert "unknown backend" in response.json()["error"]["message"]
    assert served.calls("generator") == served.calls("other") == 0


async def test_x_workflow_runs_a_spec_from_the_workflow_directory(tmp_path):
    shutil.copy(PROJECT / "deployments" / "user_profile.workflow.yaml", tmp_path / "profiles.workflow.yaml")
    served = Served(tmp_path, workflows_dir=tmp_path)
    shape = json.loads((PROJECT / "deployments" / "user_profile.json").read_text())
    response = await served.client.post(
        "/api/mock/users", json={"shape": shape}, headers={"X-Workflow": "profiles", "X-LLM-Backend": "generator"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["X-Workflow-Version"] == "user-profiles@1.0.0"
    assert valid_for(shape, response.json())


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..", "a/b", "nope"])
async def test_x_workflow_cannot_name_a_file_outside_the_workflow_directory(tmp_path, name):
    (tmp_path / "specs").mkdir()
    served = Served(tmp_path, workflows_dir=tmp_path / "specs")
    response = await served.client.get("/api/mock/users", params={"shape": json.dumps(USER)}, headers={"X-Workflow": name})
    assert response.status_code == 400
    assert served.calls("generator") == 0


async def test_a_spec_naming_a_backend_outside_the_pool_is_refused(tmp_path):
    (tmp_path / "rogue.yaml").write_text("name: rogue\nstages:\n  - {name: g, role: generate, backend: elsewhere}\n")
    served = Served(tmp_path, workflows_dir=tmp_path)
    response = await served.client.get("/api/mock/users", params={"shape": json.dumps(USER), "workflow": "rogue"})
    assert response.status_code == 400 and "not in the pool" in response.json()["error"]["message"]


# --- $cache ----------------------------------------------------------------------------------


async def test_cache_variants_are_made_once_then_served_without_a_model_call(served):
    shape = {**PRODUCT, "$cache": 3}
    first = await served.client.get("/api/mock/products", params={"shape": json.dumps(shape)})
    made = served.calls("generator")
    later = [await served.client.get("/api/mock/products", params={"shape": json.dumps(shape)}) for _ in range(4)]
    assert first.headers["X-Cache"] == "miss" and all(r.headers["X-Cache"] == "hit" for r in later)
    assert made > 0 and served.calls("generator") == made
    stored = load_variants(variant_key(default_spec("mock.products"), compile_shape(shape)), served.store)
    assert len(stored) == 3  # the batch path's own variants, in its table, under its key
    assert {json.dumps(r.json(), sort_keys=True) for r in later} == {json.dumps(v, sort_keys=True) for v in stored}


# --- the 502 path, outages and keys -----------------------------------------------------------


async def test_an_answer_that_cannot_be_made_valid_is_a_502_with_the_reason(tmp_path):
    served = Served(tmp_path, models={"generator": FakeModel(reply='{"wrong": true}')})
    response = await served.client.get("/api/mock/products", params={"shape": json.dumps(PRODUCT)})
    body = response.json()
    assert response.status_code == 502
    assert body["error"]["reasons"] and "could not be made valid" in body["error"]["message"]


async def test_a_number_json_cannot_hold_is_a_502_not_a_server_error(tmp_path):
    """A model's `1e999` reads as infinity in Python and passes jsonschema's `number`; the answer
    could not be sent (Starlette refuses it) and the request ended in a bare 500 in CI."""
    reply = '{"blurb": "Weighs little and folds flat.", "reading": 1e999}'
    served = Served(tmp_path, models={"generator": FakeModel(reply=reply)})
    response = await served.client.get("/api/mock/gauges", params={"shape": json.dumps({"blurb": "string", "reading": 0.0})})
    assert response.status_code == 502, response.text
    assert "inf is not a JSON number" in response.text


async def test_a_fault_of_the_server_is_a_json_500_naming_only_its_type(tmp_path, monkeypatch, caplog):
    served = Served(tmp_path)

    async def broken(request):
        raise RuntimeError("a record's text: Jane Doe, jane@example.com")

    monkeypatch.setattr(served.engine, "answer", broken)
    app = create_app(served.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://mock.test") as client:
        response = await client.get("/api/mock/users", params={"shape": json.dumps(USER)})
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "internal error (RuntimeError); see the server's log"
    assert "Jane Doe" in caplog.text  # the traceback is in the server's log, not in the answer


async def test_no_answer_reveals_a_backend_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MOCKAPI_TEST_KEY", "sk-very-secret-value-123")
    models = {"generator": FakeModel(status=401)}
    config = pool_config({"name": "generator", "api_key_env": "MOCKAPI_TEST_KEY"}, attempts=1)
    pool = BackendPool(config, transport_factory=lambda cfg: httpx.MockTransport(models[cfg.name]))
    app = create_app(MockEngine(pool, store=engine_for(f"sqlite:///{tmp_path}/s.db")), api_key="server-key-456789")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock.test") as client:
        answers = [
            await client.get("/api/mock/users", params={"shape": json.dumps(USER)}),
            await client.get("/api/mock/stream/users", params={"shape": json.dumps(USER), "n": 2}),
            await client.get("/api/health", headers={"X-Api-Key": "wrong"}),
        ]
    assert models["generator"].requests[0]["authorization"] == "Bearer sk-very-secret-value-123"  # the backend did get it
    assert answers[0].status_code == 503 and answers[2].status_code == 401
    for answer in answers:
        assert "sk-very-secret" not in answer.text and "server-key-456789" not in answer.text


# --- streaming ---------------------------------------------------------------------------------


def sse_events(text: str) -> list[dict]:
    return [json.loads(line.removeprefix("data: ")) for line in text.splitlines() if line.startswith("data: ")]


async def test_sse_streams_each_item_then_a_closing_event(served):
    response = await served.client.get("/api/mock/stream/products", params={"shape": json.dumps(PRODUCT), "n": 3})
    events = sse_events(response.text)
    assert response.headers["content-type"].startswith("text/event-stream")
    items, closing = events[:-1], events[-1]
    assert sorted(e["index"] for e in items) == [0, 1, 2]
    assert all(valid_for(PRODUCT, e["data"]) for e in items)
    assert closing == {"done": True, "total": 3, "valid": 3, "workflow": "mock.products@1.0.0"}


async def test_a_fault_mid_stream_ends_the_stream_with_an_error_event(served, monkeypatch):
    async def broken(request, whole):
        yield {"index": 0, "data": {"title": "Lamp"}}
        raise RuntimeError("a backend's answer")

    monkeypatch.setattr(served.engine, "stream", broken)
    response = await served.client.get("/api/mock/stream/products", params={"shape": json.dumps(PRODUCT), "n": 2})
    events = sse_events(response.text)
    assert events[-1] == {"error": {"code": 500, "message": "internal error (RuntimeError); see the server's log"}, "done": True}


async def test_sse_whole_object_mode_sends_one_event(served):
    response = await served.client.post("/api/mock/stream/users", params={"mode": "object"}, json={"shape": USER})
    (event,) = sse_events(response.text)
    assert event["done"] and valid_for(USER, event["data"])


# --- OpenAPI -----------------------------------------------------------------------------------


async def test_openapi_operations_answer_with_their_response_schemas(tmp_path):
    operations = load_operations(PROJECT / "tests" / "data" / "mockapi_openapi.yaml")
    served = Served(tmp_path, operations=operations)
    pet = await served.client.get("/api/mock/pets/12")
    order = await served.client.post("/api/mock/orders")
    listed = await served.client.get("/api/operations")
    assert pet.headers["X-Shape-Source"] == "openapi" and pet.json()["species"] in ("cat", "dog", "rabbit")
    assert jsonschema.Draft202012Validator(operations[0].schema_).is_valid(pet.json())
    assert order.status_code == 200 and 1 <= order.json()["quantity"] <= 9
    assert {op["operation_id"] for op in listed.json()} == {"getPet", "placeOrder"}
    assert (await served.client.delete("/api/mock/pets/12")).status_code == 400  # no DELETE operation, no shape


def test_an_openapi_reference_outside_the_document_is_refused(tmp_path):
    doc = tmp_path / "api.yaml"
    doc.write_text(
        "openapi: 3.0.0\npaths:\n  /x:\n    get:\n      responses:\n        '200':\n"
        "          content:\n            application/json:\n              schema: {$ref: 'file:///etc/passwd'}\n"
    )
    with pytest.raises(Exception, match="outside the document"):
        load_operations(doc)


# --- simulated errors and latency --------------------------------------------------------------


async def test_error_query_answers_with_that_status_and_no_model_call(served):
    response = await served.client.get("/api/mock/users", params={"shape": json.dumps(USER), "error": "429", "errorMessage": "slow down"})
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert response.json() == {"error": {"code": 429, "message": "slow down"}}
    assert served.calls("generator") == 0


async def test_x_error_code_header_and_shape_error_simulate_too(served):
    by_header = await served.client.get(
        "/api/mock/users", params={"shape": json.dumps(USER)}, headers={"X-Error-Code": "503", "X-Error-Details": "maintenance"}
    )
    in_shape = await served.client.post("/api/mock/users", json={"shape": {**USER, "$error": {"code": 404, "message": "no such user"}}})
    both = await served.client.get("/api/mock/users", params={"shape": json.dumps({**USER, "$error": 500}), "error": "418"})
    assert by_header.status_code == 503 and by_header.json()["error"]["details"] == "maintenance"
    assert in_shape.status_code == 404 and in_shape.json()["error"]["message"] == "no such user"
    assert both.status_code == 418  # the query wins over the shape
    assert served.calls("generator") == 0


async def test_a_simulated_status_must_be_an_error_status(served):
    response = await served.client.get("/api/mock/users", params={"shape": json.dumps(USER), "error": "200"})
    assert response.status_code == 400


async def test_latency_is_simulated_before_answering(tmp_path):
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    served = Served(tmp_path, sleep=sleep)
    response = await served.client.get("/api/mock/users", params={"shape": json.dumps(USER), "delay": "250"})
    ranged = await served.client.get("/api/mock/users", headers={"X-Delay-Ms": "100-200"})
    assert response.status_code == ranged.status_code == 200
    assert slept[0] == 0.25 and 0.1 <= slept[1] <= 0.2


# --- context memory ----------------------------------------------------------------------------


async def test_a_context_shows_earlier_answers_to_the_model_until_it_expires(tmp_path):
    now = [0.0]
    served = Served(tmp_path, clock=lambda: now[0], limits=Limits(context_ttl_s=60))
    first = await served.client.post("/api/mock/users", params={"context": "shop"}, json={"shape": USER})
    name = first.json()["name"]
    served.models["generator"].requests.clear()
    await served.client.post("/api/mock/orders", params={"context": "shop"}, json={"shape": {"item": "string", "qty": 0}})
    assert any(name in p for p in served.models["generator"].prompts)
    served.models["generator"].requests.clear()
    await served.client.post("/api/mock/orders", params={"context": "other"}, json={"shape": {"item": "string", "qty": 0}})
    assert not any(name in p for p in served.models["generator"].prompts)  # contexts do not mix
    now[0] = 61.0
    served.models["generator"].requests.clear()
    await served.client.post("/api/mock/orders", params={"context": "shop"}, json={"shape": {"item": "string", "qty": 0}})
    assert not any(name in p for p in served.models["generator"].prompts)
    assert "shop" in (await served.client.get("/api/contexts")).json()  # the expired one started afresh


# --- every request is an execution of its workflow version -----------------------------------


async def test_each_request_books_its_calls_and_execution_rows(served):
    await served.client.post("/api/mock/users/generate", json={"shape": USER}, headers={"X-LLM-Backend": "generator"})
    await served.engine.drain()
    with session(served.store) as s:
        calls = s.exec(select(CallRecord)).all()
        rows = s.exec(select(ExecutionRecord)).all()
    assert calls and {(c.workflow, c.backend) for c in calls} == {("mock.users.generate", "generator")}
    assert len(calls) == served.calls("generator")
    flow = [r for r in rows if r.kind == "flow"]
    assert len(flow) == 1 and flow[0].valid_records == 1 and flow[0].state == "Completed"
    assert {(c.purpose, c.run_id) for c in calls} == {("mock", flow[0].run_id)}, "booked as the request's own mock run"
    assert {r.stage for r in rows if r.kind == "task"} >= {"generate"}
