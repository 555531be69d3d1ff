"""`OpenAICompatibleBackend`: chat completions over HTTP (aiohttp, or httpx), without the `openai` SDK.

Works with `vllm serve` (the primary target), Mistral's API and OpenAI. All `n` samples of a request go in one
HTTP request so vLLM prefills the prompt once; requests run concurrently up to `max_concurrency`; 408/409/429/5xx
answers and connection errors are retried with exponential backoff, honouring `Retry-After` (the policy of the
SDK this replaced: `autoformal.llm.http_transport`).
"""

from __future__ import annotations

import asyncio
import json
import operator
import threading
import weakref
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from autoformal.llm.base import BackgroundLoop, gather_or_cancel, refuse_inside_event_loop
from autoformal.llm.config import OpenAIBackendConfig
from autoformal.llm.errors import (
    ContextLengthExceededError,
    GenerationTimeoutError,
    LLMRequestError,
    ModelNotFoundError,
    ServerUnreachableError,
)
from autoformal.llm.http_transport import Timeouts, Transport, encode_json, open_transport, send_with_retries
from autoformal.llm.models import Completion, GenerationRequest, GenerationResult, normalize_finish_reason
from autoformal.llm.reasoning import split_reasoning

#: Sent as the bearer token when no key is configured: hosted APIs insist on one, local vLLM ignores it.
_NO_API_KEY = "EMPTY"
_CONTEXT_ERROR_MARKERS = ("maximum context length", "context length", "too many tokens", "prompt is too long")


@dataclass
class _LoopState:
    """Per-event-loop resources: connection pools and asyncio primitives cannot cross loops."""

    transport: Transport
    semaphore: asyncio.Semaphore
    #: Closes `transport` when finalised: by `aclose`, or by the loop itself when it shuts down its async
    #: generators (`asyncio.run` does, also when Ctrl-C interrupts it), so a loop that ends without our
    #: `aclose` still closes its connections instead of leaving aiohttp to warn about an unclosed session.
    closer: AsyncGenerator[None, None]


async def _close_at_end(transport: Transport) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await transport.aclose()


