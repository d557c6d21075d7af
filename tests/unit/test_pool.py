"""Backend pool under injected faults: retries, Retry-After, breaker, failover across tiers."""

from __future__ import annotations

import httpx
import pytest

from apprentice.backends.pool import BackendPool
from apprentice.backends.types import ChatMessage, ModelRequest
from apprentice.config import Tier
from apprentice.errors import BackendUnavailableError, MissingApiKeyError, UnknownBackendError

from .fakes import Script, chat_reply, pool_config, transports

REQUEST = ModelRequest(messages=[ChatMessage(role="user", content="hi")], stage="s")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_pool(config, scripts, clock=None):
    clock = clock or Clock()
    return BackendPool(config, transport_factory=transports(scripts), clock=clock, sleep=clock.sleep), clock


async def test_429_with_retry_after_is_honoured_then_succeeds():
    script = Script(httpx.Response(429, headers={"Retry-After": "2"}), chat_reply('{"a": 1}'))
    pool, clock = make_pool(pool_config({"name": "a", "price_in_per_1k": 1.0, "price_out_per_1k": 2.0}), {"a": script})
    result = await pool.complete(REQUEST)
    assert result.text == '{"a": 1}'
    assert result.attempts == 2
    assert clock.sleeps == [2.0]
    assert result.cost_usd == pytest.approx((10 * 1.0 + 5 * 2.0) / 1000)


async def test_a_429_storm_with_retry_after_is_waited_out_without_using_attempts_or_opening_the_circuit():
    storm = [httpx.Response(429, headers={"Retry-After": "1"})] * 6
    script = Script(*storm, chat_reply('{"a": 1}'))
    pool, clock = make_pool(pool_config({"name": "a"}, attempts=3, failure_threshold=2), {"a": script})
    result = await pool.complete(REQUEST)
    assert result.text == '{"a": 1}' and result.attempts == 7
    assert clock.sleeps == [1.0] * 6
    assert pool.health() == {"a": "closed"}


async def test_a_429_storm_longer_than_the_rate_limit_budget_then_uses_the_attempts():
    script = Script(httpx.Response(429, headers={"Retry-After": "1"}))
    config = pool_config({"name": "a"}, attempts=3)
    config.retry.rate_limit_wait_s = 2
    pool, clock = make_pool(config, {"a": script})
    with pytest.raises(BackendUnavailableError, match="HTTP 429"):
        await pool.complete(REQUEST)
    assert len(script.requests) == 2 + 3, "two waits as told, then the three attempts"


async def test_503_is_retried_with_backoff_until_success():
    script = Script(httpx.Response(503), httpx.Response(503), chat_reply("ok"))
    pool, clock = make_pool(pool_config({"name": "a"}), {"a": script})
    result = await pool.complete(REQUEST)
    assert result.attempts == 3
    assert len(clock.sleeps) == 2 and all(s > 0 for s in clock.sleeps)


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_client_errors_are_not_retried(status):
    script = Script(httpx.Response(status, text="nope"))
    pool, _ = make_pool(pool_config({"name": "a"}), {"a": script})
    with pytest.raises(BackendUnavailableError, match=f"HTTP {status}"):
        await pool.complete(REQUEST)
    assert len(script.requests) == 1


async def test_timeout_and_connection_refused_fail_over_to_next_backend_of_the_tier():
    scripts = {
        "slow": Script(httpx.ReadTimeout("timed out")),
        "dead": Script(httpx.ConnectError("connection refused")),
        "good": Script(chat_reply("ok")),
    }
    config = pool_config({"name": "slow", "weight": 1000}, {"name": "dead", "weight": 100}, {"name": "good", "weight": 0.001}, attempts=2)
    pool, _ = make_pool(config, scripts)
    result = await pool.complete(REQUEST, backend="slow")
    assert result.backend == "good"
    assert result.failed_over_from == ["slow", "dead"]
    assert len(scripts["slow"].requests) == 2 and len(scripts["dead"].requests) == 2


async def test_failover_climbs_to_a_higher_tier_before_a_lower_one():
    scripts = {
        "fast": Script(chat_reply("fast")),
        "q": Script(httpx.Response(500)),
        "p": Script(chat_reply("premium")),
    }
    config = pool_config({"name": "fast", "tier": "fast"}, {"name": "q", "tier": "quality"}, {"name": "p", "tier": "premium"}, attempts=1)
    pool, _ = make_pool(config, scripts)
    result = await pool.complete(REQUEST, tier=Tier.quality)
    assert result.backend == "p" and result.tier is Tier.premium
    assert scripts["fast"].requests == []


async def test_breaker_opens_after_repeated_failures_then_half_opens_with_one_probe():
    scripts = {"a": Script(httpx.Response(503)), "b": Script(chat_reply("b"))}
    config = pool_config({"name": "a", "weight": 1e6}, {"name": "b", "weight": 1e-6}, attempts=1, failure_threshold=3)
    pool, clock = make_pool(config, scripts)
    for _ in range(3):
        assert (await pool.complete(REQUEST, backend="a")).backend == "b"
    assert pool.health()["a"] == "open"
    calls_before = len(scripts["a"].requests)
    result = await pool.complete(REQUEST, backend="a")
    assert len(scripts["a"].requests) == calls_before, "an open circuit sends nothing"
    assert result.failed_over_from == ["a"]
    clock.now += 31
    assert pool.health()["a"] == "half_open"
    scripts["a"].steps = [chat_reply("a is back")]
    result = await pool.complete(REQUEST, backend="a")
    assert result.backend == "a" and "a:half_open" in result.breaker_events and "a:closed" in result.breaker_events
    assert pool.health()["a"] == "closed"


