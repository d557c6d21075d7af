"""No answer reveals a key: the backends' API keys and the server's own are cut out of every
error the server sends (a backend's error text is passed on, and it could quote one)."""

from __future__ import annotations

import os

from apprentice.config import PoolConfig

REDACTED = "[redacted]"


class Redactor:
    """Replaces every known secret in a text, longest first."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    @classmethod
    def for_pool(cls, config: PoolConfig, *extra: str | None) -> Redactor:
        """The keys the pool's backends read from the environment, plus `extra` (the server's key)."""
        keys = [os.environ.get(b.api_key_env, "") for b in config.backends if b.api_key_env]
        return cls([*keys, *(e for e in extra if e)])

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text
