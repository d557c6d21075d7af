"""Settings (from the environment) and the backend pool file (TOML).

Settings say where things live; the backend file says which model servers exist. API keys are
never written in the file: a backend names the environment variable (or Prefect Secret block)
that holds its key, and the key is read only when a request is sent.
"""

from __future__ import annotations

import os
import tomllib
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal, cast

import httpx
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from apprentice.errors import ConfigError, MissingApiKeyError
from apprentice.userfiles import read_text


class Tier(StrEnum):
    """Cost/quality class of a backend; failover climbs from fast to premium."""

    fast = "fast"
    quality = "quality"
    premium = "premium"

    @property
    def rank(self) -> int:
        return _TIER_RANK[self]

    @property
    def above(self) -> tuple[Tier, ...]:
        """The tiers above this one, nearest first."""
        return _ABOVE[self]

    @property
    def below(self) -> tuple[Tier, ...]:
        """The tiers below this one, nearest first."""
        return _BELOW[self]

    @property
    def failover(self) -> tuple[Tier, ...]:
        """This tier, then up, then down: the order a request for it climbs through the pool."""
        return (self, *_ABOVE[self], *_BELOW[self])


# Tier order is the declaration order above; these are on every call's failover path: no enum scans.
_TIER_RANK = {tier: i for i, tier in enumerate(Tier)}
_ABOVE = {tier: tuple(Tier)[i + 1 :] for i, tier in enumerate(Tier)}
_BELOW = {tier: tuple(reversed(tuple(Tier)[:i])) for i, tier in enumerate(Tier)}


StructuredOutput = Literal["json_schema", "llama_cpp", "json_object", "none"]


class BackendConfig(BaseModel):
    """One model server in the pool."""

    model_config = {"extra": "forbid"}

    name: str
    provider: Literal["openai", "ollama"] = "openai"
    base_url: str
    model: str
    api_key_env: str | None = None
    api_key_secret_block: str | None = None
    max_tokens: int = Field(512, gt=0)
    temperature: float = Field(0.7, ge=0, le=2)
    timeout_s: float = Field(60.0, gt=0)
    enabled: bool = True
    weight: float = Field(1.0, ge=0)
    tier: Tier = Tier.fast
    price_in_per_1k: float = Field(0.0, ge=0)
    price_out_per_1k: float = Field(0.0, ge=0)
    max_concurrency: int = Field(4, gt=0)
    context_tokens: int | None = Field(
        None,
        gt=0,
        description=(
            "the model's context window; with it, a shape too large for this backend is refused before any call (the embedded "
            "server's is APPRENTICE_LOCAL_CTX)"
        ),
    )
    structured_output: StructuredOutput | None = None
    embedded: bool = False
    """True for the llama.cpp server that apprentice starts itself when it is not up."""

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {url!r}")
        try:  # read as the HTTP client will read it, so a bad port or host fails here, not at the first request
            host = httpx.URL(url).host
        except httpx.InvalidURL as exc:
            raise ValueError(f"base_url {url!r} is not a valid URL: {exc}") from None
        if not host:
            raise ValueError(f"base_url {url!r} names no host")
        return url.rstrip("/")

    @property
    def response_format_kind(self) -> StructuredOutput:
        """How this server takes a JSON Schema: OpenAI's json_schema, llama.cpp's, or not at all."""
        if self.structured_output:
            return self.structured_output
        return "json_schema" if self.provider == "openai" else "none"

    def api_key(self) -> SecretStr | None:
        """The key for this backend, or None when it needs none. Raises if a named key is missing."""
        if self.api_key_env:
            value = os.environ.get(self.api_key_env)
            if not value:
                raise MissingApiKeyError(
                    f"backend '{self.name}' needs an API key in the environment variable {self.api_key_env}, which is not set"
                )
            return SecretStr(value)
        if self.api_key_secret_block:
            return SecretStr(_read_secret_block(self.name, self.api_key_secret_block))
        return None

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.price_in_per_1k + output_tokens * self.price_out_per_1k) / 1000


