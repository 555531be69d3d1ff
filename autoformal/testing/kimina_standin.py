"""A loopback stand-in of the Kimina Lean Server (kimina-ast-server 2.1.3, project-numina/kimina-lean-server)
that serves `POST /api/check` the way the real one does, elaborating with the stand-in REPL's rules.

What it reproduces from the real server, because clients get it wrong otherwise:
- `split_snippet` (`server/split.py`): the leading `import` and blank lines are the header, the rest the body;
  any `import Mathlib.*` becomes `import Mathlib`. Only the body reaches the REPL, so reply positions count
  from the body's first line.
- REPLs per header (`server/manager.py`): a free REPL with the same header is reused (`reuse`), else a new
  one starts while fewer than `max_repls` exist, else the oldest free REPL (any header) is evicted.
- Env handling (`server/repl.py`): a fresh REPL runs a non-blank header as its first command (env 0); the
  first command a REPL gets is sent without `env`, every later one with `env: 0` and `gc: true`. So with no
  import, the first body becomes env 0 and later snippets on that REPL see its declarations.
- The per-snippet health check (`Manager.prep`): a reused REPL first gets `#eval 1` (with `env: 0`).
- The snippets of one request run concurrently, each waiting for a REPL; replies are
  `{"results": [{"id", "time", "response" | "error"}]}`; a timeout's error says "timed out" and destroys the
  REPL; a dead REPL gives "Snippet execution failed: ..."; auth errors are FastAPI's `{"detail"}` with 401.

Faults are injected by magic names in the snippet, as for the stand-in REPL: `standin_fault_hang` (the server's
timeout reply, at once rather than after `timeout` seconds), `standin_fault_crash` (the REPL dies),
`standin_fault_unknown_env` (the REPL answers `{"message": "Unknown environment."}`).
`command_latency_s` makes every REPL command take that long, like Lean's elaboration time, so that
concurrency shows in tests and benchmarks.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from autoformal.testing.standin_repl import Json, StandinRepl


def split_snippet(code: str) -> tuple[str, str]:
    """The server's header/body split (`server/split.py`, kimina-ast-server 2.1.3), rule for rule."""
    lines = code.splitlines()
    i = 0
    while i < len(lines) and (lines[i].strip() == "" or lines[i].strip().startswith("import ")):
        i += 1
    imports: list[str] = []
    has_mathlib = False
    for line in (x.strip() for x in lines[:i]):
        if not line.startswith("import "):
            continue
        if line.startswith("import Mathlib"):
            has_mathlib = True
        elif line not in imports:
            imports.append(line)
    return "\n".join((["import Mathlib"] if has_mathlib else []) + imports), "\n".join(lines[i:])


class _ReplDied(Exception):
    """The stand-in REPL process would have died (EOF on its stdout)."""


class _ServerRepl(StandinRepl):
    """The stand-in REPL's state machine, with faults reported to the server instead of acted out."""

    def _inject_faults(self, cmd: str) -> None:
        if "standin_fault_crash" in cmd:
            raise _ReplDied


@dataclass(eq=False)
class _Repl:
    uuid: int
    header: str
    repl: _ServerRepl = field(default_factory=lambda: _ServerRepl({}))
    started: bool = False
    use_count: int = 0
    last_used: float = field(default_factory=time.monotonic)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096  # the real server's uvicorn backlog; the default 5 resets bursts of connections


@dataclass(frozen=True)
class SentCommand:
    """One command a stand-in REPL received, as the server wrote it to the REPL's stdin."""

    repl: int
    request: Json


