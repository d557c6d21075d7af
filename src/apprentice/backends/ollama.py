"""Adapter for Ollama's native `/api/chat`, which takes a JSON Schema in `format`."""

from __future__ import annotations

from typing import Any

import httpx

from apprentice.backends.http import make_client, post_json
from apprentice.backends.types import ModelRequest, ModelResponse
from apprentice.config import BackendConfig
from apprentice.errors import BackendError, BackendErrorKind


class OllamaClient:
    def __init__(self, config: BackendConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._http = make_client(config, transport)

    def payload(self, request: ModelRequest) -> dict[str, Any]:
        options: dict[str, Any] = {
            "temperature": self.config.temperature if request.temperature is None else request.temperature,
            "num_predict": request.max_tokens or self.config.max_tokens,
        }
        if request.seed is not None:
            options["seed"] = request.seed
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [m.model_dump() for m in request.messages],
            "stream": False,
            "options": options,
        }
        if request.json_schema is not None and self.config.structured_output != "none":
            body["format"] = request.json_schema
        return body

    async def complete(self, request: ModelRequest) -> ModelResponse:
        data = await post_json(self._http, self.config.name, "/api/chat", self.payload(request))
        try:
            message = data["message"]
            return ModelResponse(
                text=message["content"] or "",
                model=data.get("model") or self.config.model,
                input_tokens=int(data.get("prompt_eval_count") or 0),
                output_tokens=int(data.get("eval_count") or 0),
                finish_reason=data.get("done_reason"),
            )
        except (KeyError, TypeError, AttributeError, ValueError):  # ValueError: a count or field of the wrong type
            raise BackendError(
                f"backend '{self.config.name}' answered without a readable message.content",
                backend=self.config.name,
                kind=BackendErrorKind.bad_body,
            ) from None

    async def aclose(self) -> None:
        await self._http.aclose()