class OpenAICompatibleBackend:
    """`LLMBackend` for any OpenAI-compatible `/v1/chat/completions` server."""

    def __init__(self, config: OpenAIBackendConfig | None = None) -> None:
        self.config = config or OpenAIBackendConfig()
        self.base_url = self.config.require_base_url()
        self._api_key = self.config.api_key.get_secret_value() if self.config.api_key is not None else None
        self._model = self.config.model
        self._attempt_timeouts = Timeouts(read_s=self.config.timeout_s, connect_s=self.config.connect_timeout_s)
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = weakref.WeakKeyDictionary()
        self._portal: BackgroundLoop | None = None
        self._lock = threading.Lock()

    # -- model -------------------------------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        """The configured model, or the server's only served model when none is configured."""
        if self._model is None:
            served = self.list_served_models()
            if len(served) != 1:
                raise ModelNotFoundError(None, served, self.base_url)
            self._model = served[0]
        return self._model

    def list_served_models(self) -> list[str]:
        """Model ids from the server's `/v1/models`."""
        import httpx

        headers = {"Authorization": f"Bearer {self._api_key or _NO_API_KEY}"}
        try:
            response = httpx.get(
                f"{self.base_url}/models",
                headers=headers,
                timeout=httpx.Timeout(self.config.probe_timeout_s, connect=self.config.connect_timeout_s),
            )
        except httpx.TimeoutException as error:
            raise GenerationTimeoutError(self.base_url, self.config.probe_timeout_s, 1) from error
        except httpx.TransportError as error:
            raise ServerUnreachableError(self.base_url, f"{type(error).__name__}: {error}") from error
        if response.status_code != 200:
            raise LLMRequestError(response.status_code, f"GET /models returned {response.text[:500]}")
        try:
            return [str(entry["id"]) for entry in response.json().get("data", [])]
        except (ValueError, AttributeError, KeyError, TypeError) as error:
            raise LLMRequestError(200, f"GET /models did not answer a model list: {_excerpt(response.text)}") from error

    # -- generation --------------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Import the HTTP client and connect to the server now (one `GET /models`), rather than inside the
        first batch, whose first requests would otherwise wait for both while every server slot idles. Raises
        `ServerUnreachableError` when the server is down."""
        self._portal_loop().run(self._awarm_up())

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        state = await self._state()
        # Resolving an unset model is a blocking GET /models; keep it off the event loop.
        model: str = (
            self._model if self._model is not None else await asyncio.to_thread(operator.attrgetter("model_name"), self)
        )
        return await gather_or_cancel(self._generate_one(state, model, request) for request in requests)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        refuse_inside_event_loop()
        return self._portal_loop().run(self.agenerate(requests))

    async def aclose(self) -> None:
        state = self._states.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.closer.aclose()

    def close(self) -> None:
        with self._lock:
            portal, self._portal = self._portal, None
        if portal is not None:
            portal.run(self.aclose())
            portal.stop()

    def __enter__(self) -> OpenAICompatibleBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> OpenAICompatibleBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- internals ---------------------------------------------------------------------------------------

    def _portal_loop(self) -> BackgroundLoop:
        with self._lock:
            if self._portal is None:
                self._portal = BackgroundLoop(name="autoformal-openai-backend")
            return self._portal

    async def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            transport = open_transport(self.config.http_client, self._api_key or _NO_API_KEY, self.base_url)
            closer = _close_at_end(transport)
            await anext(closer)  # first iteration: the loop now tracks the generator
            state = _LoopState(transport, asyncio.Semaphore(self.config.max_concurrency), closer)
            self._states[loop] = state
        return state

    def request_body(self, model: str, request: GenerationRequest) -> dict[str, Any]:
        """The JSON body POSTed to `/chat/completions` (public so callers can inspect what is sent)."""
        body: dict[str, Any] = {
            "model": model,
            "messages": [message.model_dump() for message in request.messages],
            "n": request.n,
            "temperature": request.temperature,
            "top_p": request.top_p,
        }
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if request.reasoning_effort is not None:
            body["reasoning_effort"] = request.reasoning_effort
        if self.config.request_logprobs:
            body["logprobs"] = True
        # Server-specific fields go at the top level, overriding ours (as the SDK's `extra_body` does).
        body.update(self.config.extra_body)
        if request.grammar is not None:
            if self.config.grammar_field == "structured_outputs":
                body["structured_outputs"] = {"grammar": request.grammar}
            else:
                body["guided_grammar"] = request.grammar
        return body

    async def _awarm_up(self) -> None:
        # No retries: warming up is a probe, and a refused connection should say so at once, not after the
        # backoff (seconds) holds up a batch that the cache may answer without any server.
        probe_s = self.config.probe_timeout_s
        answer = await self._exchange(
            await self._state(),
            self._model or "",
            "GET",
            "/models",
            None,
            timeouts=Timeouts(read_s=probe_s, connect_s=probe_s),
            max_retries=0,
            deadline_s=probe_s,
        )
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list):
            raise LLMRequestError(200, f"GET /models did not answer a model list: {_excerpt(str(answer))}")

    async def _generate_one(self, state: _LoopState, model: str, request: GenerationRequest) -> GenerationResult:
        body = encode_json(self.request_body(model, request))
        async with state.semaphore:
            response = await self._exchange(
                state,
                model,
                "POST",
                "/chat/completions",
                body,
                timeouts=self._attempt_timeouts,
                max_retries=self.config.max_retries,
                deadline_s=self.config.deadline_s,
            )
        return _parse_completion(response, request.n, model)

    async def _exchange(
        self,
        state: _LoopState,
        model: str,
        method: Literal["GET", "POST"],
        path: str,
        body: bytes | None,
        *,
        timeouts: Timeouts,
        max_retries: int,
        deadline_s: float,
    ) -> object:
        """The decoded answer to one request, retries included, within `deadline_s`, with failures translated
        into our errors. A 200 answer that is not JSON (a proxy's HTML error page) is an `LLMRequestError`, not
        a decoding traceback."""
        attempts = send_with_retries(
            state.transport, method, f"{self.base_url}{path}", body, timeouts, max_retries, base_url=self.base_url
        )
        try:
            answer = await asyncio.wait_for(attempts, deadline_s)
        except asyncio.TimeoutError as error:
            raise GenerationTimeoutError(self.base_url, deadline_s, None) from error
        if not 200 <= answer.status < 300:
            raise await self._translate_status_error(model, answer.status, answer.error_message())
        try:
            return answer.payload()
        except json.JSONDecodeError as error:
            from autoformal.corpus.jsonl import describe_json_error

            detail = f"{describe_json_error(error)}: {_excerpt(error.doc)}"
            raise LLMRequestError(200, f"the answer is not JSON ({detail})") from error

    async def _translate_status_error(self, model: str, status: int, message: str) -> Exception:
        lowered = message.lower()
        if (
            status in (400, 404)
            and "model" in lowered
            and ("does not exist" in lowered or "not found" in lowered or "unknown" in lowered)
        ):
            try:
                served = await asyncio.to_thread(self.list_served_models)
            except (ServerUnreachableError, LLMRequestError):
                served = []
            if model not in served:
                return ModelNotFoundError(model, served, self.base_url)
        if status in (400, 413) and any(marker in lowered for marker in _CONTEXT_ERROR_MARKERS):
            return ContextLengthExceededError(message)
        return LLMRequestError(status, message)


def _excerpt(text: str) -> str:
    """The start of a server's answer, on one line, for an error message."""
    flat = " ".join(text.split())
    return flat[:200] + ("…" if len(flat) > 200 else "") if flat else "(empty body)"


def _parse_completion(response: object, n: int, model: str) -> GenerationResult:
    """A `GenerationResult` from the JSON of a chat completion (choices in index order). A body that is
    not shaped like one is an `LLMRequestError`, whatever the oddity (the server is not ours to trust)."""
    if not isinstance(response, dict) or not isinstance(response.get("choices"), list):
        raise LLMRequestError(200, f"not a chat completion: {_excerpt(str(response))}")
    try:
        return _completion_from(response, n, model)
    except (AttributeError, KeyError, TypeError, ValueError) as error:  # ValueError covers pydantic's
        detail = f"{type(error).__name__}: {error}"
        raise LLMRequestError(200, f"malformed chat completion ({detail}): {str(response)[:500]}") from error


def _completion_from(response: dict[str, Any], n: int, model: str) -> GenerationResult:
    usage = response.get("usage") or {}
    prompt_tokens = usage.get("prompt_tokens")
    total_completion_tokens = usage.get("completion_tokens")
    completions = []
    for choice in sorted(response["choices"], key=lambda choice: choice.get("index", 0)):
        message = choice.get("message") or {}
        # vLLM < 0.11 sends `reasoning_content`; newer vLLM sends `reasoning`.
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        text = message.get("content") or ""
        if not reasoning:
            text, reasoning = split_reasoning(text)
        token_logprobs = (choice.get("logprobs") or {}).get("content")
        if token_logprobs:
            logprob: float | None = float(sum(token["logprob"] for token in token_logprobs))
            completion_tokens: int | None = len(token_logprobs)
        else:
            logprob = None
            completion_tokens = total_completion_tokens if n == 1 else None
        completions.append(
            Completion(
                text=text,
                reasoning=reasoning or None,
                finish_reason=normalize_finish_reason(choice.get("finish_reason")),
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                logprob=logprob,
            )
        )
    return GenerationResult(completions=completions, model=response.get("model") or model)
