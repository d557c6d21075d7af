"""Seed 000's client examples against `apprentice serve` on the embedded model, with an HTTP
client, as a front-end or integration test would drive the mock API: the three-stage user
pipeline (X-LLM-Backend per call), the parallel product fan-out and merge, and the validation
loop. Every answer must be valid for the shape it asked for."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jsonschema
import pytest

from apprentice.shapes.schema import compile_shape
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.e2e

USER = {"name": "string", "email": "email", "age": 0, "country": "string"}
ENRICHED = {**USER, "bio": "A two-sentence biography", "interests": ["string"]}
CHECKED = {**ENRICHED, "plan": "free|pro|enterprise"}
DETAILS = {"sku": "string", "name": "string", "description": "A one-sentence product description"}
PRICING = {"price": 0.0, "currency": "USD|EUR|GBP"}
INVENTORY = {"stock": 0, "warehouse": "string"}
EVENT = {"title": "string", "start_day": 0, "end_day": 0, "attendees": 0}


_SERVER_LOGS: dict[str, Path] = {}


def server_log(url: str) -> str:
    """The end of the server's log: what a 500 was (its traceback), shown with the failure."""
    return _SERVER_LOGS[url].read_text(errors="replace")[-4000:]


def valid(shape: dict, value) -> bool:
    return jsonschema.Draft202012Validator(compile_shape(shape).json_schema, format_checker=jsonschema.FormatChecker()).is_valid(value)


@pytest.fixture(scope="module")
def mock_api(local_model, tmp_path_factory, project_dir):
    """`apprentice serve` on a free port, its three seed backends all the embedded model."""
    home = tmp_path_factory.mktemp("serve")
    backends = home / "backends.toml"
    backends.write_text(
        "".join(
            f'[[backends]]\nname = "{name}"\nprovider = "openai"\nbase_url = "{local_model}"\nmodel = "smollm2-135m-instruct"\n'
            f'tier = "{tier}"\nstructured_output = "llama_cpp"\nmax_tokens = 512\ntimeout_s = 120\nmax_concurrency = 2\n\n'
            for name, tier in (("generator", "fast"), ("enricher", "fast"), ("validator", "quality"))
        )
    )
    port = free_port()
    env = {**os.environ, "APPRENTICE_HOME": str(home)}
    command = [
        sys.executable,
        "-m",
        "apprentice.cli",
        "serve",
        "--port",
        str(port),
        "--backends",
        str(backends),
        "--workflows",
        str(project_dir / "deployments"),
    ]
    log = home / "serve.log"  # a file, not a pipe nobody reads: a full pipe would block the server
    output = log.open("wb")
    process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"{url}/api/health", timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        pytest.fail(f"apprentice serve did not start: {log.read_text()[-2000:]}")
    _SERVER_LOGS[url] = log
    yield url
    process.terminate()
    process.wait(20)
    output.close()


async def call(client: httpx.AsyncClient, path: str, shape: dict, backend: str, **body) -> dict:
    """One request, asked again after a 502 as a client of a mock API would: a 502 says why no
    valid record could be made (a small model's bio cut short), never a bad body."""
    for _ in range(3):
        response = await client.post(f"/api/mock/{path}", json={"shape": shape, **body}, headers={"X-LLM-Backend": backend})
        if response.status_code != 502:
            break
        assert response.json()["error"]["reasons"], response.text
    assert response.status_code == 200, f"{response.text}\n{server_log(str(client.base_url).rstrip('/'))}"
    assert valid(shape, response.json()), response.text
    return response.json()


def test_sequential_user_pipeline_generate_enrich_validate(mock_api):
    async def pipeline() -> dict:
        async with httpx.AsyncClient(base_url=mock_api, timeout=600) as client:
            user = await call(client, "users/generate", USER, "generator")
            enriched = await call(client, "users/enrich", ENRICHED, "enricher", **user)
            assert {k: enriched[k] for k in USER} == user  # what the client passed on is kept
            return await call(client, "users/validate", CHECKED, "validator", **enriched)

    checked = asyncio.run(pipeline())
    assert valid(CHECKED, checked)


def test_parallel_product_fan_out_and_merge(mock_api):
    async def fan_out() -> dict:
        async with httpx.AsyncClient(base_url=mock_api, timeout=600) as client:
            parts = await asyncio.gather(
                call(client, "products/details", DETAILS, "generator"),
                call(client, "products/pricing", PRICING, "generator"),
                call(client, "products/inventory", INVENTORY, "generator"),
            )
        return {k: v for part in parts for k, v in part.items()}

    product = asyncio.run(fan_out())
    assert valid({**DETAILS, **PRICING, **INVENTORY}, product)


def test_validation_loop_corrects_until_the_rule_holds(mock_api):
    async def loop() -> tuple[dict, int]:
        async with httpx.AsyncClient(base_url=mock_api, timeout=600) as client:
            event = await call(client, "events/generate", EVENT, "generator")
            for round_ in range(3):
                if event["start_day"] <= event["end_day"]:
                    return event, round_
                event = await call(
                    client, "events/correct", EVENT, "validator", event=event, problem="end_day must not be before start_day"
                )
            return event, 3

    event, _rounds = asyncio.run(loop())
    assert valid(EVENT, event)


def test_a_workflow_spec_is_one_request(mock_api, project_dir):
    import json

    shape = json.loads((project_dir / "deployments" / "product.json").read_text())
    response = httpx.post(
        f"{mock_api}/api/mock/products",
        json={"shape": shape},
        headers={"X-Workflow": "product.parallel", "X-LLM-Backend": "generator"},
        timeout=900,
    )
    assert response.status_code in (200, 502), f"{response.text}\n{server_log(mock_api)}"  # a 502 says why, never a bad body
    if response.status_code == 200:
        assert valid(shape, response.json()) and response.headers["X-Workflow-Version"] == "products@1.0.0"
