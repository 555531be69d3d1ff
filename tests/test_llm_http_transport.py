"""The HTTP layer under `OpenAICompatibleBackend` (autoformal.llm.http_transport): the retry policy it took over
from the openai SDK, per-attempt timeouts and the overall deadline, and how transport failures become our
errors, over both transports against real loopback servers."""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from cli_support import bad_server

from autoformal.llm import (
    ChatMessage,
    GenerationRequest,
    GenerationTimeoutError,
    LLMRequestError,
    OpenAIBackendConfig,
    OpenAICompatibleBackend,
    ServerUnreachableError,
)
from autoformal.llm.http_transport import (
    MAX_RETRY_AFTER_S,
    MAX_RETRY_DELAY_S,
    Answer,
    encode_json,
    retry_delay_s,
    should_retry,
)
from autoformal.testing.openai_server import OpenAIStubServer, ScriptedResponse


@pytest.fixture(params=["aiohttp", "httpx"])
def http_client(request: pytest.FixtureRequest) -> str:
    """Both transports must give the same behaviour and the same errors."""
    return str(request.param)


@pytest.fixture
def server() -> Iterator[OpenAIStubServer]:
    with OpenAIStubServer() as stub:
        yield stub


def _request() -> GenerationRequest:
    return GenerationRequest(messages=[ChatMessage(role="user", content="Show that 1 + 1 = 2.")])


def _backend(base_url: str, http_client: str = "httpx", **overrides: object) -> OpenAICompatibleBackend:
    config = OpenAIBackendConfig(base_url=base_url, model="stub-model", http_client=http_client, **overrides)
    return OpenAICompatibleBackend(config)


def _chat_times(server: OpenAIStubServer) -> list[float]:
    return [r.received_at for r in server.requests if r.path.endswith("/chat/completions")]


# -------------------------------------------------------------------------------- the policy, as functions


def _answer(status: int, **headers: str) -> Answer:
    return Answer(status, {name.replace("_", "-"): value for name, value in headers.items()}, b"")


def test_retried_statuses_are_the_sdks() -> None:
    assert [status for status in (400, 401, 403, 404, 408, 409, 413, 422, 429) if should_retry(_answer(status))] == [
        408,
        409,
        429,
    ]
    assert all(should_retry(_answer(status)) for status in (500, 502, 503, 504))


def test_the_server_can_say_whether_to_retry() -> None:
    assert not should_retry(_answer(503, x_should_retry="false"))
    assert should_retry(_answer(400, x_should_retry="true"))
    # A requested wait above the cap means "not now": no retry, whatever the status.
    assert not should_retry(_answer(429, retry_after=str(MAX_RETRY_AFTER_S + 1)))
    assert not should_retry(_answer(429, retry_after="1e999"))


def test_backoff_doubles_from_half_a_second_up_to_eight_with_jitter() -> None:
    for retries_taken, full in ((0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, MAX_RETRY_DELAY_S)):
        delays = [retry_delay_s(retries_taken, None) for _ in range(200)]
        assert all(0.75 * full <= delay <= full for delay in delays), (retries_taken, min(delays), max(delays))
        assert max(delays) - min(delays) > 0.05 * full, "jitter spreads the retries of concurrent requests"


def test_server_requested_waits_are_honoured() -> None:
    assert retry_delay_s(0, {"retry-after": "3"}) == 3.0
    assert retry_delay_s(0, {"retry-after": "2.5"}) == 2.5
    assert retry_delay_s(3, {"retry-after-ms": "250", "retry-after": "9"}) == 0.25, "milliseconds win"
    in_ten_s = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8 <= retry_delay_s(0, {"retry-after": in_ten_s}) <= 10
    # Unusable values fall back to the backoff: zero, negative, unparsable, beyond the cap.
    for value in ("0", "-4", "soon", str(MAX_RETRY_AFTER_S + 5)):
        assert retry_delay_s(0, {"retry-after": value}) <= 0.5, value


def test_error_message_quotes_the_servers_message() -> None:
    assert Answer(400, {}, b'{"error": {"message": "bad n"}}').error_message() == "Error code: 400 - bad n"
    assert Answer(400, {}, b'{"message": "vllm style"}').error_message() == "Error code: 400 - vllm style"
    assert Answer(502, {}, b"<html>bad gateway</html>").error_message() == "Error code: 502"


def test_request_bodies_are_compact_utf8_json() -> None:
    assert (
        encode_json({"messages": [{"content": "∀ n : ℕ"}], "n": 2})
        == '{"messages":[{"content":"∀ n : ℕ"}],"n":2}'.encode()
    )


# -------------------------------------------------------------------------------- the policy, over HTTP


def test_retry_after_is_honoured(server: OpenAIStubServer, http_client: str) -> None:
    # One second is twice the longest first backoff: a retry sooner than that did not wait for the server.
    server.script(ScriptedResponse(status=503, headers={"retry-after": "1"}))
    backend = _backend(server.base_url, http_client, max_retries=1)
    [result] = backend.generate([_request()])
    backend.close()
    first, second = _chat_times(server)
    assert second - first >= 0.95 and result.completions


def test_retries_exactly_max_retries_times_then_reports_the_last_error(
    server: OpenAIStubServer, http_client: str
) -> None:
    server.script(500, 502, 503, 504)
    backend = _backend(server.base_url, http_client, max_retries=2)
    with pytest.raises(LLMRequestError, match="HTTP 503") as raised:
        backend.generate([_request()])
    backend.close()
    assert raised.value.status_code == 503
    assert len(server.chat_requests) == 3, "the first attempt and two retries"


