"""`extract_statements` on realistic, messy model output."""

from __future__ import annotations

from autoformal import check_safe, extract_statements, parse_document

FENCED_WITH_PROOF = """Sure! Let me formalize this.

```lean4
import Mathlib
open Real

/-- The sum of two squares is nonnegative. -/
theorem sq_add_sq_nonneg (a b : ℝ) : 0 ≤ a ^ 2 + b ^ 2 := by
  positivity
```
This uses `positivity`.
"""


def test_fenced_statement_with_proof_gets_sorry() -> None:
    assert extract_statements(FENCED_WITH_PROOF) == ["theorem sq_add_sq_nonneg (a b : ℝ) : 0 ≤ a ^ 2 + b ^ 2 := sorry"]


def test_reasoning_trace_is_ignored_and_prose_is_stripped() -> None:
    out = (
        "<think>Maybe theorem wrong : 1 = 2 := rfl? No.</think>\n"
        "The statement is:\ntheorem t (n : ℕ) (h : 0 < n) : n ≠ 0 := by omega\nwhich is easy."
    )
    assert extract_statements(out) == ["theorem t (n : ℕ) (h : 0 < n) : n ≠ 0 := sorry"]


def test_unclosed_reasoning_trace_yields_nothing() -> None:
    assert extract_statements("<think>theorem t : 1 = 1 := rfl and then I ran out of tok") == []


def test_several_candidates_in_order_and_deduplicated() -> None:
    out = """```lean
theorem a1 : 2 + 2 = 4 := by norm_num
```
```lean
theorem a2 (x : ℕ) : x + 0 = x := by simp
lemma a3 : True := trivial
```
```lean
theorem a1 : 2 + 2 = 4 := by decide
```"""
    assert extract_statements(out) == [
        "theorem a1 : 2 + 2 = 4 := sorry",
        "theorem a2 (x : ℕ) : x + 0 = x := sorry",
        "lemma a3 : True := sorry",
    ]


def test_answer_preamble_travels_with_its_theorem() -> None:
    out = """```lean
abbrev answer : ℕ := 12 -- the count

theorem count (S : Finset ℕ) (h : ∀ n, n ∈ S ↔ n ∣ 12) : S.card = answer := by
  sorry
```"""
    [statement] = extract_statements(out)
    assert statement == (
        "abbrev answer : ℕ := 12\n\n"
        "theorem count (S : Finset ℕ) (h : ∀ n, n ∈ S ↔ n ∣ 12) : S.card = answer := sorry"
    )
    assert check_safe(statement).ok
    doc = parse_document(statement)
    assert [d.name for d in doc.preamble] == ["answer"]


def test_nested_comments_and_line_comments_inside_statement() -> None:
    out = """```lean
theorem c /- a /- nested -/ note -/ (x : ℝ) -- the variable
    (hx : 0 < x) : -- hypothesis done
    x / x = 1 := by field_simp
```"""
    [statement] = extract_statements(out)
    assert "nested" not in statement and "--" not in statement
    assert statement.endswith("x / x = 1 := sorry")
    assert check_safe(statement).ok


def test_truncated_output_mid_statement_is_dropped() -> None:
    out = "```lean\ntheorem good : 1 + 1 = 2 := by norm_num\n```\n```lean\ntheorem cut (x : ℝ) : x ^ 2 ≥"
    assert extract_statements(out) == ["theorem good : 1 + 1 = 2 := sorry"]


def test_statement_without_proof_is_completed_when_it_parses() -> None:
    out = "```lean\ntheorem noproof (x : ℕ) : x ≤ x + 1\n```"
    assert extract_statements(out) == ["theorem noproof (x : ℕ) : x ≤ x + 1 := sorry"]


def test_let_binding_in_statement_is_not_taken_for_the_proof() -> None:
    out = "```lean\ntheorem l (x : ℕ) : let y := x + 1; y > x := by simp\n```"
    assert extract_statements(out) == ["theorem l (x : ℕ) : let y := x + 1; y > x := sorry"]


def test_unicode_and_bytes_input() -> None:
    out = "```lean\ntheorem ü (α : Type*) [Fintype α] (h₀ : Fintype.card α = 3) : ∃ a b : α, a ≠ b := by sorry\n```"
    assert extract_statements(out.encode("utf-8")) == [
        "theorem ü (α : Type*) [Fintype α] (h₀ : Fintype.card α = 3) : ∃ a b : α, a ≠ b := sorry"
    ]


def test_garbage_gives_nothing() -> None:
    for junk in ["", "no lean here", "```python\nprint('theorem')\n```", "theorem", "\x00\xff" * 10]:
        assert extract_statements(junk) == []
