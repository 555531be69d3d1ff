"""`OpenAIStubServer`: a real HTTP server on loopback that speaks enough of the OpenAI API for OpenAI clients.

It serves `GET /v1/models` and `POST /v1/chat/completions` (n choices, usage, per-token logprobs, stop
sequences, `max_tokens` truncation with `finish_reason="length"`, vLLM-style `reasoning_content`, vLLM-style
error bodies for unknown models and over-long prompts), adds a fixed latency per request, can be scripted to
fail (`429` then success, `503`, a slow response), and records every request it receives so tests can assert
on what the client sent (n, grammar, stop, seed, reasoning effort).

Completion texts come from a `responder(request_json) -> list[str]` callable returning one text per choice
(it runs on the server's event loop, so keep it quick; `latency_s` and scripted delays model slowness).

    with OpenAIStubServer(latency_s=0.05) as server:
        backend = OpenAICompatibleBackend(OpenAIBackendConfig(base_url=server.base_url, model=server.model))
        ...
        assert server.chat_requests[0]["n"] == 8

It is an asyncio server on its own thread (one coroutine per keep-alive connection), so a fixed latency costs
no thread per request and 64+ concurrent clients do not queue behind each other.
Run it standalone with `python -m autoformal.testing.openai_server --latency-s 0.05`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from autoformal.llm.base import BackgroundLoop
from autoformal.llm.reasoning import split_reasoning

Responder = Callable[[dict[str, Any]], list[str]]

_TOKEN_PATTERN = re.compile(r"\s*\S+|\s+")


def default_responder(request: dict[str, Any]) -> list[str]:
    """Deterministic Lean statements: same messages, seed and choice index → same text."""
    seed = request.get("seed")
    prompt = json.dumps(request.get("messages", []), sort_keys=True)
    digest = hashlib.sha256(f"{prompt}|{seed}".encode()).hexdigest()[:8]
    return [
        f"theorem stub_{digest}_{index} (n : ℕ) : n + {index} = {index} + n := by sorry"
        for index in range(int(request.get("n") or 1))
    ]


@dataclass(frozen=True)
class RepairScript:
    """What a scripted model answers for one input across the refinement loop.

    `attempts[0]` answers the formalization prompt (every sample); `attempts[i + 1]` answers a repair prompt
    showing `attempts[i]` as the failed statement *and* an errors block that contains `marker` (default: a
    line of the failed statement, as the repair prompt quotes the source line each error points at). A repair
    prompt without the error gets the failed statement back, unchanged. Attempts are bare statements; the
    responder wraps them in a ```lean block like a model would. `informal` is a substring of the input that
    identifies it in a prompt; `revision` answers a judge-revision prompt.
    """

    informal: str
    attempts: tuple[str, ...]
    marker: str | None = None
    revision: str | None = None


def _between(text: str, tag: str) -> str | None:
    start, end = text.find(f"<{tag}>"), text.find(f"</{tag}>")
    return text[start + len(tag) + 2 : end].strip() if 0 <= start < end else None


class RepairResponder:
    """A responder for the refinement loop: formalization prompts get each script's first attempt, repair
    prompts (`<failed_statement>` and `<lean_errors>` blocks) that show an attempt's error get the next attempt,
    revision prompts (`<judge_reason>`) get the script's revision; other prompts (back-translation, judge)
    and inputs without a script go to `fallback`. It records the repair prompts it answered."""

    def __init__(self, scripts: Sequence[RepairScript], fallback: Responder | None = None) -> None:
        self.scripts = list(scripts)
        self.fallback: Responder = fallback or default_responder
        self.repair_prompts: list[str] = []
        self.revision_prompts: list[str] = []

    def _script(self, informal: str | None) -> RepairScript | None:
        return next((s for s in self.scripts if informal is not None and s.informal in informal), None)

    def __call__(self, request: dict[str, Any]) -> list[str]:
        prompt = str(request["messages"][-1]["content"])
        n = int(request.get("n") or 1)
        script = self._script(_between(prompt, "informal_statement"))
        failed, errors = _between(prompt, "failed_statement"), _between(prompt, "lean_errors")
        if script is not None and failed is not None and errors is not None:
            self.repair_prompts.append(prompt)
            return [_as_answer(self._repair(script, failed, errors))] * n
        if script is not None and "<judge_reason>" in prompt and script.revision is not None:
            self.revision_prompts.append(prompt)
            return [_as_answer(script.revision)] * n
        if script is not None and "<lean_statement>" not in prompt:
            return [_as_answer(script.attempts[0])] * n
        return self.fallback(request)

    @staticmethod
    def _repair(script: RepairScript, failed: str, errors: str) -> str:
        for attempt, following in zip(script.attempts, script.attempts[1:], strict=False):
            if attempt.strip() != failed:
                continue
            marker = script.marker
            shown = marker in errors if marker else any(line.strip() in errors for line in failed.splitlines())
            return following if shown else attempt
        return failed


def _as_answer(statement: str) -> str:
    return f"```lean\n{statement}\n```"


def approximate_tokens(text: str) -> list[str]:
    """The stub's tokenizer: a word with its leading whitespace is one token (enough for counts, limits)."""
    return _TOKEN_PATTERN.findall(text)


@dataclass(frozen=True)
class ScriptedResponse:
    """A response the server returns instead of its normal behaviour, for one chat-completions request.

    `status=200` with `delay_s` gives a normal but slow answer; any other status returns an error body.
    """

    status: int = 200
    delay_s: float = 0.0
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    received_at: float

    @property
    def grammar(self) -> str | None:
        """The grammar sent in either vLLM field (`structured_outputs.grammar` or legacy `guided_grammar`)."""
        if not self.body:
            return None
        structured = self.body.get("structured_outputs") or {}
        return structured.get("grammar") or self.body.get("guided_grammar")


def _error_body(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    # vLLM's OpenAI server error shape; clients read `error.message`.
    error_type = _reason(status).replace(" ", "") + "Error"
    return {"error": {"message": message, "type": error_type, "param": param, "code": status}}


class OpenAIStubServer:
    """Loopback OpenAI-compatible server for tests and benchmarks (context manager; see module docstring)."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        models: Sequence[str] = ("stub-model",),
        latency_s: float = 0.0,
        reasoning_parser: bool = False,
        max_context_tokens: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.responder: Responder = responder or default_responder
        self.models = list(models)
        self.latency_s = latency_s
        #: When true, `<think>`/`[THINK]` blocks are moved to `reasoning_content`, like `--reasoning-parser`.
        self.reasoning_parser = reasoning_parser
        #: When set, prompts (stub tokens) + max_tokens above this get vLLM's context-length 400 error.
        self.max_context_tokens = max_context_tokens
        self.requests: list[RecordedRequest] = []
        self._host = host
        self._port = port
        self._script: collections.deque[ScriptedResponse] = collections.deque()
        self._loop: BackgroundLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[None]] = set()

    # -- lifecycle ---------------------------------------------------------------------------------------

    @property
    def model(self) -> str:
        """The first served model id."""
        return self.models[0]

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("OpenAIStubServer is not running; use it as a context manager or call start().")
        return f"http://{self._host}:{self._port}/v1"

    def start(self) -> OpenAIStubServer:
        self._loop = BackgroundLoop(name="openai-stub-server")
        self._server = self._loop.submit(self._start()).result()
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        self._loop.submit(self._shutdown()).result()
        self._loop.stop()
        self._loop = None
        self._server = None

    def __enter__(self) -> OpenAIStubServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- test helpers ------------------------------------------------------------------------------------

    def script(self, *responses: int | ScriptedResponse) -> None:
        """Queue responses for the next chat-completions requests, e.g. `server.script(429, 429)` makes the
        next two requests fail with 429 (with `retry-after-ms: 10`, so retries are quick) before normal
        answers resume."""
        for response in responses:
            if isinstance(response, int):
                headers = {"retry-after-ms": "10"} if response in (429, 503) else {}
                response = ScriptedResponse(status=response, headers=headers)
            self._script.append(response)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """JSON bodies of the chat-completions requests received, in arrival order."""
        return [r.body for r in self.requests if r.path.endswith("/chat/completions") and r.body is not None]

    # -- HTTP --------------------------------------------------------------------------------------------

    async def _start(self) -> asyncio.AbstractServer:
        server = await asyncio.start_server(self._handle_connection, self._host, self._port, backlog=1024)
        self._port = server.sockets[0].getsockname()[1]
        return server

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
                method, target, _version = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                raw_body = await reader.readexactly(length) if length else b""
                status, payload, extra_headers = await self._dispatch(method, target, headers, raw_body)
                data = json.dumps(payload).encode()
                response_head = [
                    f"HTTP/1.1 {status} {_reason(status)}",
                    "content-type: application/json",
                    f"content-length: {len(data)}",
                ]
                response_head += [f"{name}: {value}" for name, value in extra_headers.items()]
                writer.write(("\r\n".join(response_head) + "\r\n\r\n").encode("latin-1") + data)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # client went away (e.g. its timeout fired) or sent garbage: drop the connection
        except asyncio.CancelledError:
            # stop() cancels open connections. Ending normally instead of as cancelled avoids a spurious
            # traceback from asyncio's stream callback on Python 3.11 (it calls `task.exception()`).
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _dispatch(
        self, method: str, target: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        path = target.split("?", 1)[0]
        body: dict[str, Any] | None = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except json.JSONDecodeError as error:
                self.requests.append(RecordedRequest(method, path, headers, None, time.time()))
                return 400, _error_body(400, f"request body is not JSON: {error}"), {}
        self.requests.append(RecordedRequest(method, path, headers, body, time.time()))

        if method == "GET" and path == "/v1/models":
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "autoformal-stub"} for m in self.models]
            return 200, {"object": "list", "data": data}, {}
        if method == "POST" and path == "/v1/chat/completions":
            return await self._chat_completions(body or {})
        return 404, _error_body(404, f"no route for {method} {path}"), {}

    async def _chat_completions(self, request: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        scripted = self._script.popleft() if self._script else None
        delay = self.latency_s + (scripted.delay_s if scripted else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        if scripted is not None and scripted.status != 200:
            error = scripted.message or f"stub server: scripted HTTP {scripted.status}"
            return scripted.status, _error_body(scripted.status, error), dict(scripted.headers)

        model = request.get("model")
        if model not in self.models:
            return 404, _error_body(404, f"The model `{model}` does not exist.", "model"), {}
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, _error_body(400, "`messages` must be a non-empty list", "messages"), {}
        max_tokens = request.get("max_tokens") or request.get("max_completion_tokens")
        prompt_tokens = sum(len(approximate_tokens(str(m.get("content", "")))) + 4 for m in messages)
        if self.max_context_tokens is not None and prompt_tokens + (max_tokens or 0) > self.max_context_tokens:
            message = (
                f"This model's maximum context length is {self.max_context_tokens} tokens. However, you "
                f"requested {prompt_tokens + (max_tokens or 0)} tokens ({prompt_tokens} in the messages, "
                f"{max_tokens or 0} in the completion). "
                "Please reduce the length of the messages or completion."
            )
            return 400, _error_body(400, message), {}

        n = int(request.get("n") or 1)
        try:
            texts = self.responder(request)
        except Exception as error:  # the responder is test code: report its failure as a server error
            return 500, _error_body(500, f"responder failed: {type(error).__name__}: {error}"), {}
        if len(texts) != n:
            return 500, _error_body(500, f"responder returned {len(texts)} texts for n={n}"), {}

        stops = request.get("stop") or []
        stops = [stops] if isinstance(stops, str) else list(stops)
        choices = []
        completion_tokens = 0
        for index, full_text in enumerate(texts):
            text, finish_reason = _apply_limits(full_text, stops, max_tokens)
            tokens = approximate_tokens(text)
            completion_tokens += len(tokens)
            reply: dict[str, Any] = {"role": "assistant", "content": text}
            if self.reasoning_parser:
                answer, reasoning = split_reasoning(text)
                reply = {"role": "assistant", "content": answer, "reasoning_content": reasoning}
            choice: dict[str, Any] = {"index": index, "message": reply, "finish_reason": finish_reason}
            if request.get("logprobs"):
                choice["logprobs"] = {"content": [_token_logprob(token) for token in tokens]}
            choices.append(choice)
        payload = {
            "id": f"chatcmpl-stub-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return 200, payload, {}


def _apply_limits(text: str, stops: list[str], max_tokens: int | None) -> tuple[str, str]:
    """Cut `text` like a server would: at the first stop string (excluded), else after `max_tokens` tokens."""
    positions = [text.find(stop) for stop in stops if stop and stop in text]
    if positions:
        text = text[: min(positions)]
    tokens = approximate_tokens(text)
    if max_tokens is not None and len(tokens) > max_tokens:
        return "".join(tokens[:max_tokens]), "length"
    return text, "stop"


def _token_logprob(token: str) -> dict[str, Any]:
    # Deterministic, strictly negative, token-dependent values: enough to test summing and ranking.
    digest = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=2).digest(), "big")
    logprob = -0.01 - (digest % 1000) / 1000.0
    return {"token": token, "logprob": logprob, "bytes": list(token.encode()), "top_logprobs": []}


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until interrupted; prints the base URL on the first line of stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-s", type=float, default=0.0)
    parser.add_argument("--model", action="append", dest="models", help="served model id (repeatable)")
    parser.add_argument("--reasoning-parser", action="store_true")
    args = parser.parse_args(argv)
    server = OpenAIStubServer(
        models=args.models or ["stub-model"],
        latency_s=args.latency_s,
        reasoning_parser=args.reasoning_parser,
        port=args.port,
    )
    with server:
        print(server.base_url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
