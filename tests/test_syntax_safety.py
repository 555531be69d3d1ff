"""The safety gate: accepts exactly one sorry-proved theorem (after a small def/abbrev preamble), nothing else.

Fuzzed with hypothesis: texts mixing statement fragments, command keywords, comments, strings and char
literals must never be accepted when they contain a forbidden command, and the gate must never raise.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoformal import check_safe, parse_document

SAFE = [
    "theorem t (x : ℝ) (h : 0 < x) : x / x = 1 := sorry",
    "lemma l : ∀ n : ℕ, n + 0 = n := by sorry",
    "example : (2 : ℤ) ∣ 4 := by\n  sorry",
    "abbrev answer : ℕ := 12\n\ntheorem t (S : Finset ℕ) (h : ∀ n, n ∈ S ↔ n ∣ 12) : S.card = answer := sorry",
    "noncomputable def f : ℝ → ℝ := fun x => x ^ 2\ntheorem t : f 2 = 4 := sorry",
    "theorem t : ∃ x : Fin 3, x = ⟨1, by norm_num⟩ := sorry",
    'theorem t : "ab".length = 2 := sorry',
]

UNSAFE = {
    "#eval IO.println \"pwned\"": "#eval",
    "theorem t : 1 = 1 := sorry\n#eval 1": "#eval",
    "theorem t : 1 = 1 := sorry #print axioms t": "#print",
    "run_cmd Lean.logInfo \"x\"": "run_cmd",
    "macro \"foo\" : term => `(1)\ntheorem t : 1 = 1 := sorry": "macro",
    "elab \"foo\" : term => return default": "elab",
    "syntax \"foo\" : term": "syntax",
    "notation \"ℵ\" => 1\ntheorem t : ℵ = 1 := sorry": "notation",
    "import Mathlib\ntheorem t : 1 = 1 := sorry": "import",
    "set_option maxHeartbeats 0 in\ntheorem t : 1 = 1 := sorry": "set_option",
    "open Lean in\ntheorem t : 1 = 1 := sorry": "open",
    "unsafe def f : ℕ := 1\ntheorem t : f = 1 := sorry": "unsafe",
    "@[implemented_by foo] def f : ℕ := 1\ntheorem t : f = 1 := sorry": "@[",
    "@[simp] theorem t : 1 = 1 := sorry": "@[",
    "initialize foo : IO.Ref ℕ ← IO.mkRef 0": "initialize",
    "theorem t : 1 = 1 := by native_decide": "native_decide",
    "theorem t : 1 = 1 := by run_tac pure ()": "run_tac",
    "theorem t : (by_elab pure (Lean.mkNatLit 1) : ℕ) = 1 := sorry": "by_elab",
    "theorem t : 1 = 1 := by decide": "proof",
    "theorem t : 1 = 1 := rfl": "proof",
    "theorem a : 1 = 1 := sorry\ntheorem b : 2 = 2 := sorry": "exactly one",
    "def f := 1": "exactly one",
    "instance : Inhabited ℕ := ⟨0⟩\ntheorem t : 1 = 1 := sorry": "instance",
    "theorem t : 1 = 1 := sorry\ndef g := 2": "last declaration",
    "def g : ℕ := by exact 2\ntheorem t : g = 2 := sorry": "term body",
    "theorem t : 1 = 1": "no proof",
    "theorem t : (1 = 1 := sorry": "does not parse",
    # desynchronisation attempts: Lean reads `#eval` where a naive comment stripper would not
    "theorem t : f '\"' = 1 := sorry -- \"\n#eval 1": "#eval",
    "theorem t : r#\" \" -- \"# = 1 := sorry": "`r#`",
    "theorem t : 1 = 1 := sorry /- -/ #exit": "#exit",
    "theorem t\u202e : 1 = 1 := sorry": "bidirectional",
    "theorem t : 1 = 1 := sorry\x00": "control",
}


@pytest.mark.parametrize("text", SAFE)
def test_accepts_safe_statements(text: str) -> None:
    verdict = check_safe(text)
    assert verdict.ok, verdict.reason
    assert verdict.reason == "safe"


@pytest.mark.parametrize(("text", "why"), list(UNSAFE.items()))
def test_rejects_unsafe_statements_with_a_reason(text: str, why: str) -> None:
    verdict = check_safe(text)
    assert not verdict.ok
    assert why in verdict.reason, verdict.reason


@pytest.mark.parametrize("junk", [None, 3, b"\xff\xfe", b"theorem t : 1 = 1 := sorry", "", "   ", "x" * 50_000])
def test_never_raises_on_any_input(junk: object) -> None:
    verdict = check_safe(junk)
    assert verdict.ok is (junk == b"theorem t : 1 = 1 := sorry")


# ---------------------------------------------------------------- fuzzing
FRAGMENTS = [
    "theorem t (x : ℕ) : x = x := sorry",
    "abbrev a : ℕ := 1",
    "def d (n : ℕ) : ℕ := n",
    ":= sorry",
    ":= by sorry",
    "(h : 0 < 1)",
    "∀ x, x = x",
    "⟨1, by simp⟩",
    "-- comment",
    "/- block -/",
    "/-",
    "-/",
    '"string"',
    '"',
    "'\"'",
    "'a'",
    "\n",
    " ",
    "«weird name»",
]
COMMANDS = [
    "#eval 1", "#print t", "#exit", "run_cmd pure ()", "run_tac skip", "macro", "macro_rules", "syntax", "elab",
    "elab_rules", "notation", "infixl", "import Lean", "set_option pp.all true", "open Lean", "unsafe", "partial",
    "@[simp]", "@[implemented_by f]", "initialize", "builtin_initialize", "instance", "attribute [simp] t",
    "native_decide", "by_elab", "deriving Repr", "declare_syntax_cat", "IO.println", "Lean.Elab.Command",
]
FORBIDDEN_ORACLE = re.compile(
    r"#[A-Za-z]|run_cmd|run_tac|macro|syntax|\belab|notation|infixl|import|set_option|\bopen\b|unsafe|partial|@\["
    r"|initialize|instance|attribute|native_decide|by_elab|deriving|declare_syntax_cat|IO\.|Lean\.Elab"
)



def without_comments(text: str) -> str:
    """The text as Lean executes it: line and (nested) block comments removed, string literals kept. An
    independent little lexer, so the oracle does not trust the lexing it is testing."""
    out: list[str] = []
    i, depth, in_string = 0, 0, False
    while i < len(text):
        two = text[i : i + 2]
        if depth:
            depth += 1 if two == "/-" else -1 if two == "-/" else 0
            i += 2 if two in ("/-", "-/") else 1
        elif in_string:
            in_string = text[i] != '"'
            out.append(text[i : i + 2] if text[i] == "\\" else text[i])
            i += 2 if text[i] == "\\" else 1
        elif two == "--":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif two == "/-":
            depth, i = 1, i + 2
        else:
            in_string = text[i] == '"'
            out.append(text[i])
            i += 1
    return "".join(out)


fuzz_texts = st.lists(st.sampled_from(FRAGMENTS) | st.sampled_from(COMMANDS), min_size=1, max_size=8).flatmap(
    lambda parts: st.sampled_from([" ", "\n", ""]).map(lambda sep: sep.join(parts))
)


@settings(max_examples=1500, deadline=None)
@given(fuzz_texts)
def test_fuzzed_texts_with_commands_are_never_accepted(text: str) -> None:
    verdict = check_safe(text)
    if verdict.ok:
        assert not FORBIDDEN_ORACLE.search(without_comments(text)), text
        doc = parse_document(text)
        assert sum(d.is_theorem for d in doc.declarations) == 1 and not doc.commands
        assert doc.declarations[-1].is_theorem


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    verdict = check_safe(text)
    assert isinstance(verdict.ok, bool) and verdict.reason
