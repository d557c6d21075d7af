"""Adapter for OpenAI-compatible chat servers: llama.cpp, vLLM, Ollama's /v1, OpenAI itself."""

from __future__ import annotations

from typing import Any

import httpx

from apprentice.backends.gbnf import servable_schema
from apprentice.backends.http import make_client, post_json
from apprentice.backends.types import ModelRequest, ModelResponse
from apprentice.config import BackendConfig
from apprentice.errors import BackendError, BackendErrorKind


class OpenAICompatibleClient:
    """POSTs to `{base_url}/chat/completions`, asking for structured output the server's way."""

    def __init__(self, config: BackendConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._http = make_client(config, transport)

    def payload(self, request: ModelRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [m.model_dump() for m in request.messages],
            "temperature": self.config.temperature if request.temperature is None else request.temperature,
            "max_tokens": request.max_tokens or self.config.max_tokens,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.json_schema is not None:
            kind = self.config.response_format_kind
            if kind == "json_schema":
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "record", "schema": request.json_schema, "strict": False},
                }
            elif kind == "llama_cpp":
                servable = servable_schema(request.json_schema)
                body["response_format"] = {"type": "json_object"} | ({"schema": servable} if servable is not None else {})
            elif kind == "json_object":
                body["response_format"] = {"type": "json_object"}
        return body

    async def complete(self, request: ModelRequest) -> ModelResponse:
        data = await post_json(self._http, self.config.name, "/chat/completions", self.payload(request))
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
            usage = data.get("usage") or {}
            return ModelResponse(
                text=text,
                model=data.get("model") or self.config.model,
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
                finish_reason=choice.get("finish_reason"),
            )
        except (KeyError, IndexError, TypeError, AttributeError, ValueError):  # ValueError: a count or field of the wrong type
            raise BackendError(
                f"backend '{self.config.name}' answered without a readable choices[0].message and usage",
                backend=self.config.name,
                kind=BackendErrorKind.bad_body,
            ) from None

    async def aclose(self) -> None:
        await self._http.aclose()
