"""`MultiEndpointBackend`: one `LLMBackend` over several OpenAI-compatible servers serving the same model (one
`vllm serve` per GPU node), for bulk runs local or on Ray.

Each request goes to the healthy endpoint with the fewest requests outstanding (least-outstanding-requests:
with unequal servers or unequal prompts, the faster server drains its queue and gets more). An endpoint whose
request fails with a connection error, a timeout or a 5xx is taken out of rotation for `cooldown_s` and the
request is sent to another one; a request fails only when every endpoint has failed it. Errors that another
server would repeat (a prompt over the context length, a 4xx) are raised at once. When every endpoint is
cooling down, the one whose cooldown ends first is tried rather than failing fast, since a cooldown is a guess.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from autoformal.llm.base import BackgroundLoop, gather_or_cancel, refuse_inside_event_loop
from autoformal.llm.config import OpenAIBackendConfig
from autoformal.llm.errors import (
    ContextLengthExceededError,
    GenerationTimeoutError,
    LLMError,
    LLMRequestError,
    ServerUnreachableError,
)
from autoformal.llm.models import GenerationRequest, GenerationResult
from autoformal.llm.openai_backend import OpenAICompatibleBackend


def split_base_urls(value: str) -> list[str]:
    """`http://a:8000/v1, http://b:8000/v1` → both URLs (blank entries dropped, trailing `/` removed)."""
    return [url.strip().rstrip("/") for url in value.split(",") if url.strip()]


@dataclass
class EndpointState:
    url: str
    backend: OpenAICompatibleBackend
    outstanding: int = 0
    down_until: float = 0.0
    failures: int = 0
    served: int = 0
    last_error: str | None = field(default=None)

    def healthy(self, now: float) -> bool:
        return now >= self.down_until


def _fails_over(error: LLMError) -> bool:
    """Whether another server might answer: transport failures and server-side errors, not the request's own."""
    if isinstance(error, ServerUnreachableError | GenerationTimeoutError):
        return True
    if isinstance(error, ContextLengthExceededError):
        return False
    if not isinstance(error, LLMRequestError) or error.status_code is None:
        return False  # no HTTP status: the answer was unusable, not the server unavailable
    return error.status_code >= 500 or error.status_code in (408, 429)


class MultiEndpointBackend:
    """`LLMBackend` spreading requests over `urls` (see the module docstring)."""

    def __init__(self, config: OpenAIBackendConfig, urls: Sequence[str]) -> None:
        if len(urls) < 1:
            raise ValueError("MultiEndpointBackend needs at least one endpoint")
        self.config = config
        self.cooldown_s = config.endpoint_cooldown_s
        # The backend's own retries would keep a request on a dead server for its whole backoff; one retry there,
        # then the next server.
        per_endpoint = config.model_copy(update={"max_retries": min(config.max_retries, 1)})
        self.endpoints = [
            EndpointState(url=url, backend=OpenAICompatibleBackend(per_endpoint.model_copy(update={"base_url": url})))
            for url in urls
        ]
        self._lock = threading.Lock()  # outstanding counts are shared by every event loop that calls us
        self._portal: BackgroundLoop | None = None

    @property
    def base_url(self) -> str:
        return ",".join(e.url for e in self.endpoints)

    @property
    def model_name(self) -> str:
        errors: list[str] = []
        for endpoint in self._by_preference():
            try:
                return endpoint.backend.model_name
            except (ServerUnreachableError, LLMRequestError) as exc:
                self._mark_down(endpoint, exc)
                errors.append(f"{endpoint.url}: {exc}")
        raise ServerUnreachableError(self.base_url, "; ".join(errors))

    def warm_up(self) -> None:
        """Warm up every endpoint that answers; raise only when none does."""
        errors = []
        for endpoint in self.endpoints:
            try:
                endpoint.backend.warm_up()
            except (ServerUnreachableError, LLMRequestError) as exc:
                self._mark_down(endpoint, exc)
                errors.append(f"{endpoint.url}: {exc}")
        if len(errors) == len(self.endpoints):
            raise ServerUnreachableError(self.base_url, "; ".join(errors))

    def status(self) -> list[dict[str, object]]:
        """Per endpoint: outstanding and served requests, failures, whether it is in rotation (for summaries)."""
        now = time.monotonic()
        with self._lock:
            return [
                {
                    "url": e.url,
                    "outstanding": e.outstanding,
                    "served": e.served,
                    "failures": e.failures,
                    "in_rotation": e.healthy(now),
                    "last_error": e.last_error,
                }
                for e in self.endpoints
            ]

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return await gather_or_cancel(self._generate_one(request) for request in requests)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        refuse_inside_event_loop()
        with self._lock:
            if self._portal is None:
                self._portal = BackgroundLoop(name="autoformal-endpoints")
            portal = self._portal
        return portal.run(self.agenerate(requests))

    async def _generate_one(self, request: GenerationRequest) -> GenerationResult:
        tried: set[str] = set()
        last: LLMError | None = None
        while len(tried) < len(self.endpoints):
            endpoint = self._acquire(exclude=tried)
            tried.add(endpoint.url)
            try:
                (result,) = await endpoint.backend.agenerate([request])
            except LLMError as exc:
                if not _fails_over(exc):
                    raise
                self._mark_down(endpoint, exc)
                last = exc
                continue
            finally:
                with self._lock:
                    endpoint.outstanding -= 1
            with self._lock:
                endpoint.served += 1
            return result
        assert last is not None
        raise last

    def _by_preference(self) -> list[EndpointState]:
        now = time.monotonic()
        with self._lock:
            return sorted(self.endpoints, key=lambda e: (not e.healthy(now), e.down_until, e.outstanding))

    def _acquire(self, *, exclude: set[str]) -> EndpointState:
        """The endpoint to send to next (healthy first, then fewest outstanding), its count raised."""
        now = time.monotonic()
        with self._lock:
            candidates = [e for e in self.endpoints if e.url not in exclude]
            chosen = min(candidates, key=lambda e: (not e.healthy(now), e.down_until if not e.healthy(now) else 0,
                                                    e.outstanding))  # fmt: skip
            chosen.outstanding += 1
            return chosen

    def _mark_down(self, endpoint: EndpointState, error: Exception) -> None:
        with self._lock:
            endpoint.failures += 1
            endpoint.down_until = time.monotonic() + self.cooldown_s
            endpoint.last_error = f"{type(error).__name__}: {error}"[:300]

    async def aclose(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.backend.aclose()

    def close(self) -> None:
        with self._lock:
            portal, self._portal = self._portal, None
        if portal is not None:
            portal.run(self.aclose())
            portal.stop()
        for endpoint in self.endpoints:
            endpoint.backend.close()

    def __enter__(self) -> MultiEndpointBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
