"""ReplChecker on real Lean. Runs when `lake` is found (PATH or ~/.elan/bin) and AUTOFORMAL_LEAN_PROJECT
points at a Lean project; skipped with the reason otherwise (see the `real_lean` fixture)."""

from __future__ import annotations

import psutil
import pytest

from autoformal.checking import CheckStatus, ReplChecker, ReplCheckerConfig

pytestmark = pytest.mark.lean


@pytest.fixture(scope="module")
def mathlib_header(real_lean: ReplCheckerConfig) -> str:
    assert real_lean.project_dir is not None
    if not (real_lean.project_dir / ".lake" / "packages" / "mathlib").is_dir():
        pytest.skip(f"{real_lean.project_dir} does not depend on Mathlib (`lake exe cache get` after adding it)")
    return "import Mathlib\nopen Real"


def test_core_statements(real_lean: ReplCheckerConfig) -> None:
    statements = [
        "theorem base_ok (n : Nat) : n + 0 = n := sorry",
        "theorem parse_error (n : Nat) : n + = n := sorry",
        'theorem type_error (n : Nat) : n + "a" = n := sorry',
        "theorem multi_line (a b : Nat)\n    (h : a ≤ b) :\n    a < b + nonexistent_constant := sorry",
    ]
    with ReplChecker(real_lean) as checker:
        results = checker.check_sync(statements, "")
        pids = checker.worker_pids
    assert [r.status for r in results] == [
        CheckStatus.OK,
        CheckStatus.ERROR,
        CheckStatus.ERROR,
        CheckStatus.ERROR,
    ]
    assert [m.line for m in results[1].messages if m.is_error] == [1]
    assert [m.line for m in results[3].messages if m.is_error] == [3]  # relative to the statement
    children = {p.pid for p in psutil.Process().children(recursive=True)}
    assert not children & set(pids)


def test_mathlib_statements(real_lean: ReplCheckerConfig, mathlib_header: str) -> None:
    statements = [
        "theorem sqrt_sq' (x : ℝ) (h : 0 ≤ x) : Real.sqrt (x ^ 2) = x := sorry",
        "theorem bogus (x : ℝ) : Real.not_a_function x = x := sorry",
    ]
    with ReplChecker(real_lean) as checker:
        results = checker.check_sync(statements, mathlib_header)
    assert [r.status for r in results] == [CheckStatus.OK, CheckStatus.ERROR]
