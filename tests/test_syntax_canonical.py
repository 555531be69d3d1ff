"""Canonical forms: the invariances they promise, and the printer/parser round trip (hypothesis)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoformal import canonical_form, parse_statement
from autoformal.syntax import pretty
from autoformal.syntax.scope import PRED_IN_SCOPE
from autoformal.syntax.terms import Bound, Term

EQUIVALENT = [
    (
        "theorem a (x y : ℝ) (h₀ : 0 < x) : ∑ i in Finset.range 10, x ^ i ≤ Real.sqrt y := by sorry",
        "theorem b : ∀ (p : ℝ) (q : ℝ), p > 0 → (∑ k ∈ (Finset.range 10), (p ^ k)) ≤ (Real.sqrt q) := sorry",
    ),
    ("theorem a : ∀ x y : ℕ, x + y = y + x := sorry", "lemma b : ∀ x : ℕ, ∀ y : ℕ, x + y = y + x := sorry"),
    ("theorem a (f : ℕ → ℕ) : f = λ n => n + 1 := sorry", "theorem b (g : ℕ → ℕ) : g = fun m ↦ m + 1 := sorry"),
    ("theorem a : ∀ x > 0, x ≠ 1 := sorry", "theorem b : ∀ y, 0 < y → y ≠ 1 := sorry"),
    ("theorem a : ∃ x ∈ S, x ≥ 2 := sorry", "theorem b : ∃ z, z ∈ S ∧ 2 ≤ z := sorry"),
    ("theorem a (n : ℕ) (h : n > 3) : n ! > n := sorry", "theorem b (m : ℕ) : m > 3 → m ! > m := sorry"),
    ("theorem a (x : ℝ) : ((x + 1)) * ((2)) = 2*x+2 := sorry", "theorem  b  (x:ℝ):(x+1)*2=2*x+2:=sorry"),
    (
        "abbrev putnam_sol : ℕ := 5\ntheorem p (n : ℕ) (h : n = putnam_sol) : n.succ = 6 := sorry",
        "abbrev answer : ℕ := 5\n\ntheorem q (k : ℕ) (hk : k = answer) : k.succ = 6 := by sorry",
    ),
    (
        "theorem a {x : ℝ} (hx : x ∈ Set.Icc 0 1) : x ≤ 1 := sorry",
        "theorem b {y : ℝ} (h : y ∈ Set.Icc 0 1) : y ≤ 1 := sorry",
    ),
]

DIFFERENT = [
    ("theorem a (x : ℝ) : x ≤ 1 := sorry", "theorem a (x : ℝ) : x < 1 := sorry"),
    ("theorem a (x : ℕ) : x ≤ 1 := sorry", "theorem a (x : ℤ) : x ≤ 1 := sorry"),
    ("theorem a (x y : ℝ) : x - y = 1 := sorry", "theorem a (x y : ℝ) : y - x = 1 := sorry"),
    ("theorem a : ∀ x : ℕ, ∃ y : ℕ, y > x := sorry", "theorem a : ∃ y : ℕ, ∀ x : ℕ, y > x := sorry"),
    (
        "theorem a (s : Finset ℕ) : ∑ i ∈ s, i + 1 = 0 := sorry",
        "theorem a (s : Finset ℕ) : ∑ i ∈ s, (i + 1) = 0 := sorry",
    ),
]


@pytest.mark.parametrize(("a", "b"), EQUIVALENT)
def test_equivalent_spellings_agree(a: str, b: str) -> None:
    assert canonical_form(a) == canonical_form(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_statements_differ(a: str, b: str) -> None:
    assert canonical_form(a) != canonical_form(b)


def test_canonical_form_is_a_lean_document() -> None:
    text = canonical_form("abbrev s : ℕ := 5\ntheorem p (n : ℕ) (h : n = s) : n + 1 = 6 := sorry")
    assert text == "def answer₀ : ℕ := 5\nexample : ∀ x₀ : ℕ, x₀ = answer₀ → x₀ + 1 = 6 := sorry"


# ---------------------------------------------------------------- generated terms
NAMES = st.sampled_from(["x", "y", "z", "n", "a₁", "h'", "f"])
CONSTS = st.sampled_from(["Real.sqrt", "Finset.range", "Nat.succ", "S", "ℝ", "ℕ", "π"])
BINOPS = st.sampled_from(
    ["↔", "→", "∨", "∧", "×", "=", "≠", "<", "≤", "∈", "⊆", "∣", "+", "-", "∪", "*", "/", "%", "∩", "•", "^", "∘",
     "::", "++", "⊞"]
)
UNOPS = st.sampled_from(["¬", "-", "↑", "√"])
POSTFIX = st.sampled_from(["⁻¹", "!", "ᶜ"])


def _leaf() -> st.SearchStrategy[Term]:
    return st.one_of(
        NAMES.map(lambda n: Term("ident", n)),
        CONSTS.map(lambda n: Term("ident", n)),
        st.integers(0, 999).map(lambda i: Term("num", str(i))),
        st.just(Term("num", "0.5")),
    )


def _bound(children: st.SearchStrategy[Term]) -> st.SearchStrategy[Bound]:
    return st.one_of(
        NAMES.map(Bound),
        st.builds(Bound, NAMES, children),
        st.builds(lambda n, op, t: Bound(n, pred=(op, t)), NAMES, st.sampled_from(["∈", ">", "≤"]), children),
    )


def _extend(children: st.SearchStrategy[Term]) -> st.SearchStrategy[Term]:
    return st.one_of(
        st.builds(lambda op, a, b: Term("binop", op, (a, b)), BINOPS, children, children),
        st.builds(lambda op, a: Term("unop", op, (a,)), UNOPS, children),
        st.builds(lambda op, a: Term("postfix", op, (a,)), POSTFIX, children),
        st.builds(
            lambda f, args: Term("app", args=(f, *args)),
            NAMES.map(lambda n: Term("ident", n)) | CONSTS.map(lambda n: Term("ident", n)),
            st.lists(children, min_size=1, max_size=3),
        ),
        st.builds(
            lambda q, bs, body: Term("quant", q, (body,), tuple(bs)),
            st.sampled_from(["∀", "∃", "∃!"]),
            st.lists(_bound(children), min_size=1, max_size=2),
            children,
        ),
        st.builds(
            lambda op, b, body: Term("bigop", op, (body,), (b,)),
            st.sampled_from(["∑", "∏", "⋃"]),
            _bound(children),
            children,
        ),
        st.builds(lambda bs, body: Term("fun", args=(body,), binders=tuple(bs)),
                  st.lists(NAMES.map(Bound), min_size=1, max_size=2), children),
        st.builds(lambda n, body: Term("setof", args=(body,), binders=(Bound(n),)), NAMES, children),
        st.builds(lambda k, a: Term(k, args=(a,)), st.sampled_from(["abs", "norm"]), children),
        st.builds(lambda a: Term("floor", "₊", (a,)), children),
        st.builds(lambda a, t: Term("ascription", args=(a, t)), children, children),
        st.builds(lambda xs: Term("tuple", args=tuple(xs)), st.lists(children, min_size=2, max_size=3)),
        st.builds(lambda xs: Term("anon", args=tuple(xs)), st.lists(children, max_size=3)),
        st.builds(lambda c, a, b: Term("ite", args=(c, a, b)), children, children, children),
        st.builds(lambda a, f: Term("proj", f, (a,)), children, st.sampled_from(["1", "card", "le"])),
    )


TERMS = st.recursive(_leaf(), _extend, max_leaves=12)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(TERMS)
def test_pretty_print_then_parse_round_trips(term: Term) -> None:
    text = f"theorem t : {pretty(term)} := sorry"
    assert parse_statement(text).conclusion == term, text


@SETTINGS
@given(TERMS)
def test_canonical_form_is_idempotent(term: Term) -> None:
    once = canonical_form(f"theorem t : {pretty(term)} := sorry")
    assert canonical_form(once) == once


RENAMES = {"x": "u", "y": "v", "z": "w", "n": "m", "a₁": "b₂", "h'": "k'", "f": "g"}


def _rename_bound(term: Term, mapping: dict[str, str]) -> Term:
    """Consistently rename every bound variable (and its uses); free identifiers are untouched."""
    inner = dict(mapping)

    def bound(b: Bound, pred_in_scope: bool) -> Bound:
        typ = _rename_bound(b.type, inner) if b.type else None
        outer = dict(inner)
        inner[b.name] = RENAMES.get(b.name, b.name)
        pred = (b.pred[0], _rename_bound(b.pred[1], inner if pred_in_scope else outer)) if b.pred else None
        return Bound(inner[b.name], typ, b.kind, pred)

    if term.kind == "ident":
        return Term("ident", mapping.get(term.value, term.value))
    if term.binders:
        binders = tuple(bound(b, term.kind in PRED_IN_SCOPE) for b in term.binders)
        return Term(term.kind, term.value, tuple(_rename_bound(a, inner) for a in term.args), binders)
    return Term(term.kind, term.value, tuple(_rename_bound(a, mapping) for a in term.args))


@SETTINGS
@given(TERMS, st.randoms(use_true_random=False))
def test_canonical_form_ignores_binder_names_and_whitespace(term: Term, rnd: object) -> None:
    free = {n.value for n in term.walk() if n.kind == "ident"} & set(RENAMES.values())
    if free:  # a free identifier that a rename could capture: not an alpha-renaming
        return
    original = f"theorem t : {pretty(term)} := sorry"
    renamed = pretty(_rename_bound(term, {}))
    # whitespace: every space may become several spaces or a newline plus indentation
    spaced = re.sub(" ", lambda _m: rnd.choice([" ", "  ", "\n    "]), renamed)  # type: ignore[attr-defined]
    assert canonical_form(f"lemma other :\n  {spaced} := by sorry") == canonical_form(original)


def test_regression_low_big_operator_as_left_operand_keeps_parentheses() -> None:
    # found by hypothesis: `(⋃ x, s) ∪ t` printed without parentheses re-parsed as `⋃ x, (s ∪ t)`
    term = Term("binop", "∪", (Term("bigop", "⋃", (Term("ident", "s"),), (Bound("x"),)), Term("ident", "t")))
    assert pretty(term) == "(⋃ x, s) ∪ t"
    assert parse_statement(f"theorem r : {pretty(term)} := sorry").conclusion == term


def test_regression_shadowed_binder_counts_as_unused() -> None:
    # found by hypothesis: `∀ x : p, ∀ x, x` — the outer x is unused (shadowed), so it is `p → ∀ x, x`
    once = canonical_form("theorem r : ∀ x : p, ∀ x, x := sorry")
    assert once == "example : p → (∀ x₀, x₀) := sorry"
    assert canonical_form(once) == once
