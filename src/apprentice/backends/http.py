"""Shared HTTP plumbing for adapters: one pooled AsyncClient per backend and error mapping."""

from __future__ import annotations

import email.utils
import functools
import ssl
import time

import httpx

from apprentice.config import BackendConfig
from apprentice.errors import BackendError, BackendErrorKind

NOT_RETRYABLE = {400, 401, 403, 404, 422}


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context (CA bundle, `SSL_CERT_FILE`/`SSL_CERT_DIR` honoured) shared by every client:
    building one loads the CA bundle, about 18 ms, and pools are built once per flow run."""
    return httpx.create_ssl_context()


def make_client(config: BackendConfig, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """A pooled client for one backend, with explicit timeouts and the key in a header only."""
    headers = {"Content-Type": "application/json"}
    key = config.api_key()
    if key is not None:
        headers["Authorization"] = f"Bearer {key.get_secret_value()}"
    return httpx.AsyncClient(
        base_url=config.base_url,
        headers=headers,
        timeout=httpx.Timeout(config.timeout_s, connect=min(5.0, config.timeout_s)),
        limits=httpx.Limits(max_connections=config.max_concurrency, max_keepalive_connections=config.max_concurrency),
        transport=transport,
        verify=tls_context(),
    )


def status_kind(status: int, *, carried_schema: bool) -> BackendErrorKind:
    """What an HTTP error status means for the caller."""
    if status == 429:
        return BackendErrorKind.rate_limited
    if status in (401, 403):
        return BackendErrorKind.auth
    if carried_schema and status in (400, 422, 500):  # llama.cpp answers 500 when its grammar engine chokes
        return BackendErrorKind.schema_rejected
    return BackendErrorKind.http_status


async def post_json(client: httpx.AsyncClient, backend: str, path: str, body: dict) -> dict:
    """POST and return the decoded body, mapping every failure to a `BackendError`."""
    try:
        response = await client.post(path, json=body)
    except httpx.TimeoutException as exc:
        raise BackendError(
            f"backend '{backend}' timed out ({type(exc).__name__})", backend=backend, kind=BackendErrorKind.timeout
        ) from None
    except httpx.TransportError as exc:
        raise BackendError(f"backend '{backend}' is unreachable at {client.base_url} ({type(exc).__name__})", backend=backend) from None
    if response.status_code >= 400:
        snippet = without_key(response.text[:4096], client)[:200].replace("\n", " ")
        raise BackendError(
            f"backend '{backend}' answered HTTP {response.status_code}: {snippet}",
            backend=backend,
            kind=status_kind(response.status_code, carried_schema="response_format" in body or "format" in body),
            status=response.status_code,
            retryable=response.status_code not in NOT_RETRYABLE,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    try:
        return response.json()
    except ValueError:
        raise BackendError(
            f"backend '{backend}' answered with a body that is not JSON", backend=backend, kind=BackendErrorKind.bad_body
        ) from None


def without_key(body: str, client: httpx.AsyncClient) -> str:
    """`body` with the client's API key blanked out: some servers quote the key they refused, and
    the body goes into the error a user reads, the run's logs, its rejects and the store."""
    key = client.headers.get("authorization", "").partition(" ")[2]
    return body.replace(key, "[key redacted]") if key else body


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
