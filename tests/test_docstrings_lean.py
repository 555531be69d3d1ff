"""`autoformal docstrings` on real Lean (the core-only Lean of /work/shared/lean, or any Lean project): the
declarations generated for `examples/docstrings/algorithms.py` name core types, so they elaborate without
Mathlib. Verdicts are read from severity only. Skipped with the reason without real Lean."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoformal.checking import ReplChecker, ReplCheckerConfig
from autoformal.checking.gate import TrustedContextGate, with_context
from autoformal.docstrings import TypeOptions, plan_docstrings

pytestmark = pytest.mark.lean

ALGORITHMS = Path(__file__).resolve().parents[1] / "examples" / "docstrings" / "algorithms.py"


def test_algorithm_declarations_elaborate_on_core_lean(real_lean: ReplCheckerConfig) -> None:
    # The shipped core Lean predates the 2022 rename of `constant` to `opaque`.
    report = plan_docstrings(ALGORITHMS, header="", options=TypeOptions(declaration_keyword="constant"))
    declared = {d.name: d.type for d in report.declarations}
    assert declared["algorithms.insertion_sort"] == "List Int → List Int"
    assert declared["algorithms.word_counts"] == "String → List (String × Int)"
    assert not any("ℤ" in d.type for d in report.declarations)
    mathlib_spelling = report.context.replace("Int", "ℤ")  # what was generated before: needs Mathlib
    gate = TrustedContextGate()
    gate.register(report.context)
    gate.register(mathlib_spelling)
    probe = "theorem declarations_elaborate : algorithms.gcd 12 18 = algorithms.gcd 12 18 := sorry"
    with ReplChecker(real_lean, safety_gate=gate) as checker:
        core, mathlib = checker.check_sync(
            [with_context(report.context, probe), with_context(mathlib_spelling, probe)], ""
        )
    assert core.ok, [m.text for m in core.messages if m.is_error]
    assert not mathlib.ok and any(m.is_error for m in mathlib.messages)