class KiminaStandin:
    """`with KiminaStandin() as server:` serves on `server.url`; `payloads` holds the requests received,
    `commands` what each REPL was sent, `peak_busy` the most REPLs busy at once, `peak_requests` the most
    `/api/check` requests being served at once."""

    def __init__(self, api_key: str | None = None, *, max_repls: int = 2, command_latency_s: float = 0.0) -> None:
        self.api_key = api_key
        self.max_repls = max_repls
        self.command_latency_s = command_latency_s
        self.payloads: list[dict[str, Any]] = []
        self.commands: list[SentCommand] = []
        self.peak_busy = 0
        self.peak_requests = 0
        self._requests_now = 0
        self._free: list[_Repl] = []
        self._busy: set[_Repl] = set()
        self._cond = threading.Condition()
        self._ids = itertools.count()
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- the manager (server/manager.py) ----------------------------------------------------------------

    def _get_repl(self, header: str, reuse: bool) -> _Repl:
        with self._cond:
            while True:
                if reuse:
                    for r in self._free:
                        if r.header == header:
                            self._free.remove(r)
                            return self._take(r)
                if len(self._free) + len(self._busy) < self.max_repls:
                    break
                if self._free:
                    self._free.remove(min(self._free, key=lambda r: r.last_used))  # evicted: gone with its envs
                    break
                self._cond.wait()
            return self._take(_Repl(next(self._ids), header))

    def _take(self, repl: _Repl) -> _Repl:
        self._busy.add(repl)
        self.peak_busy = max(self.peak_busy, len(self._busy))
        return repl

    def _release(self, repl: _Repl, *, destroy: bool = False) -> None:
        with self._cond:
            self._busy.discard(repl)
            if not destroy:
                repl.last_used = time.monotonic()
                self._free.append(repl)
            self._cond.notify()

    # -- one REPL command (Repl.send) -------------------------------------------------------------------

    def _send(self, repl: _Repl, code: str, *, is_header: bool = False) -> Json:
        request: Json = {"cmd": code}
        if repl.use_count != 0 and not is_header:
            request["env"] = 0
            request["gc"] = True
        with self._cond:
            self.commands.append(SentCommand(repl.uuid, request))
        if self.command_latency_s:
            time.sleep(self.command_latency_s)
        reply = repl.repl.handle({k: v for k, v in request.items() if k != "gc"})
        repl.use_count += 1
        return reply

    # -- one snippet (routers/check.py: run_one) --------------------------------------------------------

    def run_one(self, snippet: Json, timeout: float, reuse: bool) -> Json:
        snippet_id, code = str(snippet["id"]), str(snippet["code"])
        header, body = split_snippet(code)
        repl = self._get_repl(header, reuse)
        start = time.monotonic()
        try:
            if repl.started:
                self._send(repl, "#eval 1")  # Manager.prep's health check on a reused REPL
            else:
                repl.started = True
                if header.strip():
                    self._send(repl, header, is_header=True)
            if "standin_fault_hang" in body:
                self._release(repl, destroy=True)
                return {"id": snippet_id, "time": timeout, "error": f"Lean REPL command timed out in {timeout} seconds"}
            if "standin_fault_unknown_env" in body:
                reply: Json = {"message": "Unknown environment."}
            else:
                reply = self._send(repl, body)
        except _ReplDied:
            self._release(repl, destroy=True)
            return {"id": snippet_id, "time": 0.0, "error": "Snippet execution failed: JSON decode error"}
        self._release(repl)
        return {"id": snippet_id, "time": round(time.monotonic() - start, 6), "response": reply}

    def check(self, payload: dict[str, Any]) -> list[Json]:
        snippets = payload["snippets"]
        timeout, reuse = float(payload.get("timeout", 60)), bool(payload.get("reuse", True))
        with ThreadPoolExecutor(max_workers=len(snippets)) as pool:  # the server gathers all snippets at once
            return list(pool.map(lambda s: self.run_one(s, timeout, reuse), snippets))

    def __enter__(self) -> KiminaStandin:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(standin: KiminaStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path in ("/", "/health", "/health/"):
                return self._send(200, {"status": "ok"})
            return self._send(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            if self.path not in ("/api/check", "/api/check/"):
                return self._send(404, {"detail": "Not Found"})
            if standin.api_key:
                auth = self.headers.get("Authorization")
                if not auth:
                    return self._send(401, {"detail": "Missing API key"})
                if auth.removeprefix("Bearer ").strip() != standin.api_key:
                    return self._send(401, {"detail": "Invalid API key"})
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            snippets = payload.get("snippets")
            if not snippets or len({s["id"] for s in snippets}) != len(snippets):
                detail = "Value error, `snippets` must be non empty and have unique ids"
                return self._send(422, {"detail": [{"type": "value_error", "msg": detail}]})
            with standin._cond:
                standin.payloads.append(payload)
                standin._requests_now += 1
                standin.peak_requests = max(standin.peak_requests, standin._requests_now)
            try:
                results = standin.check(payload)
            finally:
                with standin._cond:
                    standin._requests_now -= 1
            return self._send(200, {"results": results})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Handler
