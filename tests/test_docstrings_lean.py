"""`autoformal docstrings` on real Lean (the core-only Lean of /work/shared/lean, or any Lean project): the
declarations generated for `examples/docstrings/algorithms.py` name core types, so they elaborate without
Mathlib. Verdicts are read from severity only. Skipped with the reason without real Lean."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from docstrings_translation_support import (
    CORRECT,
    DIFFERENTIAL,
    PLAN,
    REPAIRS,
    SMALL,
    TranslationResponder,
    assert_differential,
    translate_small,
)

from autoformal.checking import ReplChecker, ReplCheckerConfig
from autoformal.checking.gate import TrustedContextGate, with_context
from autoformal.checking.semantic import SemanticChecker
from autoformal.config import FormalizerConfig
from autoformal.docstrings import TypeOptions, formalize_docstrings, plan_docstrings, render_lean
from autoformal.docstrings.modelling import TranslationConfig
from autoformal.docstrings.spec import translate_docstrings
from autoformal.docstrings.translate import one_line as _one_line
from autoformal.llm import OpenAIBackendConfig
from autoformal.pipeline import Formalizer
from autoformal.testing.openai_server import OpenAIStubServer

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


def _formalizer_config(server: OpenAIStubServer, real_lean: ReplCheckerConfig, tmp_path: Path) -> FormalizerConfig:
    return FormalizerConfig(
        backend=OpenAIBackendConfig(base_url=server.base_url, model=server.model),
        checker=real_lean,
        header="",
        cache_path=tmp_path / "cache.sqlite",
        samples=1,
        retrieval="off",
        examples=0,
        backtranslation=False,
        names=None,
    )


def test_translations_are_kernel_checked_and_specs_refer_to_the_accepted_defs(
    real_lean: ReplCheckerConfig, tmp_path: Path
) -> None:
    responder = TranslationResponder(PLAN)
    options = TypeOptions(declaration_keyword="constant")
    report = plan_docstrings(SMALL, header="", options=options)
    with OpenAIStubServer(responder) as server, Formalizer(_formalizer_config(server, real_lean, tmp_path)) as fz:
        assert fz.checker is not None
        asyncio.run(
            translate_docstrings(
                report,
                fz.backend,
                SemanticChecker(fz.checker),
                options=options,
                config=TranslationConfig(samples=3, repair_rounds=0),  # the repair flow: the next test
                differential=DIFFERENTIAL,
            )
        )
        models = {f.qualname: f.model for f in report.functions if f.model is not None}
        asyncio.run(formalize_docstrings(report, fz))
    assert set(models) == set(CORRECT)
    for name in ("sum_list", "max_of_two", "reverse_list", "count_evens"):
        model = models[name]
        assert model.accepted == _one_line(CORRECT[name]), (name, model.why_none)
        assert model.doctests_passed >= 1 and model.doctests_failed == 0 and model.doctests_skipped == 0
    # sum_list: the off-by-one elaborates but fails its doctests, with Lean's message kept; `partial` is refused.
    sum_list = models["sum_list"]
    assert sum_list.accepted_sample == 2 and any("partial" in r for r in sum_list.refused)
    wrong = next(c for c in sum_list.candidates if c.sample == 0)
    assert wrong.elaborates and not wrong.acceptable
    assert [v.example.origin for v in wrong.failed] == ["docstring"] * 2 + ["differential"] * DIFFERENTIAL.examples
    assert all(v.lean_message for v in wrong.failed)
    # clamp: the attribute is refused, the off-by-one fails `clamp(5, 0, 3) == 3`: no def, opaque fallback.
    clamp = models["clamp"]
    assert clamp.accepted is None and clamp.why_none and "small.clamp 5 0 3 = 3" in clamp.why_none
    assert any("@[" in r for r in clamp.refused)
    assert clamp.candidates[0].failed[0].example.prop == "small.clamp 5 0 3 = 3"
    assert_differential(models)
    # The file: defs with their proved examples, the fallback said so, spec theorems about the defs.
    text = render_lean(report).text
    assert _one_line(CORRECT["sum_list"]) in text and "constant small.sum_list" not in text
    assert "example : small.sum_list [3, 1, 2] = 6 := by decide" in text
    assert "-- FALLBACK to opaque for `small.clamp`" in text and "constant small.clamp : Int → Int → Int → Int" in text
    specs = {f.qualname: f.claims for f in report.functions}
    assert specs["sum_list"][0].result is not None and specs["sum_list"][0].result.best is not None
    assert "small.sum_list" in specs["sum_list"][0].result.best.statement
    assert specs["sum_list"][0].result.best.elaborated  # elaborated against the def, in the trusted context
    # The whole file elaborates on real Lean (exit status only, no message wording).
    lean_file = tmp_path / "Specs.lean"
    lean_file.write_text(text, encoding="utf-8")
    assert real_lean.project_dir is not None and real_lean.lake_path is not None
    run = subprocess.run(
        [str(real_lean.lake_path), "env", "lean", str(lean_file)],
        cwd=real_lean.project_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_def_failing_its_examples_is_repaired_on_real_lean(real_lean: ReplCheckerConfig) -> None:
    """clamp's only surviving sample is off by one: its failing examples and shrunk counterexample go back to
    the model, and the corrected def passes every doctest and differential example in the kernel."""
    report, responder = translate_small(real_lean, REPAIRS)
    clamp = next(f.model for f in report.functions if f.qualname == "clamp")
    assert clamp is not None and len(responder.repair_requests) == 1
    (repair,) = clamp.repairs
    assert repair.outcome == "acceptable" and repair.parent == 1 and repair.cause.failed_examples
    assert repair.cause.counterexample is not None and repair.cause.counterexample.lean == "small.clamp 1 0 0 = 0"
    assert clamp.accepted == _one_line(CORRECT["clamp"]) and clamp.accepted_sample == repair.sample
    assert clamp.doctests_passed == 3 and clamp.doctests_failed == 0
    assert clamp.examples_tried == clamp.examples_agreed == DIFFERENTIAL.examples