class BreakerConfig(BaseModel):
    model_config = {"extra": "forbid"}

    failure_threshold: int = Field(5, gt=0)
    window_s: float = Field(60.0, gt=0)
    reset_timeout_s: float = Field(30.0, gt=0)


class RetryConfig(BaseModel):
    model_config = {"extra": "forbid"}

    attempts: int = Field(3, gt=0)
    initial_wait_s: float = Field(0.5, ge=0)
    max_wait_s: float = Field(20.0, ge=0)
    rate_limit_wait_s: float = Field(
        60.0, ge=0, description="seconds one call may wait in all on 429s that say when to come back (Retry-After), using no attempt"
    )


class PoolConfig(BaseModel):
    """The whole backend file: every backend plus the retry and breaker policy they share."""

    model_config = {"extra": "forbid"}

    backends: list[BackendConfig]
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()

    @model_validator(mode="after")
    def _unique_names(self) -> PoolConfig:
        names = [b.name for b in self.backends]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"backend names must be unique, repeated: {', '.join(dupes)}")
        if not any(b.enabled for b in self.backends):
            raise ValueError("no backend is enabled")
        return self

    @cached_property
    def by_name(self) -> dict[str, BackendConfig]:
        return {b.name: b for b in self.backends}


class Settings(BaseSettings):
    """Where apprentice keeps its files and which backend file it reads (env prefix APPRENTICE_)."""

    model_config = SettingsConfigDict(env_prefix="APPRENTICE_", extra="ignore")

    home: Path = Path(".apprentice")
    backends_file: Path | None = None
    database_url: str | None = None
    local_port: int = 8012
    local_threads: int = Field(default_factory=lambda: os.cpu_count() or 2)
    local_ctx: int = 4096
    graduate_after: int = Field(50, ge=2, description="good executions before a workflow version graduates")
    spot_check: float = Field(0.0, ge=0, le=1, description="share of graduated executions judged anyway")
    calibration_per_run: int = Field(2, ge=0, le=20, description="planted-defect trials per judge in an apprentice run (monitoring cost)")
    calibration_target: int = Field(
        20, ge=4, description="trials of each kind (planted, clean) after which a judge is no longer calibrated"
    )

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'apprentice.db').resolve()}"

    @property
    def results_dir(self) -> Path:
        """Where finished batches are kept for resume (Prefect result storage) unless a default
        storage block is configured; under the home, so `make clean` clears it."""
        return (self.home / "prefect-results").resolve()


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(f"bad APPRENTICE_* setting: {_first_error(exc)}") from None


def load_pool_config(path: Path | str | None = None, settings: Settings | None = None) -> PoolConfig:
    """Read the backend file: `path`, else $APPRENTICE_BACKENDS_FILE, else the embedded default.

    The embedded default points at the local llama.cpp server on `settings.local_port`.
    """
    settings = settings or load_settings()
    path = Path(path) if path else settings.backends_file
    if path is None:
        text = resources.files("apprentice.defaults").joinpath("backends.toml").read_text()
        text = text.replace("{local_port}", str(settings.local_port))
        source = "embedded default backends.toml"
    else:
        text = read_text(path, "backend file", ConfigError)
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None
    try:
        return PoolConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"


def _read_secret_block(backend: str, block_name: str) -> str:
    try:
        from prefect.blocks.system import Secret

        # `load` dispatches on the caller: inside an async flow (where pools are built) it returns the
        # coroutine of `aload` unless told `_sync=True`, which its typed signature does not declare.
        block = Secret.load(block_name, _sync=True)  # type: ignore[call-arg]
        return str(cast(Secret, block).get())
    except Exception as exc:  # the block, the API or Prefect itself may be missing
        raise MissingApiKeyError(
            f"backend '{backend}' needs the Prefect Secret block '{block_name}', which cannot be loaded ({type(exc).__name__})"
        ) from None
