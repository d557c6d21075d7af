"""What reaches the llama.cpp server as a grammar passes llama.cpp's own parser (in-process, the
C parser the server uses): a grammar it rejects aborts the whole server process."""

from __future__ import annotations

import json

import httpx
from llama_cpp.llama_grammar import json_schema_to_gbnf

from apprentice.backends.gbnf import grammar_parses, servable_schema
from apprentice.backends.grammar import grammar_safe, portable_pattern
from apprentice.backends.openai import OpenAICompatibleClient
from apprentice.backends.types import ModelRequest
from apprentice.config import load_pool_config
from tests.conftest import SHARED, needs_shared

BENCH = SHARED / "data" / "jsonschemabench"


def sent_schema(schema: dict) -> dict | None:
    """The schema the embedded backend's request carries (None: plain JSON, no schema)."""
    config = next(b for b in load_pool_config().backends if b.embedded)
    client = OpenAICompatibleClient(config, transport=httpx.MockTransport(lambda _r: httpx.Response(500)))
    body = client.payload(ModelRequest(messages=[{"role": "user", "content": "a record"}], json_schema=schema, stage="s"))
    return body["response_format"].get("schema")


@needs_shared
def test_every_shared_jsonschemabench_schema_reaches_the_server_as_a_grammar_its_parser_accepts():
    relaxed, checked = [], 0
    for path in sorted(BENCH.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            item = json.loads(line)
            sent = sent_schema(item["schema"])
            if sent is not None:
                assert grammar_parses(sent) is True, f"{path.name} {item['id']}: the server's parser would abort on this grammar"
            if sent != grammar_safe(item["schema"]):
                relaxed.append(item["id"])
            checked += 1
    assert checked == 6473, "every schema of the five subsets"
    assert len(relaxed) <= 3, f"patterns are translated, not dropped: {relaxed}"


def test_patterns_are_written_in_the_escapes_llamas_parser_knows():
    assert portable_pattern(r"^[a-z0-9\.-]+\.[a-z]+$") == r"^[a-z0-9\x2E-]+[\x2E][a-z]+$"
    assert portable_pattern("^/[^\u0000]+$") == r"^/[^\x00]+$", "a raw NUL would cut the grammar short"
    assert portable_pattern("[A-Za-z0-9_-]*") == "^([A-Za-z0-9_-]*)$", "unanchored, llama.cpp's converter drops the whole grammar"
    assert portable_pattern(".*{{.+}}.*") == r"^([\x7B][\x7B].+[\x7D][\x7D])$", "a literal brace made the converter loop forever"
    assert portable_pattern("[a-z]{2,4}") == "^([a-z]{2,4})$"
    for pattern in (r"^[a-z0-9\.-]+$", r"^https?:\/\/[\w\.]+$", "^/[^\u0000]+$", r"^\d+\.\d+\.\d+$", "[A-Z]+", r"PUBMED:\{d}"):
        schema = {"type": "object", "properties": {"v": {"type": "string", "pattern": pattern}}, "required": ["v"]}
        assert grammar_parses(grammar_safe(schema)) is True, pattern
        json_schema_to_gbnf(json.dumps(grammar_safe(schema)))  # the server's converter takes it: no fallback to plain JSON


def test_a_grammar_the_parser_rejects_is_relaxed_instead_of_sent():
    dotted = {
        "definitions": {"My.Def": {"type": "object", "properties": {"next": {"$ref": "#/definitions/My.Def"}, "a": {"type": "string"}}}},
        "type": "object",
        "properties": {"x": {"$ref": "#/definitions/My.Def"}},
        "required": ["x"],
    }
    assert grammar_parses(grammar_safe(dotted)) is False, "llama.cpp's converter writes the recursive rule's name with its dot"
    assert servable_schema(dotted) is None, "the server gets plain JSON; validation still holds the record to the schema"
    assert grammar_parses(servable_schema({"type": "object", "properties": {"a": {"type": "string"}}})) is True
