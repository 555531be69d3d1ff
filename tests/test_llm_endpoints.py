"""Several OpenAI-compatible servers behind one backend: least-outstanding routing and failover, against real
loopback HTTP servers."""

from __future__ import annotations

import asyncio

import pytest

from autoformal.llm.config import OpenAIBackendConfig
from autoformal.llm.endpoints import MultiEndpointBackend, _fails_over, split_base_urls
from autoformal.llm.errors import ContextLengthExceededError, LLMRequestError, ServerUnreachableError
from autoformal.llm.factory import build_backend
from autoformal.llm.models import ChatMessage, GenerationRequest
from autoformal.testing.openai_server import OpenAIStubServer, ScriptedResponse


def _request(text: str = "hello") -> GenerationRequest:
    return GenerationRequest(messages=[ChatMessage(role="user", content=text)], n=1, max_tokens=16)


def _config(*servers: OpenAIStubServer, **updates: object) -> OpenAIBackendConfig:
    url = ",".join(s.base_url for s in servers)
    return OpenAIBackendConfig(base_url=url, model=servers[0].model, timeout_s=5, connect_timeout_s=1, **updates)


def test_split_base_urls() -> None:
    assert split_base_urls(" http://a/v1/ , ,http://b/v1") == ["http://a/v1", "http://b/v1"]


def test_factory_builds_one_backend_per_list() -> None:
    with OpenAIStubServer() as a, OpenAIStubServer() as b:
        backend = build_backend(_config(a, b))
        assert isinstance(backend, MultiEndpointBackend) and len(backend.endpoints) == 2
        backend.close()


async def test_requests_spread_over_endpoints_least_outstanding_first() -> None:
    with OpenAIStubServer(latency_s=0.2) as slow, OpenAIStubServer(latency_s=0.02) as fast:
        backend = MultiEndpointBackend(_config(slow, fast), split_base_urls(f"{slow.base_url},{fast.base_url}"))
        try:
            # 40 requests, at most 4 in flight: the fast server finishes and frees its slots sooner, so it gets more
            semaphore = asyncio.Semaphore(4)

            async def one(i: int) -> None:
                async with semaphore:
                    await backend.agenerate([_request(f"q{i}")])

            await asyncio.gather(*(one(i) for i in range(40)))
        finally:
            await backend.aclose()
        assert len(slow.chat_requests) + len(fast.chat_requests) == 40
        assert len(fast.chat_requests) > 2 * len(slow.chat_requests) > 0
        assert all(status["outstanding"] == 0 for status in backend.status())


async def test_a_server_that_goes_down_is_skipped_and_its_requests_go_elsewhere() -> None:
    with OpenAIStubServer() as a, OpenAIStubServer() as b:
        backend = MultiEndpointBackend(_config(a, b), split_base_urls(f"{a.base_url},{b.base_url}"))
        try:
            await backend.agenerate([_request() for _ in range(6)])
            assert a.chat_requests and b.chat_requests
            a_url = a.base_url.rstrip("/")
            a.stop()  # mid-run: every later request must still be answered
            before = len(b.chat_requests)
            results = await backend.agenerate([_request(f"after {i}") for i in range(10)])
            assert len(results) == 10 and len(b.chat_requests) == before + 10
            status = {s["url"]: s for s in backend.status()}
            assert status[a_url]["in_rotation"] is False and status[a_url]["failures"] >= 1
        finally:
            await backend.aclose()


async def test_server_errors_fail_over_but_request_errors_do_not() -> None:
    with OpenAIStubServer() as a, OpenAIStubServer() as b:
        backend = MultiEndpointBackend(_config(a, b, max_retries=0), [a.base_url, b.base_url])
        try:
            a.script(503)  # both idle: the first endpoint gets the request, fails it, and b answers
            (result,) = await backend.agenerate([_request()])
            assert result.completions and len(a.chat_requests) == 1 and len(b.chat_requests) == 1
            # a is cooling down now, so b gets the next request; a context-length 400 would fail anywhere
            b.script(ScriptedResponse(status=400, message="This model's maximum context length is 16 tokens"))
            with pytest.raises(ContextLengthExceededError):
                await backend.agenerate([_request()])
            assert len(a.chat_requests) == 1 and len(b.chat_requests) == 2  # not retried elsewhere
        finally:
            await backend.aclose()


@pytest.mark.parametrize(("status", "fails_over"), [(503, True), (429, True), (408, True), (400, False), (None, False)])
def test_which_request_errors_fail_over(status: int | None, fails_over: bool) -> None:
    # No HTTP status (an answer that could not be used, a grammar that does not compile): another server would
    # be asked the same thing, so it does not fail over.
    assert _fails_over(LLMRequestError(status, "x")) is fails_over


async def test_every_server_down_is_one_clear_error() -> None:
    with OpenAIStubServer() as a, OpenAIStubServer() as b:
        config = _config(a, b, max_retries=0)
        urls = [a.base_url, b.base_url]
    backend = MultiEndpointBackend(config, urls)  # both servers are stopped now
    try:
        with pytest.raises(ServerUnreachableError):
            await backend.agenerate([_request()])
        assert all(s["failures"] == 1 for s in backend.status())
    finally:
        await backend.aclose()
