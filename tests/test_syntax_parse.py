"""The statement grammar on hand-written statements covering the constructs real formal statements use."""

from __future__ import annotations

import json

import pytest

from autoformal import StatementSyntaxError, parse_document, parse_statement
from autoformal.syntax import pretty
from autoformal.syntax.lexing import blank_comments, terminate_let_lines
from autoformal.syntax.terms import Term

# Each statement exercises a construct from the grammar's coverage list; all must parse.
COVERAGE = [
    "theorem t1 (x y : ℝ) {n : ℕ} [Fintype α] ⦃k : ℕ⦄ [inst : Field F] : x + y = y + x := by sorry",
    "lemma t2 : ∀ x : ℕ, ∃ y, y > x := sorry",
    "example : ∃! n : ℕ, n = 0 := sorry",
    "theorem t4 : (fun x => x + 1) 2 = 3 ∧ (λ x ↦ x) 1 = 1 ∧ (fun (x : ℕ) (y : ℕ) => x) 1 2 = 1 := sorry",
    "theorem t5 : ∀ x ∈ S, ∃ y > 0, x < y := sorry",
    "theorem t6 : {x : ℝ | 0 < x} = {x | x > 0} ∧ {x ∈ S | x > 1} ⊆ S := sorry",
    "theorem t7 (s : Finset ℕ) : ∑ x ∈ s, x = ∑ x in s, x ∧ ∏ i in Finset.range 3, (i + 1) = 6 := sorry",
    "theorem t8 (s : ℕ → Set ℝ) : ⋃ i, s i = ⋃ i ∈ Set.univ, s i ∧ ⋂ i, s i ⊆ s 0 := sorry",
    "theorem t9 (x : ℝ) : |x| ≥ 0 ∧ ‖x‖ = |x| ∧ ⌊x⌋ ≤ x ∧ x ≤ ⌈x⌉ ∧ (⌊x⌋₊ : ℝ) ≥ 0 := sorry",
    "theorem t10 (n : ℕ) : (2 : ℝ) ^ n = ↑(2 ^ n) ∧ ((↑) : ℕ → ℝ) n = n := sorry",
    "theorem t11 (x : ℝ) (hx : x ≠ 0) : x⁻¹ * x = 1 ∧ (3)! = 6 ∧ √4 = 2 := sorry",
    "theorem t12 (f g : ℕ → ℕ) (v : Fin 2 → ℝ) : (f ∘ g) 0 = f (g 0) ∧ (2 : ℝ) • v = v + v := sorry",
    "theorem t13 (p q : Prop) : (p → q) ↔ (¬q → ¬p) ∨ p ∧ q := sorry",
    "theorem t14 (a b : ℕ) : a ∣ b → a ≤ b ∨ b = 0 ∧ a % 2 < 2 := sorry",
    "theorem t15 (A B : Set ℕ) : A ∩ B ⊆ A ∪ B ∧ A \\ B ⊂ A ∨ 1 ∉ A ∧ A ×ˢ B = ∅ := sorry",
    "theorem t16 (p : ℕ × ℕ) : p = ⟨p.1, p.2⟩ ∧ (p.fst, p.snd) = p := sorry",
    "theorem t17 (n : ℕ) : (if n = 0 then 1 else n) > 0 := sorry",
    "theorem t18 : ({1, 2, 3} : Finset ℕ).card = 3 ∧ [1, 2].length = 2 := sorry",
    "theorem t19 (x : ℕ ⊕ ℕ) (h : x = .inl 0) : x.isLeft := sorry",
    "theorem t20 (h₀ : x' = 1) (h₁ : «my var» = 2) : x' + «my var» = 3 := sorry",
    "theorem t21 : (1.5 : ℝ) = 3 / 2 ∧ (1e3 : ℝ) = 1000 ∧ \"ab\".length = 2 ∧ 'a'.toNat = 97 := sorry",
    "theorem t22 (a b n : ℤ) : a ≡ b [ZMOD n] ↔ n ∣ b - a := sorry",
    "theorem t23 (f : ℕ →+* ℕ) (g : M →ₗ[R] N) : True := sorry",
    "theorem t24 : Tendsto (fun n : ℕ => 1 / (n : ℝ)) atTop (𝓝 0) := sorry",
    "theorem t25 (f : ℝ → ℝ) : ∫ x in (0 : ℝ)..1, f x = 0 := sorry",
    "theorem t26 : Continuous fun x : ℝ => x ^ 2 := sorry",
    "theorem t27 (s : Finset ℕ) : s.card = Finset.card s := by\n  simp\n  rfl",
    "theorem t28 (x : ℝ) : let y := x + 1\n  y - 1 = x := sorry",
    "theorem t29 (G : Type*) [Group G] (a : G) : a * a⁻¹ = 1 := sorry",
    "theorem t30 (f : ℕ → ℕ) (hf : ∀ᶠ n in atTop, f n = 0) : True := sorry",
    "theorem t31 (x : ℝ) : x ⊔ 0 ≥ 0 := sorry",  # ⊔ is known; unknown infix below
    "theorem t32 (a b : α) : a ⊞ b = b ⊞ a := sorry",  # unknown notation degrades to a generic operator
    "abbrev solution : ℕ := 42\n\ntheorem t33 : solution = 42 := sorry",
    "noncomputable def f : ℝ → ℝ := fun x => x\n\ntheorem t34 : f 1 = 1 := sorry",
    "instance inst35 : Inhabited ℕ := ⟨0⟩",
    "theorem t36 : ∃ x : ℕ, x = ⟨1, by norm_num⟩.1 := sorry",
    "theorem t37 (xs : List ℕ) (h : xs ≠ []) : xs[0]! ≥ 0 ∧ (f^[2]) 0 = 0 := sorry",
    "theorem t38 : (· + 1) 1 = 2 := sorry",
]


