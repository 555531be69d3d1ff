"""Shared pieces for the command-line hardening tests: a misbehaving HTTP server (hangs, 500s, HTML and
garbage answers), the environment that points the CLI at the loopback stub server and the stand-in REPL, and
bracket-heavy Lean statements."""

from __future__ import annotations

import os
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from autoformal.testing.openai_server import OpenAIStubServer
from autoformal.testing.standin_repl import StandinInstall

#: Lean text that rich would read as markup if it were not escaped (own fixture; benchmarks add real ones).
BRACKETED_STATEMENTS = (
    "theorem t1 {α : Type} [inst : Fintype α] (s : Finset α) : s.card ≤ Fintype.card α := sorry",
    "theorem t2 (G H : Type) [AddGroup G] [AddGroup H] (f : G →+c[a, b] H) : f 0 = 0 := sorry",
    "theorem t3 (x : ℝ) (h : x ∈ Set.Icc (0 : ℝ) 1) : [a, b] = [a, b] := sorry",
    "theorem t4 (l : List ℕ) : l = [bold] ++ [/bold] ++ [red]x[/red] := sorry",
    "theorem t5 (f : ℕ →ₗ[R] M) : ∀ᶠ x in 𝓝[≠] 0, f x = 0 := sorry",
)

#: Ways a server can misbehave, served by `BadServer`.
BAD_SERVER_MODES = ("hang", "500", "html", "garbage")


class _Handler(socketserver.BaseRequestHandler):
    server: _BadTCPServer

    def handle(self) -> None:
        self.request.settimeout(30)
        try:
            self.request.recv(65536)  # the request (headers and a small body); its content does not matter
        except OSError:
            return
        mode = self.server.mode
        if mode == "hang":
            self.server.release.wait(60)
            return
        if mode == "500":
            status, kind, body = "500 Internal Server Error", "application/json", b'{"error": {"message": "boom"}}'
        elif mode == "html":
            status, kind = "200 OK", "text/html"
            body = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
        else:
            status, kind, body = "200 OK", "application/json", b'{"choices": [ {"mess'
        head = f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        with suppress(OSError):
            self.request.sendall(head.encode() + body)


class _BadTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.release = threading.Event()


@contextmanager
def bad_server(mode: str) -> Iterator[str]:
    """The base URL of a loopback server misbehaving as `mode` (`hang`, `500`, `html`, `garbage`), or of a
    port nobody listens on (`refuse`)."""
    if mode == "refuse":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"http://127.0.0.1:{port}/v1"
        return
    server = _BadTCPServer(mode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def point_cli_at(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: OpenAIStubServer, standin: StandinInstall
) -> None:
    """The CLI's environment: the stub server, the stand-in REPL, no retrieval, a private cache and cwd."""
    monkeypatch.setenv("AUTOFORMAL_BASE_URL", server.base_url)
    monkeypatch.setenv("AUTOFORMAL_MODEL", server.model)
    monkeypatch.setenv("AUTOFORMAL_LEAN_PROJECT", str(standin.directory))
    monkeypatch.setenv("AUTOFORMAL_LEAN_REPL", str(standin.directory))
    monkeypatch.setenv("PATH", f"{standin.directory}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AUTOFORMAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AUTOFORMAL_RETRIEVAL", "off")
    monkeypatch.setenv("AUTOFORMAL_EXAMPLES", "0")
    monkeypatch.setenv("AUTOFORMAL_BACKTRANSLATION", "false")
    monkeypatch.setenv("AUTOFORMAL_CHECKER__NUM_WORKERS", "1")
    monkeypatch.delenv("AUTOFORMAL_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
