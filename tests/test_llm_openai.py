"""OpenAICompatibleBackend against the loopback OpenAIStubServer: real HTTP, no network."""

from __future__ import annotations

import asyncio
import math

import pytest

from autoformal.llm import (
    ChatMessage,
    ContextLengthExceededError,
    EndpointNotConfiguredError,
    GenerationRequest,
    GenerationTimeoutError,
    LLMBackend,
    LLMRequestError,
    ModelNotFoundError,
    OpenAIBackendConfig,
    OpenAICompatibleBackend,
    ServerUnreachableError,
)
from autoformal.llm.factory import build_backend
from autoformal.llm.openai_backend import _parse_completion
from autoformal.testing.openai_server import OpenAIStubServer, ScriptedResponse

GRAMMAR = 'start: "theorem " NAME " : " /[^\\n]+/ " := by sorry"\nNAME: /[A-Za-z_][A-Za-z0-9_.]*/\n'


def _request(content: str = "Show that 1 + 1 = 2.", **overrides: object) -> GenerationRequest:
    return GenerationRequest(messages=[ChatMessage(role="user", content=content)], **overrides)


@pytest.fixture
def server():
    with OpenAIStubServer(models=["mistralai/Leanstral-2603", "other-model"]) as stub:
        yield stub


@pytest.fixture(params=["aiohttp", "httpx"])
def http_client(request: pytest.FixtureRequest) -> str:
    """Both HTTP transports must give the same behaviour and the same errors."""
    return str(request.param)


def _backend(server: OpenAIStubServer, **overrides: object) -> OpenAICompatibleBackend:
    config = OpenAIBackendConfig(base_url=server.base_url, model=server.model, **overrides)
    return OpenAICompatibleBackend(config)


def test_n_completions_in_one_request_with_all_sampling_fields_sent(server: OpenAIStubServer, http_client: str) -> None:
    backend = _backend(server, http_client=http_client)
    assert isinstance(backend, LLMBackend)
    request = _request(
        n=4,
        temperature=0.7,
        top_p=0.95,
        max_tokens=256,
        stop=["\n\n"],
        seed=17,
        grammar=GRAMMAR,
        reasoning_effort="high",
    )
    [result] = backend.generate([request])
    backend.close()

    assert len(server.chat_requests) == 1, "n samples must travel in one HTTP request"
    sent = server.chat_requests[0]
    assert sent["n"] == 4
    assert sent["model"] == "mistralai/Leanstral-2603"
    assert sent["temperature"] == 0.7 and sent["top_p"] == 0.95 and sent["max_tokens"] == 256
    assert sent["stop"] == ["\n\n"] and sent["seed"] == 17
    assert sent["reasoning_effort"] == "high"
    assert sent["structured_outputs"] == {"grammar": GRAMMAR}
    assert "guided_grammar" not in sent
    assert sent["messages"] == [{"role": "user", "content": "Show that 1 + 1 = 2."}]
    assert server.requests[-1].grammar == GRAMMAR

    assert result.model == "mistralai/Leanstral-2603"
    assert [c.text for c in result.completions] == [text for text in server.responder(sent)], (
        "texts come back in choice order, unchanged"
    )
    for completion in result.completions:
        assert completion.finish_reason == "stop"
        assert completion.reasoning is None
        assert completion.prompt_tokens is not None and completion.prompt_tokens > 0
        assert completion.completion_tokens is not None and completion.completion_tokens > 0
        assert completion.logprob is not None and math.isfinite(completion.logprob) and completion.logprob < 0


def test_legacy_guided_grammar_field(server: OpenAIStubServer) -> None:
    backend = _backend(server, grammar_field="guided_grammar")
    backend.generate([_request(grammar=GRAMMAR)])
    backend.close()
    sent = server.chat_requests[0]
    assert sent["guided_grammar"] == GRAMMAR
    assert "structured_outputs" not in sent


def test_extra_body_fields_are_sent_at_the_top_level(server: OpenAIStubServer) -> None:
    backend = _backend(server, extra_body={"top_k": 20, "temperature": 0.1})
    backend.generate([_request(temperature=0.9)])
    backend.close()
    sent = server.chat_requests[0]
    assert sent["top_k"] == 20
    assert sent["temperature"] == 0.1, "server-specific options override ours, as the openai SDK's extra_body does"
    assert "extra_body" not in sent


