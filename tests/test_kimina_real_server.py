"""KiminaChecker against the REAL Kimina Lean Server (kimina-ast-server 2.1.3) running the real core Lean,
compared with the project's own REPL pool on the same statements.

Runs when Python >= 3.12 and real Lean are present; the server's venv is built on first use into
~/.cache/autoformal-kimina-server (about 1.5 min, `make kimina-server` does it ahead) and reused after.
Skipped with the reason otherwise."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoformal.checking import (
    CheckResult,
    CheckStatus,
    KiminaChecker,
    KiminaCheckerConfig,
    ReplChecker,
    ReplCheckerConfig,
    find_lake,
)
from autoformal.testing import kimina_server

pytestmark = [pytest.mark.lean, pytest.mark.slow, pytest.mark.timeout(900)]

STATEMENTS = [
    "theorem base_ok (n : Nat) : n + 0 = n := sorry",
    'theorem type_error (n : Nat) :\n  n + "a" = n := sorry',
    "theorem multi_line (a b : Nat)\n    (h : a ≤ b) :\n    a < b + nonexistent_constant := sorry",
]
HEADERS = ["", "open Nat", "import Init", "import Init\nopen Nat"]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if find_lake() is None or not os.environ.get("AUTOFORMAL_LEAN_PROJECT"):
        pytest.skip('no real Lean: run `eval "$(../shared/lean/install-core-lean)"` (lake + AUTOFORMAL_LEAN_PROJECT)')
    try:
        kimina_server.ensure_venv()
    except kimina_server.KiminaServerSetupError as exc:
        pytest.skip(f"cannot set up the Kimina Lean Server here: {exc}")
    log = tmp_path_factory.mktemp("kimina") / "server.log"
    with kimina_server.running_server(max_repls=2, log_path=log) as url:
        yield url


@pytest.fixture(scope="module")
def pool_results() -> dict[str, list[CheckResult]]:
    lake, project = find_lake(), os.environ["AUTOFORMAL_LEAN_PROJECT"]
    config = ReplCheckerConfig(project_dir=Path(project), lake_path=lake, num_workers=1, timeout_s=120)
    with ReplChecker(config) as checker:
        return {h: checker.check_sync(STATEMENTS, h) for h in HEADERS}


def _shape(results: list[CheckResult]) -> list[tuple[str, list[tuple[str, int, int]]]]:
    return [(r.status.value, [(m.severity, m.line, m.column) for m in r.messages]) for r in results]


@pytest.mark.parametrize("header", HEADERS)
def test_statuses_and_positions_agree_with_the_repl_pool(
    server_url: str, pool_results: dict[str, list[CheckResult]], header: str
) -> None:
    with KiminaChecker(KiminaCheckerConfig(url=server_url, timeout_s=60, server_repls=2)) as checker:
        results = checker.check_sync(STATEMENTS, header)
    assert [r.status for r in results] == [CheckStatus.OK, CheckStatus.ERROR, CheckStatus.ERROR]
    assert _shape(results) == _shape(pool_results[header])
    assert [m.line for m in results[1].messages if m.is_error] == [2]  # relative to the statement
    assert [m.line for m in results[2].messages if m.is_error] == [3]


@pytest.mark.parametrize("header", ["", "open Nat", "import Init"])
def test_statements_with_one_name_are_independent(server_url: str, header: str) -> None:
    same_name = ["theorem t : True := sorry"] * 6
    with KiminaChecker(KiminaCheckerConfig(url=server_url, batch_size=2, server_repls=2)) as checker:
        results = checker.check_sync(same_name, header)
    assert [r.status for r in results] == [CheckStatus.OK] * 6