@pytest.mark.parametrize("text", COVERAGE)
def test_coverage_statements_parse(text: str) -> None:
    doc = parse_document(text)
    assert doc.declarations, text


def test_statement_fields() -> None:
    s = parse_statement("theorem foo (x y : ℝ) {n : ℕ} [Fact (1 < n)] (h₀ : 0 < x) : Real.sqrt x ≤ y := by sorry")
    assert s.keyword == "theorem" and s.name == "foo"
    assert [(b.name, b.type, b.kind) for b in s.binders] == [
        ("x", "ℝ", "explicit"),
        ("y", "ℝ", "explicit"),
        ("n", "ℕ", "implicit"),
        ("_", "Fact (1 < n)", "instance"),
        ("h₀", "0 < x", "explicit"),
    ]
    assert s.conclusion_text == "Real.sqrt x ≤ y"
    assert s.proof == "by sorry" and s.proof_kind == "tactic"
    assert s.identifiers == ["ℝ", "ℕ", "Fact", "Real.sqrt"]
    assert s.conclusion is not None and s.conclusion.kind == "binop" and s.conclusion.value == "≤"


def test_statement_serialises_its_fields_in_declaration_order() -> None:
    # binders, conclusion_text and identifiers are worked out on first read; the JSON keeps its shape
    s = parse_document("abbrev a : ℕ := 2\ntheorem t (x : ℕ) : x + a = a + x := sorry").declarations[1]
    dumped = s.model_dump(mode="json")
    assert list(dumped) == [
        "keyword", "name", "modifiers", "attributes", "binders", "conclusion_text", "proof", "proof_kind",
        "identifiers", "text", "conclusion_tree",
    ]
    assert dumped["binders"] == [{"name": "x", "type": "ℕ", "kind": "explicit"}]
    assert (dumped["conclusion_text"], dumped["identifiers"]) == ("x + a = a + x", ["ℕ", "a"])
    assert json.loads(s.model_dump_json()) == dumped
    assert repr(s).startswith("Statement(keyword='theorem', name='t', modifiers=[], attributes=[], binders=[")
    assert s == parse_document("theorem t (x : ℕ) : x + a = a + x := sorry").declarations[0].model_copy(
        update={"text": s.text}
    )


def test_identifiers_exclude_every_kind_of_bound_variable() -> None:
    s = parse_statement(
        "theorem t (f : ℕ → ℕ) (h : ∀ n, f n = n) : "
        "∑ i ∈ Finset.range 3, f i = Nat.choose 3 1 ∧ {x | x ∈ S} = S ∧ (fun y => y) 0 = h.le.1 ∧ "
        "∃ p : ℕ × ℕ, p.1 = 0 := sorry"
    )
    assert s.identifiers == ["ℕ", "Finset.range", "Nat.choose", "S"]


