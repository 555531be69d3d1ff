"""Lean as a semantic judge: equivalence and probes, on the real core Lean (marked `lean`, skipped without it)
and on the stand-in REPL (always). The same flows run on both."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoformal.cache import Cache
from autoformal.checking import ReplChecker, ReplCheckerConfig, find_lake
from autoformal.checking.equivalence import Verdict, equivalent, equivalent_many
from autoformal.checking.portfolio import DIRECTION_SCRIPTS, ProofScript, is_portfolio_script
from autoformal.checking.probes import probe, probe_many
from autoformal.checking.semantic import SemanticChecker, SemanticConfig
from autoformal.checking.trusted import (
    TRUSTED_BASE_COMMAND,
    AttemptStatus,
    ProofJob,
    TrustedProp,
    UntrustedStatementError,
)
from autoformal.testing.standin_repl import StandinInstall, install_standin, read_log

BASE = "theorem base (n m : Nat) (h₁ : n < m) (h₂ : m < 10) : n < 10 := sorry"
ALPHA = "theorem other (a b : Nat) (h₁ : a < b) (h₂ : b < 10) : a < 10 := sorry"
REGROUPED = "theorem grouped (n : Nat) (m : Nat) : n < m → m < 10 → n < 10 := sorry"
REORDERED = "theorem swapped (n m : Nat) (h₂ : m < 10) (h₁ : n < m) : n < 10 := sorry"
# Unprovable on their own, so only the assumed statement can prove them.
STRONG = "theorem strong (f : Nat → Nat) : f 0 = f 1 := sorry"
WEAK = "theorem weak (f : Nat → Nat) (h : f 0 = 0) : f 0 = f 1 := sorry"
UNRELATED = "theorem unrelated (l : List Nat) : l.length = 3 := sorry"
VACUOUS = "theorem vac (n : Nat) (h : 2 + 2 = 5) : n = 7 := sorry"
CONTRADICTORY = "theorem contra (p : Prop) (h : p) (h' : ¬p) (n : Nat) : n = 3 := sorry"
REFUTED = "theorem false_sum : 2 + 2 = 5 := sorry"
TRIVIAL = "theorem true_sum : 2 + 2 = 4 := sorry"
PLAIN = "theorem plain (f : Nat → Nat) (h : f 0 = 0) : f 1 = 0 := sorry"
MISSING_IN_CORE = {"simpa", "convert", "omega", "linarith", "norm_num", "aesop"}


def _standin_config(tmp_path: Path) -> tuple[ReplCheckerConfig, StandinInstall]:
    install = install_standin(tmp_path / "proj", log_path=tmp_path / "requests.jsonl")
    config = ReplCheckerConfig(
        project_dir=install.directory, repl_dir=install.directory, lake_path=install.lake, num_workers=2, timeout_s=10
    )
    return config, install


def _real_config() -> ReplCheckerConfig:
    lake = find_lake()
    project = os.environ.get("AUTOFORMAL_LEAN_PROJECT")
    if lake is None or not project:
        pytest.skip(
            'no real Lean: run `eval "$(../shared/lean/install-core-lean)"` (sets PATH and AUTOFORMAL_LEAN_PROJECT)'
        )
    return ReplCheckerConfig(project_dir=Path(project), lake_path=lake, num_workers=2, timeout_s=60)


@pytest.fixture(scope="module", params=["standin", pytest.param("lean", marks=pytest.mark.lean)])
def semantic(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SemanticChecker]:
    if request.param == "lean":
        config = _real_config()
    else:
        config, _ = _standin_config(tmp_path_factory.mktemp("standin"))
    with ReplChecker(config) as checker:
        yield SemanticChecker(checker, config=SemanticConfig(timeout_s=30))


def _verdict(semantic: SemanticChecker, a: str, b: str) -> Verdict:
    return equivalent(a, b, "", checker=semantic).verdict


def test_renamed_regrouped_and_reordered_statements_are_equivalent(semantic: SemanticChecker) -> None:
    assert _verdict(semantic, BASE, ALPHA) is Verdict.EQUIVALENT
    assert _verdict(semantic, BASE, REGROUPED) is Verdict.EQUIVALENT
    result = equivalent(BASE, REORDERED, "", checker=semantic)
    assert result.verdict is Verdict.EQUIVALENT
    assert result.method == "lean"  # not the same canonical form: Lean proved both directions
    assert result.a_to_b.tactic is not None and "apply H" in result.a_to_b.tactic
    assert result.b_to_a.proved


def test_strengthened_or_weakened_statement_gives_one_direction(semantic: SemanticChecker) -> None:
    forward = equivalent(STRONG, WEAK, "", checker=semantic)
    assert forward.verdict is Verdict.A_IMPLIES_B
    assert forward.a_to_b.proved and not forward.b_to_a.proved
    assert _verdict(semantic, WEAK, STRONG) is Verdict.B_IMPLIES_A


def test_unrelated_statements_are_unknown_and_missing_tactics_inconclusive(semantic: SemanticChecker) -> None:
    result = equivalent(STRONG, UNRELATED, "", checker=semantic)
    assert result.verdict is Verdict.UNKNOWN
    statuses = {a.script: a.status for a in result.a_to_b.attempts}
    # Every portfolio script is accounted for: tried and failed, or inconclusive because this Lean lacks it.
    assert set(statuses) >= {s.name for s in DIRECTION_SCRIPTS}
    assert AttemptStatus.PROVED not in statuses.values()
    assert statuses["exact"] is AttemptStatus.FAILED
    assert statuses["simpa_using"] is AttemptStatus.UNAVAILABLE  # core Lean (and the stand-in) lack simpa
    assert "simpa_using" in result.a_to_b.inconclusive


def test_core_lean_lacks_the_mathlib_tactics(semantic: SemanticChecker) -> None:
    from autoformal.checking.protocol import run_coroutine_sync

    available = run_coroutine_sync(lambda: semantic.available(""))
    assert {"exact", "intros", "apply", "assumption", "decide", "simp", "rfl"} <= available
    assert not available & MISSING_IN_CORE


def test_ill_typed_statement_is_an_error(semantic: SemanticChecker) -> None:
    result = equivalent(BASE, "theorem bad (n : Nat) : n + undefined_thing = n := sorry", "", checker=semantic)
    assert result.verdict is Verdict.ERROR
    assert result.detail is not None and "statement B" in result.detail


def test_probes_flag_vacuous_refuted_and_trivial(semantic: SemanticChecker) -> None:
    reports = dict(
        zip(
            ["vacuous", "contradictory", "refuted", "trivial", "plain"],
            _probe_all(semantic, [VACUOUS, CONTRADICTORY, REFUTED, TRIVIAL, PLAIN]),
            strict=True,
        )
    )
    assert reports["vacuous"].vacuous.found and reports["vacuous"].vacuous.tactic
    assert reports["contradictory"].vacuous.found
    assert reports["refuted"].refuted.found and reports["refuted"].refuted.tactic
    assert not reports["refuted"].trivial.found
    assert reports["trivial"].trivial.found and not reports["trivial"].refuted.found
    assert reports["plain"].flags == {}
    assert all(r.error is None for r in reports.values())
    norm_num = [a for a in reports["plain"].trivial.attempts if a.script == "norm_num"]
    assert norm_num and norm_num[0].status is AttemptStatus.UNAVAILABLE


def _probe_all(semantic: SemanticChecker, statements: list[str]) -> list:
    from autoformal.checking.protocol import run_coroutine_sync

    return run_coroutine_sync(lambda: probe_many(semantic, statements, ""))


# ------------------------------------------------------------------------------------------ stand-in only


def test_verdicts_are_cached_by_canonical_form(tmp_path: Path) -> None:
    config, install = _standin_config(tmp_path)
    cache = Cache(tmp_path / "cache.sqlite")
    with ReplChecker(config) as checker:
        semantic = SemanticChecker(checker, cache=cache, environment="standin")
        first = equivalent(BASE, REORDERED, "", checker=semantic)
        assert install.log_path is not None
        sent = len(read_log(install.log_path))
        # Same statements spelled differently (names, binder grouping): same canonical forms, answered from cache.
        again = equivalent(
            ALPHA, "theorem z (x y : Nat) (h : y < 10) (g : x < y) : x < 10 := sorry", "", checker=semantic
        )
        assert again == first
        assert len(read_log(install.log_path)) == sent
        assert cache.count("equiv") == 1


def test_equivalent_many_keeps_input_order_with_errors(tmp_path: Path) -> None:
    from autoformal.checking.protocol import run_coroutine_sync

    config, _ = _standin_config(tmp_path)
    with ReplChecker(config) as checker:
        semantic = SemanticChecker(checker)
        pairs = [(BASE, ALPHA), ("not lean at all", BASE), (STRONG, WEAK)]
        results = run_coroutine_sync(lambda: equivalent_many(semantic, pairs, ""))
    assert [r.verdict for r in results] == [Verdict.EQUIVALENT, Verdict.ERROR, Verdict.A_IMPLIES_B]
    assert results[0].method == "canonical"


SMUGGLING = [
    "theorem t : True := by exact trivial",  # a proof instead of sorry
    "theorem t : True := by\n  exact trivial",
    "theorem t : True := sorry\n#eval IO.println 1",  # a command after the statement
    "theorem t : True := sorry\ntheorem u : False := by exact absurd",  # a second theorem
    "theorem t (h : (by exact True.intro : True)) : True := sorry",  # a tactic block inside the statement
    "theorem t : (sorry : Prop) := sorry",  # sorry as the statement
    "theorem t : True -- := by exact True.intro\n := sorry",  # a proof hidden in a comment
    "theorem t : True /- := by\n exact True.intro -/ := sorry",
    "theorem t : True := sorry -- by exact True.intro",
    "set_option maxHeartbeats 0 in\ntheorem t : True := sorry",
    "theorem t : True := sorry\nend autoformal_goal\ntheorem x : False := sorry",
]


def test_statement_text_cannot_smuggle_tactics_or_commands(tmp_path: Path) -> None:
    """Whatever a candidate says, what reaches Lean is our rendering of its parse tree plus portfolio scripts:
    rejected texts send nothing, accepted ones arrive as one printed line with no comment and no tactic."""
    config, install = _standin_config(tmp_path)
    with ReplChecker(config) as checker:
        semantic = SemanticChecker(checker)
        for text in SMUGGLING:
            try:
                accepted = TrustedProp.from_statement(text)
            except UntrustedStatementError:
                accepted = None
            verdict = equivalent(text, BASE, "", checker=semantic).verdict
            report = probe(text, "", checker=semantic)
            if accepted is None:
                assert verdict is Verdict.ERROR and report.error is not None
            else:  # only comments were in the way: the statement is what remains, `True`
                assert accepted.prop == "True" and report.trivial.found
    assert install.log_path is not None
    commands = [e["request"]["cmd"] for e in read_log(install.log_path) if "request" in e]
    for cmd in commands:
        if cmd == TRUSTED_BASE_COMMAND:  # ours: the base environment under an empty header
            continue
        assert "#eval" not in cmd and "--" not in cmd and "/-" not in cmd and "maxHeartbeats 0" not in cmd
        assert "exact trivial" not in cmd and "exact absurd" not in cmd and "theorem x" not in cmd
        statement_lines = [line for line in cmd.splitlines() if line.startswith("theorem ")]
        assert len(statement_lines) == 1, cmd
        # the statement part is a printed proposition followed by `:= sorry` or `:= by` + a portfolio script
        assert statement_lines[0].endswith((":= sorry", ":= by")), cmd
    # the comment-wrapped statements were accepted, re-printed without their comments
    assert any("theorem goal : True := sorry" in c or "theorem hyp : True := sorry" in c for c in commands)


def test_only_portfolio_scripts_can_be_sent() -> None:
    goal = TrustedProp.from_statement(BASE)
    forged = ProofScript("exact", ("exact H", "exact trivial"), frozenset())
    assert not is_portfolio_script(forged)
    with pytest.raises(UntrustedStatementError):
        ProofJob(goal=goal, scripts=(forged,))
    lookalike = ProofScript(DIRECTION_SCRIPTS[0].name, DIRECTION_SCRIPTS[0].lines, DIRECTION_SCRIPTS[0].requires)
    assert is_portfolio_script(lookalike)  # equal to a portfolio script: the same text


def test_trusted_prop_rejects_tactics_and_sorry_in_the_statement() -> None:
    for text in SMUGGLING[:6]:
        with pytest.raises(UntrustedStatementError):
            TrustedProp.from_statement(text)
    with pytest.raises(UntrustedStatementError):
        TrustedProp(prop="True := by exact trivial")  # hand-built: the validator re-runs the gate
    prop = TrustedProp.from_statement(SMUGGLING[6])
    assert prop.prop == "True"


def test_unknown_tactic_is_inconclusive_never_a_proof(tmp_path: Path) -> None:
    """On a Lean without `omega`, a job whose only script needs it is not sent and proves nothing."""
    config, _ = _standin_config(tmp_path)
    with ReplChecker(config) as checker:
        semantic = SemanticChecker(checker)
        from autoformal.checking.portfolio import VACUITY_SCRIPTS
        from autoformal.checking.protocol import run_coroutine_sync

        available = run_coroutine_sync(lambda: semantic.available(""))
        goal = TrustedProp.from_statement(VACUOUS).hypotheses_to_false()
        assert goal is not None
        omega = [s for s in VACUITY_SCRIPTS if s.name == "omega"]
        job, missing = semantic.job(goal, omega, available)
        assert job is None
        assert [m.status for m in missing] == [AttemptStatus.UNAVAILABLE]
        # Sent anyway (bypassing the availability filter), the unknown tactic is a failure, not a proof.
        forced = ProofJob(goal=goal, scripts=tuple(omega))
        outcome = checker.run_trusted_sync([forced], "")[0]
        assert outcome.proved_by is None
        assert [a.status for a in outcome.attempts] == [AttemptStatus.FAILED]


def test_a_hanging_statement_is_charged_to_itself(tmp_path: Path) -> None:
    """Per-command timeout: the worker is killed, that job is an error naming the timeout, the pool goes on."""
    config, _ = _standin_config(tmp_path)
    config = config.model_copy(update={"num_workers": 1})
    from autoformal.checking.portfolio import TRIVIAL_SCRIPTS

    hang = TrustedProp.from_statement("theorem t (x : standin_fault_hang) : x = x := sorry")
    fine = TrustedProp.from_statement(TRIVIAL)
    with ReplChecker(config) as checker:
        jobs = [ProofJob(goal=g, scripts=TRIVIAL_SCRIPTS[1:2], timeout_s=1.0) for g in (hang, fine)]
        hung, ok = checker.run_trusted_sync(jobs, "")
    assert not hung.goal_ok and hung.detail is not None and "1 s" in hung.detail
    assert ok.proved_by is not None and ok.proved_by.script == "decide"
