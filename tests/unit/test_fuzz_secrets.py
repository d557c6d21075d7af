"""The secrets scan: with an API key set in the environment for a backend file, a dataset
generation against fake HTTP backends that fail some calls (auth failures whose bodies echo the
key, server errors that echo the request's headers, rate limits, refused connections) leaves the
key nowhere — not in the logs, the outputs, the `.meta.jsonl`/`.rejects.jsonl`, any table of the
store, the summary artifact, or the one-line errors a user reads."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect, text

from apprentice import resume
from apprentice.backends.booking import Purpose, booked_as
from apprentice.backends.ledger import LedgerBook
from apprentice.backends.pool import BackendPool
from apprentice.backends.types import ChatMessage, ModelRequest
from apprentice.config import load_pool_config
from apprentice.dataset import BatchIncomplete, generate_batch, plan_batches, shortfall, summarise, write_outputs
from apprentice.errors import BackendUnavailableError
from apprentice.shapes.schema import compile_shape
from apprentice.store import default_engine
from apprentice.workflows import parse_spec

KEY = "sk-live-4f9QzT7xLmW2pR8vK3nB6yH1dJ5cA0eU"
SHAPE = compile_shape({"city": "string", "country": "string", "population": 0})


def backends_file(tmp_path: Path) -> Path:
    path = tmp_path / "backends.toml"
    path.write_text(
        '[[backends]]\nname = "hosted"\nbase_url = "https://api.hosted.test/v1"\nmodel = "m"\napi_key_env = "APPRENTICE_TEST_KEY"\n'
        '[[backends]]\nname = "proxy"\nbase_url = "https://proxy.test/v1"\nmodel = "m"\napi_key_env = "APPRENTICE_TEST_KEY"\ntier = '
        '"quality"\n'
        "[retry]\nattempts = 2\ninitial_wait_s = 0\nmax_wait_s = 0\n[breaker]\nfailure_threshold = 100\n"
    )
    return path


class LeakyServers:
    """Fake model servers that fail some calls in ways that quote the key back: an auth failure
    that names it (as some providers' 401 bodies do), a 500 that echoes the request headers, a
    429 that quotes the Authorization header; the rest answer with a valid city."""

    def __init__(self) -> None:
        self.calls = itertools.count()
        self.keys_seen: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.keys_seen.add(request.headers.get("authorization", ""))
        n = next(self.calls)
        if n % 5 == 0:
            return httpx.Response(
                401, json={"error": {"message": f"Incorrect API key provided: {KEY}. Find your key at https://hosted.test"}}
            )
        if n % 5 == 1:
            return httpx.Response(500, text=f"upstream failed for request with headers {dict(request.headers)}")
        if n % 7 == 2:
            return httpx.Response(429, text=f"rate limited: {request.headers['authorization']}", headers={"retry-after": "0"})
        if n % 11 == 3:
            raise httpx.ConnectError("connection refused", request=request)
        reply = {"city": f"Bergen {n}", "country": "Norway", "population": 285_000 + n}
        return httpx.Response(
            200,
            json={
                "model": "m",
                "choices": [{"message": {"content": json.dumps(reply)}}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 9},
            },
        )


async def run_dataset(pool: BackendPool, out: Path):
    """What the dataset flow does per run, through the library: batches, the ledger, kept records
    of incomplete batches, the JSONL and its meta and rejects files, the summary."""
    spec = parse_spec({"name": "cities", "stages": [{"name": "g", "role": "generate", "corrections": 1}]})
    batches = []
    for plan in plan_batches(12, 4, seed=7):
        with booked_as(Purpose.generation, workflow=spec.name, version=spec.version, run_id="r1"):
            batch = await generate_batch(pool, spec, SHAPE, plan, concurrency=2, record_attempts=2)
        resume.keep(plan.cache_key(spec, SHAPE), batch.outcomes)
        batches.append(batch)
    await pool.aclose()  # the ledger's rows are written
    summary = summarise(spec, 12, batches, SHAPE.json_schema)
    write_outputs(batches, out)
    messages = [shortfall(summary) or ""] + [str(BatchIncomplete(b)) for b in batches if b.not_made]
    return summary, messages


def store_dump() -> str:
    engine = default_engine()
    with engine.connect() as connection:
        return "\n".join(
            repr(row) for table in inspect(engine).get_table_names() for row in connection.execute(text(f'SELECT * FROM "{table}"'))
        )


def test_no_api_key_is_logged_stored_or_written(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("APPRENTICE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("APPRENTICE_TEST_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    servers = LeakyServers()
    config = load_pool_config(backends_file(tmp_path))
    pool = BackendPool(config, transport_factory=lambda _cfg: httpx.MockTransport(servers), book=LedgerBook())
    out = tmp_path / "out" / "cities.jsonl"
    summary, messages = asyncio.run(run_dataset(pool, out))
    from apprentice.orchestration.artifacts import summary_markdown

    assert servers.keys_seen == {f"Bearer {KEY}"}, "the key is sent, in the Authorization header only"
    assert summary.records and summary.invalid + summary.not_made, "the run made records and saw failures"
    files = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "backends.toml"}
    assert any(p.suffix == ".db" for p in files) and out in files
    places = {
        "logs": caplog.text + "".join(str(r.exc_info) for r in caplog.records),
        "store": store_dump(),
        "artifact": summary_markdown(summary),
        "summary": summary.model_dump_json(),
        "messages": "\n".join(messages),
    }
    places |= {str(p): content.decode("utf-8", "replace") for p, content in files.items()}
    leaked = [where for where, content in places.items() if KEY in content or KEY[8:24] in content]
    assert not leaked, f"the API key is in: {leaked}"


@pytest.mark.parametrize("status", [401, 403, 500, 429])
def test_a_backend_failure_that_quotes_the_key_is_reported_without_it(tmp_path, monkeypatch, status):
    monkeypatch.setenv("APPRENTICE_TEST_KEY", KEY)
    config = load_pool_config(backends_file(tmp_path))
    echo = httpx.MockTransport(lambda r: httpx.Response(status, text=f"bad key {r.headers['authorization']}" + " pad" * 60 + KEY))
    pool = BackendPool(config, transport_factory=lambda _cfg: echo)

    async def call():
        try:
            await pool.complete(ModelRequest(messages=[ChatMessage(role="user", content="hi")], stage="s"), backend="hosted")
        finally:
            await pool.aclose()

    with pytest.raises(BackendUnavailableError) as failure:
        asyncio.run(call())
    assert KEY not in str(failure.value) and all(KEY not in str(e) for e in failure.value.errors)
    assert f"HTTP {status}" in str(failure.value), "the failure still says what went wrong"