def test_no_retry_on_a_client_error(server: OpenAIStubServer, http_client: str) -> None:
    server.script(ScriptedResponse(status=400, message="`n` must be positive"))
    backend = _backend(server.base_url, http_client, max_retries=3)
    with pytest.raises(LLMRequestError, match="`n` must be positive"):
        backend.generate([_request()])
    backend.close()
    assert len(server.chat_requests) == 1


def test_x_should_retry_false_stops_retries(server: OpenAIStubServer) -> None:
    server.script(ScriptedResponse(status=503, headers={"x-should-retry": "false"}))
    backend = _backend(server.base_url, max_retries=3)
    with pytest.raises(LLMRequestError, match="503"):
        backend.generate([_request()])
    backend.close()
    assert len(server.chat_requests) == 1


def test_the_bearer_token_is_empty_without_a_key(server: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOFORMAL_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend = _backend(server.base_url)
    backend.generate([_request()])
    backend.close()
    assert server.requests[-1].headers["authorization"] == "Bearer EMPTY"
    assert server.requests[-1].headers["content-type"] == "application/json"


# -------------------------------------------------------------------------------- timeouts and failures


def test_a_timed_out_attempt_is_retried(server: OpenAIStubServer, http_client: str) -> None:
    server.script(ScriptedResponse(delay_s=3.0))
    backend = _backend(server.base_url, http_client, timeout_s=0.3, max_retries=1)
    [result] = backend.generate([_request()])
    backend.close()
    assert result.completions and len(server.chat_requests) == 2


def test_the_deadline_bounds_all_attempts(server: OpenAIStubServer, http_client: str) -> None:
    server.script(*[ScriptedResponse(delay_s=5.0)] * 10)
    backend = _backend(server.base_url, http_client, timeout_s=0.4, max_retries=10, deadline_s=1.2)
    started = time.monotonic()
    with pytest.raises(GenerationTimeoutError, match=r"within 1\.2 s \(retries included\)"):
        backend.generate([_request()])
    elapsed = time.monotonic() - started
    backend.close()
    assert elapsed < 4, elapsed
    assert 2 <= len(server.chat_requests) < 10, "attempts were retried until the deadline, not beyond"


def test_attempt_timeouts_are_reported_with_the_attempts_made(server: OpenAIStubServer) -> None:
    server.script(*[ScriptedResponse(delay_s=5.0)] * 2)
    backend = _backend(server.base_url, timeout_s=0.3, max_retries=1)
    with pytest.raises(GenerationTimeoutError, match=r"within 0\.3 s \(2 attempt\(s\)\)"):
        backend.generate([_request()])
    backend.close()


def test_refused_connection_is_retried_then_unreachable(http_client: str) -> None:
    with bad_server("refuse") as url:
        backend = _backend(url, http_client, max_retries=1, connect_timeout_s=1)
        started = time.monotonic()
        with pytest.raises(ServerUnreachableError, match="vllm serve") as raised:
            backend.generate([_request()])
        elapsed = time.monotonic() - started
        backend.close()
    assert "Error" in str(raised.value), "names the OS error (refused)"
    assert elapsed >= 0.3, "one backoff (0.375-0.5 s) before the retry"


class _CountingServer:
    """A server that answers each connection with `answer`, or by closing it without a word (a crashed or
    restarting proxy), and counts the connections."""

    def __init__(self, answer: bytes = b"") -> None:
        self.connections = 0
        self._answer = answer
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with connection:
                connection.settimeout(2)
                connection.recv(65536)
                connection.sendall(self._answer)

    def __enter__(self) -> _CountingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


def test_a_dropped_connection_is_retried_then_unreachable_not_a_timeout(http_client: str) -> None:
    with _CountingServer() as server:
        backend = _backend(server.url, http_client, max_retries=2)
        with pytest.raises(ServerUnreachableError, match="vllm serve"):
            backend.generate([_request()])
        backend.close()
    assert server.connections == 3, "the first attempt and two retries"


def test_warm_up_probe_is_not_retried(http_client: str) -> None:
    body = b'{"error": {"message": "loading the model"}}'
    answer = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after-ms: 10\r\n"
    answer += b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
    with _CountingServer(answer) as server:
        backend = _backend(server.url, http_client, max_retries=3)
        with pytest.raises(LLMRequestError, match=r"HTTP 503.*loading the model"):
            backend.warm_up()
        backend.close()
    assert server.connections == 1


@pytest.mark.parametrize("mode", ["html", "garbage"])
def test_a_200_that_is_not_a_completion_is_a_request_error(mode: str, http_client: str) -> None:
    with bad_server(mode) as url:
        backend = _backend(url, http_client, max_retries=0)
        with pytest.raises(LLMRequestError, match="not JSON" if mode == "garbage" else "not a chat completion"):
            backend.generate([_request()])
        with pytest.raises(LLMRequestError, match="not JSON" if mode == "garbage" else "did not answer a model list"):
            backend.warm_up()
        backend.close()


def test_proxy_settings_from_the_environment_apply(
    server: OpenAIStubServer, http_client: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stub stands in for the proxy: it receives the absolute URL of a host that does not resolve.
    for variable in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.base_url.removesuffix("/v1"))
    monkeypatch.setenv("http_proxy", server.base_url.removesuffix("/v1"))
    backend = _backend("http://llm.invalid/v1", http_client, max_retries=0)
    with pytest.raises(LLMRequestError, match="HTTP 404"):
        backend.generate([_request()])
    backend.close()
    assert [r.path for r in server.requests] == ["http://llm.invalid/v1/chat/completions"]
