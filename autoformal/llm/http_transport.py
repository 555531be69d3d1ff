"""The HTTP layer under `OpenAICompatibleBackend`: one JSON exchange with an OpenAI-compatible server, over
aiohttp (default) or httpx, and the retry policy around it.

It replaces the official `openai` SDK, of which the backend used only the request path: importing the SDK
took ~0.7 s of CPU (most of it response types we never built) and its request path ~2 ms of client CPU per
request with 64 in flight. aiohttp is the default because it is the cheapest client per request by far
(benchmarks/llm_client_overhead.py): httpx's connection pool (httpcore 1.x) rescans every pooled connection,
probing its socket, for each request, which costs ~10 ms of CPU per request with 64 connections.

The retry policy is the one of the SDK it replaces (openai 3.57, `_base_client.py`):

- what is retried: a connection failure (refused, reset, DNS, dropped) or an attempt timeout, and an answer
  with status 408, 409, 429 or >= 500; a server's `x-should-retry: true`/`false` header overrides the status
  (not the connection cases). Other statuses (400, 401, 404, 422, ...) are never retried;
- how often: `max_retries` times after the first attempt;
- how long to wait before retry k (k = 0, 1, ...): the server's `retry-after-ms` (milliseconds), else
  `retry-after` (seconds, a float, or an HTTP date), when that is > 0 and <= 120 s; a finite delay above 120 s
  means do not retry at all; otherwise `min(0.5 * 2**k, 8)` seconds less a random 0-25% (jitter).

Timeouts per attempt follow httpx's model: `connect_s` to open a connection, `read_s` for each read, write
and wait for a pooled connection (a server that sends its answer at once, as vLLM does without streaming,
thus gets `read_s` for the whole answer). The deadline over all attempts is the caller's (`asyncio.wait_for`).

Requests carry `Authorization: Bearer <key>`, `Content-Type` and `Accept: application/json`, and none of the
SDK's own headers (`X-Stainless-*`, `Idempotency-Key`, its User-Agent), which OpenAI-compatible servers do
not need. aiohttp itself sends an idempotent request (the `GET /models` probe) once more when the connection
drops before an answer, as RFC 9112 allows.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from autoformal.llm.errors import GenerationTimeoutError, LLMError, ServerUnreachableError

if TYPE_CHECKING:
    import aiohttp
    import httpx

INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0
#: Longest server-requested wait that is honoured; a longer one means "do not retry".
MAX_RETRY_AFTER_S = 120.0
_RETRIED_STATUSES = frozenset({408, 409, 429})
#: Connection pool bounds (the SDK's defaults); `max_concurrency` bounds requests in flight below them.
_MAX_CONNECTIONS = 1000
_MAX_KEEPALIVE_CONNECTIONS = 100


@dataclass(frozen=True)
class Timeouts:
    """Per-attempt limits in seconds (see the module docstring)."""

    read_s: float
    connect_s: float


@dataclass(frozen=True)
class Answer:
    """A complete HTTP answer. `headers` is the transport's case-insensitive mapping."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def payload(self) -> object:
        """The decoded JSON when the server labels its answer JSON, else the text (as the SDK returned it, so
        a proxy's HTML page reaches the caller's shape check rather than the JSON decoder). Raises
        `json.JSONDecodeError` for JSON-labelled garbage."""
        content_type = self.headers.get("content-type", "*").split(";", 1)[0]
        if not content_type.endswith("json"):
            return self.text
        return json.loads(self.content)

    def error_message(self) -> str:
        """`Error code: <status>`, with the server's `error.message` (or top-level `message`) when it sent one."""
        message = f"Error code: {self.status}"
        try:
            body = json.loads(self.content)
        except ValueError:
            return message
        error = body.get("error", body) if isinstance(body, dict) else None
        detail = error.get("message") if isinstance(error, dict) else None
        return f"{message} - {detail}" if isinstance(detail, str) and detail else message


class _AttemptTimeout(Exception):
    """An attempt got no (complete) answer within its `Timeouts`; the transport's error is the cause."""


class _ConnectionFailed(Exception):
    """An attempt failed below HTTP (refused, reset, DNS, dropped); the transport's error is the cause."""


class Transport(Protocol):
    """Sends one request and reads the whole answer; raises `_AttemptTimeout` or `_ConnectionFailed`."""

    async def send(
        self, method: Literal["GET", "POST"], url: str, body: bytes | None, timeouts: Timeouts
    ) -> Answer: ...

    async def aclose(self) -> None: ...