def test_a_body_that_is_not_a_chat_completion_is_a_request_error() -> None:
    with pytest.raises(LLMRequestError, match="not a chat completion"):
        _parse_completion({"object": "list", "data": []}, 1, "stub-model")
    result = _parse_completion({"choices": [{"index": 0, "message": {"content": "x"}}]}, 1, "stub-model")
    assert result.model == "stub-model" and result.completions[0].text == "x"
    assert result.completions[0].finish_reason == "other" and result.completions[0].prompt_tokens is None
    # Odd bodies from a server we do not control are request errors, never stray Python exceptions.
    odd_bodies = [
        {"choices": ["x"]},
        {"choices": [{"message": {"content": "x"}, "logprobs": {"content": [{"logprob": None}]}}]},
        {"choices": [{"message": {"content": 3}}]},
        {"choices": [{"message": "x"}]},
        {"choices": [{"index": "a"}, {"index": 1}]},
        {"choices": [], "usage": "none"},
    ]
    for body in odd_bodies:
        with pytest.raises(LLMRequestError, match="malformed chat completion"):
            _parse_completion(body, 1, "stub-model")


def test_optional_fields_are_omitted_when_unset(server: OpenAIStubServer) -> None:
    backend = _backend(server, request_logprobs=False)
    [result] = backend.generate([_request(max_tokens=None)])
    backend.close()
    sent = server.chat_requests[0]
    for absent in (
        "seed",
        "stop",
        "reasoning_effort",
        "structured_outputs",
        "guided_grammar",
        "max_tokens",
        "logprobs",
    ):
        assert absent not in sent, absent
    [completion] = result.completions
    assert completion.logprob is None
    assert completion.completion_tokens is not None  # n == 1: taken from usage


def test_reasoning_content_field_is_separated(server: OpenAIStubServer) -> None:
    server.reasoning_parser = True
    server.responder = lambda request: ["<think>try n = 0 first</think>theorem t : 1 + 1 = 2 := by sorry"]
    backend = _backend(server)
    [result] = backend.generate([_request()])
    backend.close()
    [completion] = result.completions
    assert completion.text == "theorem t : 1 + 1 = 2 := by sorry"
    assert completion.reasoning == "try n = 0 first"


def test_inline_think_block_is_separated_when_server_has_no_reasoning_parser(
    server: OpenAIStubServer,
) -> None:
    server.responder = lambda request: ["[THINK]mistral style[/THINK]\ntheorem t : True := by sorry"]
    backend = _backend(server)
    [completion] = backend.generate([_request()])[0].completions
    backend.close()
    assert completion.text == "theorem t : True := by sorry"
    assert completion.reasoning == "mistral style"


def test_stop_and_max_tokens_truncation_reported(server: OpenAIStubServer) -> None:
    server.responder = lambda request: ["theorem a : True := by sorry\n\nextra words here"] * request["n"]
    backend = _backend(server)
    stopped, cut = backend.generate([_request(stop=["\n\n"]), _request(max_tokens=3)])
    backend.close()
    assert stopped.completions[0].text == "theorem a : True := by sorry"
    assert stopped.completions[0].finish_reason == "stop"
    assert cut.completions[0].finish_reason == "length"
    assert cut.completions[0].completion_tokens == 3


def test_retries_429_then_succeeds(server: OpenAIStubServer, http_client: str) -> None:
    server.script(429, 503)
    backend = _backend(server, max_retries=3, http_client=http_client)
    [result] = backend.generate([_request()])
    backend.close()
    assert len(server.chat_requests) == 3, "two scripted failures, then the successful attempt"
    assert len(result.completions) == 1


def test_gives_up_after_max_retries_with_server_message(server: OpenAIStubServer) -> None:
    from autoformal.llm import LLMRequestError

    server.script(429, 429)
    backend = _backend(server, max_retries=1)
    with pytest.raises(LLMRequestError, match="429"):
        backend.generate([_request()])
    backend.close()
    assert len(server.chat_requests) == 2


def test_slow_response_times_out(server: OpenAIStubServer, http_client: str) -> None:
    server.script(ScriptedResponse(delay_s=5.0))
    backend = _backend(server, timeout_s=0.3, max_retries=0, http_client=http_client)
    with pytest.raises(GenerationTimeoutError, match="timeout_s"):
        backend.generate([_request()])
    backend.close()


def test_unknown_model_lists_served_models(server: OpenAIStubServer, http_client: str) -> None:
    config = OpenAIBackendConfig(base_url=server.base_url, model="gpt-nonexistent", http_client=http_client)
    backend = OpenAICompatibleBackend(config)
    with pytest.raises(ModelNotFoundError) as raised:
        backend.generate([_request()])
    backend.close()
    message = str(raised.value)
    assert "gpt-nonexistent" in message
    assert "`mistralai/Leanstral-2603`" in message and "`other-model`" in message
    assert raised.value.served == ["mistralai/Leanstral-2603", "other-model"]


