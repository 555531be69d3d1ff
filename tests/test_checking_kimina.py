"""KiminaChecker against a loopback HTTP stand-in of the Kimina Lean Server's `POST /api/check`.

The stand-in follows the server's schema (project-numina/kimina-lean-server: `CheckRequest` with
`snippets[{id, code}]`, `timeout`, `debug`, `reuse`; `CheckResponse` with `results[{id, time, error |
response}]`, positions relative to the whole snippet) and elaborates with the stand-in REPL's rules."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from autoformal.checking import (
    CheckStatus,
    KiminaChecker,
    KiminaCheckerConfig,
    KiminaServerError,
    build_checker,
)
from autoformal.testing.standin_repl import elaborate

HEADER = "import Mathlib\nopen Real"
GOOD = "theorem g (n : Nat) : n + 0 = n := sorry"
BAD = 'theorem b (n : Nat) :\n  n + "a" = n := sorry'


class KiminaStandin:
    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.payloads: list[dict[str, Any]] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != "/api/check":
                    return self._send(404, {"detail": "Not Found"})
                if standin.api_key and self.headers.get("Authorization") != f"Bearer {standin.api_key}":
                    return self._send(401, {"detail": "Invalid API key"})
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                standin.payloads.append(payload)
                results = [standin.answer(s["id"], s["code"], payload["timeout"]) for s in payload["snippets"]]
                return self._send(200, {"results": results})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def answer(snippet_id: str, code: str, timeout: int) -> dict[str, Any]:
        if "standin_fault_hang" in code:
            return {
                "id": snippet_id,
                "time": timeout,
                "error": f"Lean REPL command timed out in {timeout} seconds",
            }
        if "standin_fault_crash" in code:
            return {"id": snippet_id, "time": 0.1, "error": "REPL process died"}
        if "standin_fault_unknown_env" in code:
            return {"id": snippet_id, "time": 0.0, "response": {"message": "Unknown environment."}}
        messages, sorries, _ = elaborate(code, frozenset(), first_command=True)
        response: dict[str, Any] = {"env": 0}
        if messages:
            response["messages"] = messages
        if sorries:
            response["sorries"] = sorries
        return {"id": snippet_id, "time": 0.01, "response": response}

    def __enter__(self) -> KiminaStandin:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def kimina() -> Iterator[KiminaStandin]:
    with KiminaStandin() as server:
        yield server


def test_results_in_order_with_positions_relative_to_the_statement(kimina: KiminaStandin) -> None:
    statements = [GOOD, BAD, GOOD, BAD, "theorem t (a : Nat) : a = a := by sorry"]
    with KiminaChecker(KiminaCheckerConfig(url=kimina.url, batch_size=2, timeout_s=7.5)) as checker:
        results = checker.check_sync(statements, HEADER)
    assert [r.status for r in results] == [CheckStatus.OK, CheckStatus.ERROR] * 2 + [CheckStatus.OK]
    error = results[1].messages[0]
    assert (error.severity, error.line, error.column) == (
        "error",
        2,
        2,
    )  # line 2 of the statement, not of header + statement
    assert results[0].messages[0].line == 1
    assert results[4].sorries[0].line == 1 and results[4].sorries[0].goal == "⊢ a = a"
    assert len(kimina.payloads) == 3  # batches of 2
    first = kimina.payloads[0]
    assert first["timeout"] == 8 and first["reuse"] is True
    assert first["snippets"][0] == {"id": "0", "code": f"{HEADER}\n\n{GOOD}"}


def test_server_side_failures_map_to_statuses(kimina: KiminaStandin) -> None:
    statements = [
        "theorem standin_fault_hang : True := sorry",
        "theorem standin_fault_crash : True := sorry",
        "theorem standin_fault_unknown_env : True := sorry",
        GOOD,
    ]
    with KiminaChecker(KiminaCheckerConfig(url=kimina.url)) as checker:
        results = checker.check_sync(statements, HEADER)
    assert [r.status for r in results] == [
        CheckStatus.TIMEOUT,
        CheckStatus.CRASHED,
        CheckStatus.CRASHED,
        CheckStatus.OK,
    ]
    assert "Unknown environment" in (results[2].detail or "")


def test_unsafe_statements_are_never_sent(kimina: KiminaStandin) -> None:
    with KiminaChecker(KiminaCheckerConfig(url=kimina.url)) as checker:
        results = checker.check_sync(["#eval 1", 'run_cmd Lean.logInfo "x"', GOOD], HEADER)
    assert [r.status for r in results] == [CheckStatus.REJECTED_UNSAFE] * 2 + [CheckStatus.OK]
    sent = [s["code"] for p in kimina.payloads for s in p["snippets"]]
    assert sent == [f"{HEADER}\n\n{GOOD}"]


async def test_async_check_and_api_key() -> None:
    with KiminaStandin(api_key="s3cret") as server:
        async with KiminaChecker(KiminaCheckerConfig(url=server.url, api_key="s3cret")) as checker:
            (result,) = await checker.check([GOOD], "")
        assert result.ok and server.payloads[0]["snippets"][0]["code"] == GOOD
        with (
            KiminaChecker(KiminaCheckerConfig(url=server.url, api_key="wrong")) as checker,
            pytest.raises(KiminaServerError, match=r"401.*AUTOFORMAL_KIMINA_API_KEY"),
        ):
            checker.check_sync([GOOD], "")


def test_unreachable_server_names_the_fix() -> None:
    with KiminaStandin() as server:
        url = server.url  # the port is free once this server is gone
    with (
        KiminaChecker(KiminaCheckerConfig(url=url)) as checker,
        pytest.raises(KiminaServerError, match="AUTOFORMAL_KIMINA_URL"),
    ):
        checker.check_sync([GOOD], HEADER)


def test_build_checker_gives_a_kimina_checker(kimina: KiminaStandin) -> None:
    with build_checker(KiminaCheckerConfig(url=kimina.url)) as checker:
        assert isinstance(checker, KiminaChecker)
        assert checker.check_sync([GOOD], HEADER)[0].ok


def test_semantic_probes_run_as_snippets(kimina: KiminaStandin) -> None:
    """Equivalence and probes through the server: each snippet carries the assumption, only the attempt's
    own messages count (the assumption's sorry does not spoil a proof)."""
    from autoformal.checking.equivalence import Verdict, equivalent
    from autoformal.checking.probes import probe

    strong = "theorem s (f : Nat → Nat) : f 0 = f 1 := sorry"
    weak = "theorem w (f : Nat → Nat) (h : f 0 = 0) : f 0 = f 1 := sorry"
    with KiminaChecker(KiminaCheckerConfig(url=kimina.url)) as checker:
        result = equivalent(strong, weak, HEADER, checker=checker)
        assert result.verdict is Verdict.A_IMPLIES_B
        assert result.a_to_b.tactic is not None and "apply H" in result.a_to_b.tactic
        assert probe("theorem f : 2 + 2 = 5 := sorry", HEADER, checker=checker).flags == {"refuted": "decide"}
        bad = equivalent(strong, "theorem b (n : Nat) : n = undefined_x := sorry", HEADER, checker=checker)
        assert bad.verdict is Verdict.ERROR and bad.detail is not None and "statement B" in bad.detail
    codes = [s["code"] for p in kimina.payloads for s in p["snippets"]]
    assert any("namespace autoformal_hyp" in c and "theorem goal" in c for c in codes)