def encode_json(body: Mapping[str, Any]) -> bytes:
    """A request body as compact UTF-8 JSON (what httpx's `json=` sends)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def open_transport(kind: Literal["aiohttp", "httpx"], api_key: str, base_url: str) -> Transport:
    """A transport for requests to `base_url`, with its own connection pool; it must be used and closed on the
    loop that opened it."""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json", "Accept": "application/json"}
    return AiohttpTransport(headers, base_url) if kind == "aiohttp" else HttpxTransport(headers)


class HttpxTransport:
    def __init__(self, headers: Mapping[str, str]) -> None:
        import httpx

        self._httpx = httpx
        self._client = httpx.AsyncClient(
            headers=dict(headers),
            limits=httpx.Limits(max_connections=_MAX_CONNECTIONS, max_keepalive_connections=_MAX_KEEPALIVE_CONNECTIONS),
            follow_redirects=True,
        )
        self._timeouts: dict[Timeouts, httpx.Timeout] = {}

    async def send(self, method: Literal["GET", "POST"], url: str, body: bytes | None, timeouts: Timeouts) -> Answer:
        httpx = self._httpx
        timeout = self._timeouts.get(timeouts)
        if timeout is None:
            timeout = self._timeouts[timeouts] = httpx.Timeout(timeouts.read_s, connect=timeouts.connect_s)
        try:
            response = await self._client.request(method, url, content=body, timeout=timeout)
        except httpx.TimeoutException as error:
            raise _AttemptTimeout(f"{type(error).__name__}: {error}") from error
        except httpx.RequestError as error:
            raise _ConnectionFailed(f"{type(error).__name__}: {error}") from error
        return Answer(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        await self._client.aclose()


class AiohttpTransport:
    def __init__(self, headers: Mapping[str, str], base_url: str) -> None:
        import aiohttp
        from aiohttp.helpers import get_env_proxy_for_url
        from yarl import URL

        self._aiohttp = aiohttp
        self._headers = dict(headers)
        # Proxy settings from the environment apply, as they do for httpx (and did for the SDK). They are read
        # once: aiohttp's `trust_env` reads them, and ~/.netrc, for every request (~0.5 ms of CPU each).
        try:
            self._proxy: URL | None
            self._proxy, self._proxy_auth = get_env_proxy_for_url(URL(base_url))
        except LookupError:
            self._proxy, self._proxy_auth = None, None
        # Opened on first use: aiohttp binds its session to the running loop.
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}

    async def send(self, method: Literal["GET", "POST"], url: str, body: bytes | None, timeouts: Timeouts) -> Answer:
        aiohttp = self._aiohttp
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers, connector=aiohttp.TCPConnector(limit=_MAX_CONNECTIONS)
            )
        timeout = self._timeouts.get(timeouts)
        if timeout is None:
            timeout = self._timeouts[timeouts] = aiohttp.ClientTimeout(
                total=None, sock_connect=timeouts.connect_s, sock_read=timeouts.read_s, connect=timeouts.read_s
            )
        try:
            async with self._session.request(
                method, url, data=body, timeout=timeout, proxy=self._proxy, proxy_auth=self._proxy_auth
            ) as response:
                return Answer(response.status, response.headers, await response.read())
        except asyncio.TimeoutError as error:  # aiohttp's connect and read timeouts subclass it
            raise _AttemptTimeout(f"{type(error).__name__}: {error}") from error
        except aiohttp.ClientError as error:
            raise _ConnectionFailed(f"{type(error).__name__}: {error}") from error

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def send_with_retries(
    transport: Transport,
    method: Literal["GET", "POST"],
    url: str,
    body: bytes | None,
    timeouts: Timeouts,
    max_retries: int,
    *,
    base_url: str,
) -> Answer:
    """The first 2xx answer, or the last answer once retrying stops (an error status the caller translates).
    A failure below HTTP on the last attempt is a `ServerUnreachableError` or `GenerationTimeoutError`."""
    retries_taken = 0
    while True:
        last_attempt = retries_taken >= max_retries
        try:
            answer = await transport.send(method, url, body, timeouts)
        except (_AttemptTimeout, _ConnectionFailed) as error:
            if last_attempt:
                raise _failure(error, base_url, timeouts, max_retries) from error
            delay_s = retry_delay_s(retries_taken, None)
        else:
            if 200 <= answer.status < 300 or last_attempt or not should_retry(answer):
                return answer
            delay_s = retry_delay_s(retries_taken, answer.headers)
        await asyncio.sleep(delay_s)
        retries_taken += 1


def _failure(
    error: _AttemptTimeout | _ConnectionFailed, base_url: str, timeouts: Timeouts, max_retries: int
) -> LLMError:
    refusal = _connection_failure(error)
    if refusal is not None:
        return ServerUnreachableError(base_url, f"{type(refusal).__name__}: {refusal}")
    if isinstance(error, _AttemptTimeout):
        return GenerationTimeoutError(base_url, timeouts.read_s, max_retries + 1)
    return ServerUnreachableError(base_url, str(error))


def _connection_failure(error: BaseException) -> BaseException | None:
    """The OS-level connection failure behind a transport error, if any (refused, reset, DNS). It is looked for
    before the timeout case, so a timeout whose cause chain holds one says "is the server running?" rather
    than "raise the timeout"."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and not isinstance(seen, TimeoutError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """The server's requested wait in seconds (`retry-after-ms`, then `retry-after`), or None."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            delay = float(value)
        except ValueError:
            continue
        if delay == math.inf and value.strip().lower() not in ("inf", "+inf", "infinity", "+infinity"):
            return MAX_RETRY_AFTER_S + 1  # an overflowing number is a long wait, not a malformed one
        return delay / divisor
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        date = email.utils.parsedate_tz(value)
        return None if date is None else float(email.utils.mktime_tz(date) - time.time())
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def should_retry(answer: Answer) -> bool:
    """Whether an error answer is worth another attempt (see the module docstring)."""
    after = retry_after_s(answer.headers)
    if after is not None and math.isfinite(after) and after > MAX_RETRY_AFTER_S:
        return False
    verdict = answer.headers.get("x-should-retry")
    if verdict in ("true", "false"):
        return verdict == "true"
    return answer.status in _RETRIED_STATUSES or answer.status >= 500


def retry_delay_s(retries_taken: int, headers: Mapping[str, str] | None) -> float:
    """How long to wait before retry number `retries_taken` (0-based)."""
    after = retry_after_s(headers)
    if after is not None and math.isfinite(after) and 0 < after <= MAX_RETRY_AFTER_S:
        return after
    backoff = min(INITIAL_RETRY_DELAY_S * 2.0 ** min(retries_taken, 1000), MAX_RETRY_DELAY_S)
    return backoff * (1 - 0.25 * random.random())