async def test_breakers_are_per_backend():
    scripts = {"a": Script(httpx.Response(503)), "b": Script(chat_reply("b"))}
    pool, _ = make_pool(pool_config({"name": "a"}, {"name": "b"}, attempts=1, failure_threshold=1), scripts)
    await pool.complete(REQUEST, backend="a")
    assert pool.health() == {"a": "open", "b": "closed"}


async def test_unknown_backend_name_is_a_clear_error():
    pool, _ = make_pool(pool_config({"name": "a"}), {"a": Script(chat_reply("x"))})
    with pytest.raises(UnknownBackendError, match="unknown backend 'nope' \\(the pool has: a\\)"):
        await pool.complete(REQUEST, backend="nope")


async def test_missing_api_key_for_a_named_backend_names_the_variable(monkeypatch):
    monkeypatch.delenv("APPRENTICE_TEST_KEY", raising=False)
    pool, _ = make_pool(pool_config({"name": "a", "api_key_env": "APPRENTICE_TEST_KEY"}), {"a": Script(chat_reply("x"))})
    with pytest.raises(MissingApiKeyError, match="APPRENTICE_TEST_KEY"):
        await pool.complete(REQUEST, backend="a")


async def test_api_key_goes_in_the_header_only(monkeypatch):
    monkeypatch.setenv("APPRENTICE_TEST_KEY", "sk-secret-123")
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers.get("authorization")
        seen["body"] = request.content.decode()
        return chat_reply("ok")

    pool, _ = make_pool(pool_config({"name": "a", "api_key_env": "APPRENTICE_TEST_KEY"}), {"a": Script(handler)})
    result = await pool.complete(REQUEST, backend="a")
    assert seen["auth"] == "Bearer sk-secret-123"
    assert "sk-secret" not in seen["body"]
    assert "sk-secret" not in result.model_dump_json()
    assert "sk-secret" not in repr(pool.config)


async def test_all_backends_down_reports_each_reason():
    scripts = {"a": Script(httpx.ConnectError("refused")), "b": Script(httpx.Response(401, text="bad key"))}
    pool, _ = make_pool(pool_config({"name": "a"}, {"name": "b"}, attempts=1), scripts)
    with pytest.raises(BackendUnavailableError) as info:
        await pool.complete(REQUEST)
    message = str(info.value)
    assert "unreachable" in message and "HTTP 401" in message and "\n" not in message


async def test_structured_output_is_asked_the_way_each_server_takes_it():
    schema = {"type": "object"}
    request = ModelRequest(messages=REQUEST.messages, json_schema=schema, stage="s")
    scripts = {n: Script(chat_reply("{}")) for n in ("oai", "llama")}
    scripts["ollama"] = Script(httpx.Response(200, json={"model": "m", "message": {"content": "{}"}, "eval_count": 3}))
    config = pool_config(
        {"name": "oai"},
        {"name": "llama", "structured_output": "llama_cpp"},
        {"name": "ollama", "provider": "ollama", "base_url": "http://fake.test"},
    )
    pool, _ = make_pool(config, scripts)
    for name in scripts:
        await pool.complete(request, backend=name)
    assert scripts["oai"].requests[0]["response_format"]["type"] == "json_schema"
    assert scripts["oai"].requests[0]["response_format"]["json_schema"]["schema"] == schema
    assert scripts["llama"].requests[0]["response_format"] == {"type": "json_object", "schema": schema}
    assert scripts["ollama"].requests[0]["format"] == schema


@pytest.mark.parametrize(
    ("status", "with_schema", "kind"),
    [
        (429, False, "rate_limited"),
        (401, False, "auth"),
        (400, True, "schema_rejected"),
        (400, False, "http_status"),
        (500, True, "schema_rejected"),
    ],
)
async def test_a_failure_carries_its_kind_so_callers_never_parse_messages(status, with_schema, kind):
    script = Script(*[httpx.Response(status, text="nope")] * 3)
    pool, _ = make_pool(pool_config({"name": "a"}, attempts=1), {"a": script})
    request = REQUEST.model_copy(update={"json_schema": {"type": "object"}}) if with_schema else REQUEST
    with pytest.raises(BackendUnavailableError) as raised:
        await pool.complete(request)
    assert {k.value for k in raised.value.kinds} == {kind}


async def test_a_stage_asks_again_without_the_schema_a_server_rejected():
    from apprentice.generation import produce_valid
    from apprentice.workflows import StageSpec

    script = Script(httpx.Response(400, text="failed to compile grammar"), chat_reply('{"a": 1}'))
    pool, _ = make_pool(pool_config({"name": "a", "structured_output": "llama_cpp"}), {"a": script})
    stage = StageSpec(name="draft", role="generate", corrections=0)
    outcome = await produce_valid(
        pool, stage, {"type": "object", "properties": {"a": {"type": "integer"}}}, [ChatMessage(role="user", content="a")]
    )
    assert outcome.valid and outcome.value == {"a": 1}
    assert "schema" in script.requests[0]["response_format"] and "schema" not in script.requests[1].get("response_format", {})