def test_big_operator_body_binds_at_level_67() -> None:
    # Mathlib: `∑ x ∈ s, f x ≤ c` is `(∑ x ∈ s, f x) ≤ c`; `∑ i, f i * 2` keeps `* 2` inside.
    s = parse_statement("theorem t : ∑ i in s, f i ≤ c ∧ ∑ i, f i * 2 = 0 := sorry")
    conj = s.conclusion
    assert conj is not None and conj.value == "∧"
    le, eq = conj.args
    assert le.value == "≤" and le.args[0].kind == "bigop"
    assert eq.value == "=" and eq.args[0].kind == "bigop" and eq.args[0].args[0].value == "*"


def test_precedence_of_common_operators() -> None:
    s = parse_statement("theorem t : ¬ a = b ∧ c → -x ^ 2 + 1 * y ≤ z ∨ p := sorry")
    # → is lowest here: (¬(a = b) ∧ c) → ((-(x^2) + 1 * y ≤ z) ∨ p)
    assert pretty(s.conclusion) == "¬a = b ∧ c → -x ^ 2 + 1 * y ≤ z ∨ p"
    arrow = s.conclusion
    assert arrow.value == "→"
    left, right = arrow.args
    a_eq_b = Term("binop", "=", (Term("ident", "a"), Term("ident", "b")))
    assert left.value == "∧" and left.args[0] == Term("unop", "¬", (a_eq_b,))
    assert right.value == "∨"
    neg = right.args[0].args[0].args[0]
    assert neg.kind == "unop" and neg.value == "-" and neg.args[0].value == "^"


def test_document_with_preamble_and_commands() -> None:
    doc = parse_document(
        "import Mathlib\nopen Real Nat\n\nabbrev answer : ℕ := 3\n\n"
        "theorem main (n : ℕ) (h : n = answer) : n + 1 = 4 :=\nsorry\n"
    )
    assert [c.kind for c in doc.commands] == ["import", "open"]
    assert [d.keyword for d in doc.declarations] == ["abbrev", "theorem"]
    assert doc.theorem.name == "main" and [d.name for d in doc.preamble] == ["answer"]
    assert doc.theorem.text.startswith("theorem main") and doc.theorem.text.endswith("sorry")
    assert doc.preamble[0].text == "abbrev answer : ℕ := 3"


def test_parse_statement_rejects_several_declarations() -> None:
    with pytest.raises(StatementSyntaxError, match="exactly one declaration"):
        parse_statement("def a := 1\ntheorem b : a = 1 := sorry")


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("theorem t : (1 + = 2 := sorry", 1, 18),
        ("theorem t :\n  x = (y\n", 2, 9),
        ("theorem t : x ≤ := sorry", 1, 17),
    ],
)
def test_syntax_errors_have_position_and_caret(text: str, line: int, column: int) -> None:
    with pytest.raises(StatementSyntaxError) as info:
        parse_statement(text)
    err = info.value
    assert (err.line, err.column) == (line, column)
    assert err.excerpt.splitlines()[-1] == " " * (column - 1) + "^"
    assert "Traceback" not in str(err) and "lark" not in str(err).lower()


def test_huge_input_is_a_clear_error() -> None:
    with pytest.raises(StatementSyntaxError, match="limit"):
        parse_statement("theorem t : " + "x + " * 50_000 + "x = x := sorry")


def test_comments_are_blanked_preserving_positions() -> None:
    text = 'theorem t /- a /- nested -/ comment -/ : "--" = "--" -- trailing\n  := sorry'
    blanked = blank_comments(text)
    assert len(blanked) == len(text) and blanked.count("\n") == text.count("\n")
    assert "nested" not in blanked and "trailing" not in blanked and '"--"' in blanked
    assert parse_statement(text).conclusion_text == '"--" = "--"'


def test_layout_let_gets_its_semicolon() -> None:
    text = "theorem t : let y := 1\n  y = 1 := sorry"
    assert terminate_let_lines(text) == "theorem t : let y := 1;\n  y = 1 := sorry"
    body = parse_statement(text).conclusion
    assert body is not None and body.kind == "let" and body.args[0].value == "="
