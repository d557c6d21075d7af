"""What one request may ask of the mock API server, and how much it remembers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Limits(BaseModel):
    """Bounds that keep one client from exhausting the server or its backends."""

    model_config = {"extra": "forbid"}

    max_body_bytes: int = Field(1_048_576, gt=0, description="a larger request body is refused with 413")
    max_shape_chars: int = Field(65_536, gt=0, description="a larger shape (query, header or body) is refused with 413")
    max_n: int = Field(100, gt=0, description="the most records one request may ask for with ?n=")
    max_delay_ms: int = Field(30_000, ge=0, description="the longest simulated latency")
    remembered_paths: int = Field(1_024, gt=0, description="paths whose last shape is remembered (least recently used dropped)")
    contexts: int = Field(256, gt=0, description="live contexts (least recently used dropped)")
    context_answers: int = Field(8, gt=0, description="answers one context keeps (oldest dropped)")
    context_chars: int = Field(4_000, gt=0, description="characters of earlier answers a model is shown")
    context_ttl_s: float = Field(900.0, gt=0, description="a context unused this long is forgotten")
    concurrency: int = Field(8, gt=0, description="records one request generates at once")
    record_attempts: int = Field(3, gt=0, description="fresh attempts at a record that stays invalid before the request is a 502")
