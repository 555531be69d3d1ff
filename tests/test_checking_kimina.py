"""KiminaChecker against `autoformal.testing.kimina_standin`, a loopback stand-in of the Kimina Lean Server's
`POST /api/check` that splits imports off, reuses REPLs per header with the server's env handling and health
check, and elaborates with the stand-in REPL's rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from autoformal.checking import (
    CheckStatus,
    KiminaChecker,
    KiminaCheckerConfig,
    KiminaServerError,
    build_checker,
)
from autoformal.testing.kimina_standin import KiminaStandin

HEADER = "import Mathlib\nopen Real"
GOOD = "theorem g (n : Nat) : n + 0 = n := sorry"
BAD = 'theorem b (n : Nat) :\n  n + "a" = n := sorry'


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
    # requests go out concurrently (ids are per request), so the server may record them in any order
    assert all(p["timeout"] == 8 and p["reuse"] is True for p in kimina.payloads)
    assert {"id": "0", "code": f"{HEADER}\n\n{GOOD}"} in [p["snippets"][0] for p in kimina.payloads]


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
        # no import in the header: `import Init` is sent so the server builds env 0 from a header command
        assert result.ok and server.payloads[0]["snippets"][0]["code"] == f"import Init\n\n{GOOD}"
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