def test_model_defaults_to_the_only_served_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOFORMAL_MODEL", raising=False)
    with OpenAIStubServer(models=["only-model"]) as stub:
        backend = OpenAICompatibleBackend(OpenAIBackendConfig(base_url=stub.base_url))
        assert backend.model_name == "only-model"
        backend.generate([_request()])
        backend.close()
        assert stub.chat_requests[0]["model"] == "only-model"


def test_ambiguous_default_model_is_an_error(server: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOFORMAL_MODEL", raising=False)
    backend = OpenAICompatibleBackend(OpenAIBackendConfig(base_url=server.base_url))
    with pytest.raises(ModelNotFoundError, match="no model configured") as raised:
        _ = backend.model_name
    assert "`other-model`" in str(raised.value)


def test_context_too_long_error(server: OpenAIStubServer) -> None:
    server.max_context_tokens = 50
    backend = _backend(server)
    with pytest.raises(ContextLengthExceededError, match="max-model-len"):
        backend.generate([_request("word " * 100, max_tokens=10)])
    backend.close()


def test_no_endpoint_configured_explains_vllm_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOFORMAL_BASE_URL", raising=False)
    with pytest.raises(EndpointNotConfiguredError) as raised:
        build_backend(OpenAIBackendConfig())
    message = str(raised.value)
    assert "vllm serve mistralai/Leanstral-2603" in message
    assert "AUTOFORMAL_BASE_URL" in message and "AUTOFORMAL_MODEL" in message


def test_environment_configures_endpoint_model_and_key(
    server: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOFORMAL_BASE_URL", server.base_url)
    monkeypatch.setenv("AUTOFORMAL_MODEL", "other-model")
    monkeypatch.setenv("AUTOFORMAL_API_KEY", "sk-test-123")
    backend = build_backend()
    backend.generate([_request()])
    backend.close()
    assert server.chat_requests[0]["model"] == "other-model"
    assert server.requests[-1].headers["authorization"] == "Bearer sk-test-123"


def test_unreachable_server(http_client: str) -> None:
    with OpenAIStubServer() as stub:
        base_url = stub.base_url  # the port is free again once the server stops
    config = OpenAIBackendConfig(
        base_url=base_url, model="stub-model", max_retries=0, connect_timeout_s=1, http_client=http_client
    )
    backend = OpenAICompatibleBackend(config)
    with pytest.raises(ServerUnreachableError, match="vllm serve"):
        backend.generate([_request()])
    backend.close()


async def test_async_batch_keeps_order_and_respects_concurrency_limit() -> None:
    with OpenAIStubServer(latency_s=0.05) as stub:
        stub.responder = lambda request: [request["messages"][0]["content"]]
        backend = OpenAICompatibleBackend(
            OpenAIBackendConfig(base_url=stub.base_url, model=stub.model, max_concurrency=4)
        )
        requests = [_request(f"question {index}") for index in range(12)]
        results = await backend.agenerate(requests)
        await backend.aclose()
        assert [r.completions[0].text for r in results] == [f"question {index}" for index in range(12)]
        # With 4 in flight and 50 ms each, 12 requests need at least 3 latency rounds.
        times = sorted(r.received_at for r in stub.requests if r.path.endswith("/chat/completions"))
        assert times[-1] - times[0] >= 0.09


def test_sync_generate_can_be_called_repeatedly_and_from_asyncio_run(server: OpenAIStubServer) -> None:
    backend = _backend(server)
    backend.generate([_request()])
    backend.generate([_request()])
    asyncio.run(backend.agenerate([_request()]))
    asyncio.run(backend.agenerate([_request()]))
    backend.close()
    assert len(server.chat_requests) == 4


async def test_sync_generate_inside_event_loop_is_refused(server: OpenAIStubServer) -> None:
    backend = _backend(server)
    with pytest.raises(RuntimeError, match="agenerate"):
        backend.generate([_request()])


def test_warm_up_connects_without_generating(server: OpenAIStubServer, http_client: str) -> None:
    backend = _backend(server, http_client=http_client)
    backend.warm_up()
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1/models")]
    assert backend.generate([_request()])[0].completions
    backend.close()
    assert len(server.chat_requests) == 1


def test_warm_up_reports_an_unreachable_server() -> None:
    with OpenAIStubServer() as stub:
        base_url = stub.base_url
    backend = OpenAICompatibleBackend(
        OpenAIBackendConfig(base_url=base_url, model="stub-model", max_retries=0, connect_timeout_s=1)
    )
    with pytest.raises(ServerUnreachableError, match="vllm serve"):
        backend.warm_up()
    backend.close()
