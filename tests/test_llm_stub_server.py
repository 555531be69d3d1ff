"""The loopback OpenAIStubServer speaks HTTP/1.1 faithfully enough for plain clients too (others' tests use it)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from autoformal.testing.openai_server import OpenAIStubServer, ScriptedResponse, default_responder


def _chat(client: httpx.Client, server: OpenAIStubServer, **body: object) -> httpx.Response:
    payload = {"model": server.model, "messages": [{"role": "user", "content": "hi"}], **body}
    return client.post(f"{server.base_url}/chat/completions", json=payload)


def test_models_and_chat_completion_shape() -> None:
    with OpenAIStubServer(models=["a", "b"]) as server, httpx.Client() as client:
        models = client.get(f"{server.base_url}/models").json()
        assert [entry["id"] for entry in models["data"]] == ["a", "b"]
        response = _chat(client, server, n=3, logprobs=True, seed=4)
        assert response.status_code == 200
        body = response.json()
        assert body["object"] == "chat.completion" and body["model"] == "a"
        assert [choice["index"] for choice in body["choices"]] == [0, 1, 2]
        texts = [choice["message"]["content"] for choice in body["choices"]]
        assert texts == default_responder({"messages": [{"role": "user", "content": "hi"}], "n": 3, "seed": 4})
        tokens = body["choices"][0]["logprobs"]["content"]
        assert "".join(token["token"] for token in tokens) == texts[0]
        assert all(token["logprob"] < 0 for token in tokens)
        usage = body["usage"]
        assert usage["completion_tokens"] == sum(len(c["logprobs"]["content"]) for c in body["choices"])
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert server.chat_requests[-1]["seed"] == 4


def test_default_responder_is_deterministic_per_seed() -> None:
    request = {"messages": [{"role": "user", "content": "x"}], "n": 2, "seed": 1}
    assert default_responder(request) == default_responder(dict(request))
    assert default_responder(request) != default_responder({**request, "seed": 2})


def test_error_bodies_and_scripted_statuses() -> None:
    with OpenAIStubServer() as server, httpx.Client() as client:
        server.script(429, ScriptedResponse(status=500, message="boom"))
        limited = _chat(client, server)
        assert limited.status_code == 429 and limited.headers["retry-after-ms"] == "10"
        failed = _chat(client, server)
        assert failed.status_code == 500 and failed.json()["error"]["message"] == "boom"
        assert _chat(client, server).status_code == 200
        unknown = _chat(client, server, model="nope")
        assert unknown.status_code == 404
        assert unknown.json()["error"]["message"] == "The model `nope` does not exist."
        bad = client.post(f"{server.base_url}/chat/completions", content=b"{not json")
        assert bad.status_code == 400
        assert client.get(f"{server.base_url}/nowhere").status_code == 404


def test_responder_failures_become_500() -> None:
    def broken(request: dict[str, object]) -> list[str]:
        raise ValueError("no")

    with OpenAIStubServer(broken) as server, httpx.Client() as client:
        response = _chat(client, server)
        assert response.status_code == 500 and "ValueError" in response.json()["error"]["message"]


def test_latency_is_concurrent_not_serial() -> None:
    """Requests overlap inside the server: several arrive while the first is still in its latency."""
    latency = 0.3
    with OpenAIStubServer(latency_s=latency) as server:

        async def run() -> None:
            async with httpx.AsyncClient(limits=httpx.Limits(max_connections=16)) as client:
                payload = {"model": server.model, "messages": [{"role": "user", "content": "x"}]}
                responses = await asyncio.gather(
                    *(client.post(f"{server.base_url}/chat/completions", json=payload) for _ in range(16))
                )
                assert all(response.status_code == 200 for response in responses)

        asyncio.run(run())
        arrivals = sorted(request.received_at for request in server.requests)
        overlapping = sum(arrival < arrivals[0] + latency for arrival in arrivals)
        assert overlapping > 1, "a serial server would hold every other request until the first one answered"


def test_base_url_requires_running_server() -> None:
    server = OpenAIStubServer()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url


def test_stop_with_open_connections_is_clean(capfd: pytest.CaptureFixture[str]) -> None:
    import socket

    server = OpenAIStubServer(latency_s=5.0).start()
    host, port = server.base_url.removeprefix("http://").removesuffix("/v1").split(":")
    idle = socket.create_connection((host, int(port)))
    busy = socket.create_connection((host, int(port)))
    body = b'{"model": "stub-model", "messages": [{"role": "user", "content": "x"}]}'
    busy.sendall(b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
    while not server.requests:  # wait until the busy request is sleeping out its latency
        time.sleep(0.01)
    server.stop()
    idle.close()
    busy.close()
    assert capfd.readouterr().err == ""
