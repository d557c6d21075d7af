"""Model backends: canonical types, HTTP adapters, the pool, and the embedded local server."""

from apprentice.backends.pool import BackendPool
from apprentice.backends.types import CallResult, ChatMessage, ModelClient, ModelRequest, ModelResponse

__all__ = ["BackendPool", "CallResult", "ChatMessage", "ModelClient", "ModelRequest", "ModelResponse"]
