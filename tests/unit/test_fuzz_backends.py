"""Backend files fuzzed (missing keys, bad URLs, negative limits, unknown kinds, `api_key_env`
naming unset variables, broken TOML, undecodable bytes) and model servers' answers fuzzed: a file
either gives a pool whose every backend can be checked and called, or is refused in one line;
any answer is a result or a backend failure the pool reports, never a stray exception."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from unittest import mock

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from apprentice.backends.http import make_client
from apprentice.backends.pool import BackendPool
from apprentice.backends.types import ChatMessage, ModelRequest
from apprentice.config import load_pool_config
from apprentice.errors import ApprenticeError
from apprentice.preflight import reachable
from tests.unit.fakes import chat_reply, pool_config
from tests.unit.fuzzing import BACKENDS, FUZZ, JSON_DOCS, POLICY_TAILS, VALID_BACKEND, assert_one_line, no_secret_blocks, toml_backends

REQUEST = ModelRequest(messages=[ChatMessage(role="user", content="hi")], json_schema={"type": "object"}, stage="s")


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


def offline_get(url, **kwargs):
    """`httpx.get` without the network: the URL is still parsed and the request built."""
    with httpx.Client(transport=httpx.MockTransport(refused)) as client:
        return client.get(url, **kwargs)


def check_pool(path: Path) -> None:
    """What `apprentice backends` and a run's preflight and pool do with a backend file."""
    config = load_pool_config(path)
    with mock.patch.object(httpx, "get", offline_get), no_secret_blocks():
        for backend in config.backends:
            try:
                reachable(backend, 0.5)
            except ApprenticeError as exc:
                assert_one_line(exc)
    pool = BackendPool(config, transport_factory=lambda _cfg: httpx.MockTransport(lambda _r: chat_reply('{"a": 1}')))

    async def call() -> None:
        try:
            await pool.complete(REQUEST)
        finally:
            await pool.aclose()

    asyncio.run(call())


@FUZZ
@given(BACKENDS, POLICY_TAILS)
@example([VALID_BACKEND], "")
@example([{**VALID_BACKEND, "base_url": "http://:99999/v1"}], "")
@example([{**VALID_BACKEND, "base_url": "http://exa mple.com"}], "")
@example([{**VALID_BACKEND, "base_url": "http://[::1/v1"}], "")
@example([{**VALID_BACKEND, "api_key_env": "APPRENTICE_FUZZ_UNSET_KEY"}], "")
@example([{**VALID_BACKEND, "max_concurrency": -1, "kind": "anthropic"}], "")
@example([{**VALID_BACKEND, "name": ""}], "")
def test_any_backend_file_gives_a_usable_pool_or_one_line(backends, tail):
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "backends.toml"
        path.write_text(toml_backends(backends, tail))
        try:
            check_pool(path)
        except Exception as exc:  # noqa: BLE001 - the property: only a one-line ApprenticeError may escape
            assert_one_line(exc)


@FUZZ
@given(
    st.binary(max_size=120)
    | st.sampled_from([b'[[backends]]\nname = "\xff"\n', b"\xef\xbb\xbf[[backends]]\n", b"backends = 3\n", b"backends = []\n"])
)
def test_any_backend_file_bytes_load_or_fail_in_one_line(content):
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "backends.toml"
        path.write_bytes(content)
        try:
            load_pool_config(path)
        except Exception as exc:  # noqa: BLE001
            assert_one_line(exc)


BODIES = st.one_of(
    JSON_DOCS.map(lambda d: json.dumps(d).encode()),
    st.fixed_dictionaries(
        {"choices": st.lists(st.fixed_dictionaries({}, optional={"message": JSON_DOCS, "finish_reason": JSON_DOCS}), max_size=2)},
        optional={
            "usage": JSON_DOCS | st.fixed_dictionaries({}, optional={"prompt_tokens": JSON_DOCS, "completion_tokens": JSON_DOCS}),
            "model": JSON_DOCS,
        },
    ).map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=60),
)


@FUZZ
@given(
    BODIES,
    st.sampled_from([200, 200, 201, 400, 401, 404, 422, 429, 500, 503]),
    st.sampled_from(["openai", "ollama"]),
    st.sampled_from([None, "abc", "-5", "1e9", "Wed, 21 Oct 2015 07:28:00 GMT", "nan"]),
)
@example(b'{"choices": [{"message": {"content": "{}"}}], "usage": {"prompt_tokens": "many"}}', 200, "openai", None)
@example(b'{"choices": [{"message": {"content": "{}"}}], "usage": []}', 200, "openai", None)
@example(b'{"message": {"content": "{}"}, "prompt_eval_count": "x"}', 200, "ollama", None)
def test_any_server_answer_is_a_result_or_a_reported_backend_failure(body, status, provider, retry_after):
    headers = {"content-type": "application/json"} | ({"retry-after": retry_after} if retry_after else {})
    config = pool_config({"name": "local", "provider": provider}, attempts=1)
    pool = BackendPool(
        config, transport_factory=lambda _cfg: httpx.MockTransport(lambda _r: httpx.Response(status, content=body, headers=headers))
    )

    async def call() -> None:
        try:
            result = await pool.complete(REQUEST)
            assert isinstance(result.text, str) and result.input_tokens >= 0 and result.output_tokens >= 0
        except Exception as exc:  # noqa: BLE001
            assert_one_line(exc)
        finally:
            await pool.aclose()

    asyncio.run(call())


def test_a_client_is_built_for_every_url_the_backend_file_accepts():
    """The URL check happens when the file is read, not when the first request is sent."""
    for url in ["http://127.0.0.1:9/v1", "https://api.example.com/v1/", "http://[::1]:8000"]:
        backend = pool_config({"name": "b", "base_url": url}).backends[0]
        make_client(backend)
