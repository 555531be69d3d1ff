"""KiminaChecker against what the real Kimina Lean Server (kimina-ast-server 2.1.3) does to snippets, as
reproduced by `autoformal.testing.kimina_standin`: the import split, env 0 per header, the health check, REPLs
per header with eviction; and the client's concurrency, sized by the server's REPLs and one header at a time.
Each test here fails against a client that sends `header + statement` as the server's own docs suggest."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from test_checking_kimina import BAD, GOOD

from autoformal.checking import CheckStatus, KiminaChecker, KiminaCheckerConfig
from autoformal.checking.kimina import HeaderTurns, server_repl_key, snippet_code
from autoformal.testing.kimina_standin import KiminaStandin, split_snippet

# -- what the real server does to snippets (kimina-ast-server 2.1.3): the stand-in reproduces it -----------


def test_split_snippet_mirrors_the_server() -> None:
    code = "\nimport Mathlib.Tactic\n import Init\n\nimport Mathlib.Data.Real\nimport Init\n\nopen Real\n\ntheorem x"
    assert split_snippet(code) == ("import Mathlib\nimport Init", "open Real\n\ntheorem x")
    assert split_snippet("theorem x : True := sorry") == ("", "theorem x : True := sorry")
    assert split_snippet("-- c\nimport Init\ntheorem x") == ("", "-- c\nimport Init\ntheorem x")


@pytest.mark.parametrize(
    ("header", "offset"),
    [
        ("", 0),
        ("import Init", 0),
        ("import Init\nopen Nat", 2),
        ("open Nat", 2),
        ("import Mathlib\nopen BigOperators Real Nat Topology", 2),
        ("import Mathlib\n\n\nopen Real\nset_option maxHeartbeats 400000\n", 3),
        ("-- why\nimport Init\nopen Nat", 3),  # the import is moved above the comment
    ],
)
def test_snippet_code_offsets_count_from_what_the_server_sends_the_repl(header: str, offset: int) -> None:
    code, got = snippet_code(header, BAD)
    assert got == offset
    server_header, body = split_snippet(code)
    assert server_header.startswith("import ")  # always a header command, so env 0 holds no statement
    assert body.splitlines()[offset:] == BAD.splitlines()


@pytest.mark.parametrize(
    "header", ["", "open Nat", "import Init", "import Init\nopen Nat", "import Mathlib\nopen Real", "open Nat\n\n"]
)
def test_error_positions_are_relative_to_the_statement_for_every_header_shape(header: str) -> None:
    with KiminaStandin() as server, KiminaChecker(KiminaCheckerConfig(url=server.url)) as checker:
        (result,) = checker.check_sync([BAD], header)
    error = next(m for m in result.messages if m.severity == "error")
    assert (error.line, error.column, error.end_line) == (2, 2, 2)


@pytest.mark.parametrize("header", ["", "open Nat", "import Init", "import Mathlib\nopen Real"])
def test_statements_are_independent_whatever_the_header(header: str) -> None:
    # Six statements with one name, on a server with one REPL: each must see only the header's env.
    same_name = ["theorem t : True := sorry"] * 6
    with (
        KiminaStandin(max_repls=1) as server,
        KiminaChecker(KiminaCheckerConfig(url=server.url, batch_size=2)) as checker,
    ):
        results = checker.check_sync(same_name, header)
    assert [r.status for r in results] == [CheckStatus.OK] * 6
    bodies = [c.request for c in server.commands if c.request["cmd"].endswith("theorem t : True := sorry")]
    assert len(bodies) == 6 and all(b.get("env") == 0 for b in bodies)  # env 0: the header command's env
    assert server.commands[0].request == {"cmd": split_snippet(snippet_code(header, "")[0])[0]}


def test_the_standin_reproduces_both_defects_of_naive_snippets() -> None:
    """Snippets as a naive client builds them (header + statement, no import): the stand-in answers as the
    real server does, so a client that sends them sees chained statements and shifted positions."""
    with KiminaStandin(max_repls=1) as server:
        naive = [{"id": str(i), "code": "theorem t : True := sorry"} for i in range(3)]
        results = server.check({"snippets": naive, "timeout": 5, "reuse": True})
        shifted = server.check({"snippets": [{"id": "b", "code": f"import Init\n\n{BAD}"}], "timeout": 5})
    statuses = [
        "error" if any(m["severity"] == "error" for m in r["response"].get("messages", [])) else "ok" for r in results
    ]
    assert sorted(statuses) == ["error", "error", "ok"]  # the first body became env 0
    assert shifted[0]["response"]["messages"][0]["pos"] == {"line": 2, "column": 2}  # not line 4
    cmds = [c.request for c in server.commands]
    assert {"cmd": "#eval 1", "env": 0, "gc": True} in cmds  # the health check of a reused REPL
    assert cmds[0] == {"cmd": "theorem t : True := sorry"}  # a fresh REPL's first body is sent without env


def test_mixed_headers_evict_warm_repls() -> None:
    with KiminaStandin(max_repls=1) as server, KiminaChecker(KiminaCheckerConfig(url=server.url)) as checker:
        for header in ("import Init", "import Mathlib", "import Init"):
            checker.check_sync([GOOD], header)
    header_commands = [c for c in server.commands if c.request["cmd"].startswith("import")]
    assert len(header_commands) == 3 and len({c.repl for c in header_commands}) == 3


# -- concurrency sized by the server's capacity ------------------------------------------------------------


def test_requests_in_flight_follow_the_server_repls() -> None:
    assert KiminaCheckerConfig(server_repls=4, batch_size=2).max_concurrent_requests == 16  # 8 snippets per REPL
    assert KiminaCheckerConfig(server_repls=64, batch_size=8).max_concurrent_requests == 64
    assert KiminaCheckerConfig(server_repls=1, batch_size=8).max_concurrent_requests == 2  # one travels, one runs
    assert KiminaCheckerConfig(server_repls=64, max_concurrent_requests=3).max_concurrent_requests == 3


def test_every_server_repl_is_kept_busy() -> None:
    statements = [f"theorem t{i} : True := sorry" for i in range(32)]
    config = KiminaCheckerConfig(server_repls=4, batch_size=2)
    with (
        KiminaStandin(max_repls=4, command_latency_s=0.02) as server,
        KiminaChecker(config.model_copy(update={"url": server.url})) as checker,
    ):
        results = checker.check_sync(statements, "")
    assert all(r.ok for r in results) and len(server.payloads) == 16
    assert server.peak_busy == 4 and 2 <= server.peak_requests <= 16


async def test_concurrent_check_calls_share_the_request_limit() -> None:
    with KiminaStandin(max_repls=2, command_latency_s=0.02) as server:
        config = KiminaCheckerConfig(url=server.url, batch_size=1, max_concurrent_requests=3)
        async with KiminaChecker(config) as checker:
            batches = [[f"theorem t{k}_{i} : True := sorry" for i in range(4)] for k in range(5)]
            done = await asyncio.gather(*(checker.check(b, "open Nat") for b in batches))
    assert all(r.ok for results in done for r in results)
    assert len(server.payloads) == 20 and server.peak_requests == 3


def test_the_cli_keeps_several_requests_in_flight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from autoformal.cli import app

    monkeypatch.delenv("AUTOFORMAL_KIMINA_URL", raising=False)
    source = tmp_path / "in.lean"
    source.write_text("\n\n".join(f"theorem t{i} : True := sorry" for i in range(40)) + "\n", encoding="utf-8")
    with KiminaStandin(max_repls=2, command_latency_s=0.02) as server:
        argv = ["check", str(source), "--kimina-url", server.url, "--kimina-repls", "2", "--json"]
        result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["status"] for line in result.stdout.splitlines()] == ["ok"] * 40
    # 8 per request, 2 REPLs x 8 snippets in flight / 8 -> 2 requests at once (it was 1: one call at a time)
    assert len(server.payloads) == 5 and server.peak_requests == 2 and server.peak_busy == 2


# -- one server header at a time ---------------------------------------------------------------------------


def test_server_repl_key_is_the_servers_header() -> None:
    assert server_repl_key("") == server_repl_key("open Nat") == "import Init"
    assert server_repl_key("import Mathlib.Tactic\nimport Mathlib.Data.Real.Basic\nopen Real") == "import Mathlib"
    assert server_repl_key("import Init\nimport Mathlib\nimport Init") == "import Mathlib\nimport Init"


async def _run_turns(turns: HeaderTurns, keys: list[str], hold_s: float = 0.01) -> list[tuple[str, set[str]]]:
    """Start one request per key (in that order); record each grant with the keys in flight at the time."""
    in_flight: list[str] = []
    grants: list[tuple[str, set[str]]] = []

    async def request(key: str) -> None:
        async with turns.slot(key):
            in_flight.append(key)
            grants.append((key, set(in_flight)))
            assert len(in_flight) <= turns.limit
            await asyncio.sleep(hold_s)
            in_flight.remove(key)

    tasks = []
    for key in keys:
        tasks.append(asyncio.create_task(request(key)))
        await asyncio.sleep(0)  # arrival order
    await asyncio.gather(*tasks)
    return grants


async def test_header_turns_group_requests_by_header_without_mixing() -> None:
    grants = await _run_turns(HeaderTurns(2), ["A", "B"] * 6)
    assert all(len(keys) == 1 for _, keys in grants)  # never two headers in flight
    order = [key for key, _ in grants]
    assert order == ["A"] * 6 + ["B"] * 6  # 6 A requests fit in one turn (4 per slot x 2 slots)


async def test_header_turns_end_so_no_header_starves() -> None:
    grants = await _run_turns(HeaderTurns(1), ["A", "B"] + ["A"] * 10, hold_s=0.005)
    order = [key for key, _ in grants]
    assert order.index("B") == 4  # after the A turn's 4 requests (4 per slot x 1 slot), not after all 11


async def test_a_cancelled_waiter_does_not_block_the_others() -> None:
    turns = HeaderTurns(1)

    async def hold(key: str, seconds: float) -> str:
        async with turns.slot(key):
            await asyncio.sleep(seconds)
        return key

    first = asyncio.create_task(hold("A", 0.05))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(hold("B", 0.0))
    await asyncio.sleep(0)
    later = asyncio.create_task(hold("C", 0.0))
    await asyncio.sleep(0.01)
    waiting.cancel()
    assert await asyncio.wait_for(asyncio.gather(first, later), timeout=5) == ["A", "C"]


async def test_interleaved_headers_do_not_evict_warm_repls() -> None:
    with KiminaStandin(max_repls=2, command_latency_s=0.005) as server:
        config = KiminaCheckerConfig(url=server.url, batch_size=2, max_concurrent_requests=2)
        async with KiminaChecker(config) as checker:
            headers = ["import Init\nopen Nat", "import Mathlib\nopen Real"] * 3
            calls = [
                checker.check([f"theorem t{k}_{i} : True := sorry" for i in range(4)], h) for k, h in enumerate(headers)
            ]
            done = await asyncio.gather(*calls)
    assert all(r.ok for results in done for r in results)
    started = [c for c in server.commands if c.request["cmd"].startswith("import")]
    # one turn per header: each starts its 2 REPLs once (interleaved, it would evict on every request)
    first, second = sorted({c.request["cmd"] for c in started}, key=[c.request["cmd"] for c in started].index)
    assert {first, second} == {"import Init", "import Mathlib"}
    assert [c.request["cmd"] for c in started] == [first] * 2 + [second] * 2


def test_server_repls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOFORMAL_KIMINA_REPLS", "16")
    assert KiminaCheckerConfig().server_repls == 16 and KiminaCheckerConfig().max_concurrent_requests == 16
    monkeypatch.setenv("AUTOFORMAL_KIMINA_REPLS", "0")
    with pytest.raises(ValueError, match="LEAN_SERVER_MAX_REPLS"):
        KiminaCheckerConfig()
