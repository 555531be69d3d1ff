"""Canonical forms: one string per statement meaning-preserving spelling class.

Two candidates for the same input that differ only in whitespace, comments, theorem name, binder names,
`λ`/`fun`, `=>`/`↦`, legacy `∑ x in s`, redundant parentheses, grouping of binders (`(x y : ℝ)` vs
`(x : ℝ) (y : ℝ)`, `∀ x y, p` vs `∀ x, ∀ y, p`), declaration binders vs leading `∀`/`→` (`(h : p) : q` vs
`: p → q`), binder predicates (`∀ x > 0, p` vs `∀ x, x > 0 → p`) and `>`/`≥` vs flipped `<`/`≤` get the
same canonical form. Self-consistency scoring clusters candidates by it.

The canonical form is itself a Lean document: the answer preamble's definitions (renamed `answer₀`, …), then
`example : ∀ x₀ : T, …, conclusion := sorry` with every bound variable renamed in binding order. It parses
back, and canonicalising it again gives the same text.
"""

from __future__ import annotations

from autoformal.syntax.model import Document, Statement, parse_document
from autoformal.syntax.printer import pretty
from autoformal.syntax.scope import PRED_IN_SCOPE, bound_names, free_identifiers
from autoformal.syntax.terms import Bound, Term

_FLIPPED = {">": "<", "≥": "≤", "⊇": "⊆", "⊃": "⊂"}
# Quantifiers whose multi-binder form is sugar for nesting (`∀ x y, p` = `∀ x, ∀ y, p`).
_NESTING = frozenset({"quant", "fun", "bigop"})
_PRED_CONNECTIVE = {"∀": "→", "∃": "∧", "∃!": "∧"}


def canonical_form(statement: str | Statement | Document) -> str:
    """Canonical text of a statement (with its answer preamble). Raises `StatementSyntaxError`."""
    doc = parse_document(statement) if isinstance(statement, str) else statement
    if isinstance(doc, Statement):
        decls = [doc]
        theorem = doc
    else:
        theorem = doc.theorem
        decls = [*doc.preamble, theorem]
    renamer = _Renamer()
    parts: list[str] = []
    for i, decl in enumerate(decls):
        if decl is theorem:
            continue
        new_name = f"answer{_subscript(i)}"
        parts.append(renamer.definition(decl, new_name))
        if decl.name is not None:
            renamer.globals[decl.name] = new_name
    parts.append(f"example : {renamer.proposition(theorem)} := sorry")
    return "\n".join(parts)


def _subscript(i: int) -> str:
    return "".join("₀₁₂₃₄₅₆₇₈₉"[int(d)] for d in str(i))


def _normalize(t: Term) -> Term:
    """Meaning-preserving rewrites, before renaming: nesting, binder predicates, flips, unused hypotheses."""
    k = t.kind
    if k == "binop" and t.value in _FLIPPED:
        a, b = t.args
        return Term("binop", _FLIPPED[t.value], (_normalize(b), _normalize(a)))
    if k in _NESTING and len(t.binders) > 1:
        # `∀ x y, p` → `∀ x, ∀ y, p`
        inner = Term(k, t.value, t.args, t.binders[1:])
        return _normalize(Term(k, t.value, (inner,), t.binders[:1]))
    if k == "quant" and t.value in _PRED_CONNECTIVE and t.binders and _expandable(t.binders[0]):
        return _normalize(_expand_binder_pred(t))
    args = tuple(_normalize(a) for a in t.args)
    binders = tuple(_normalize_bound(b) for b in t.binders)
    if k == "quant" and t.value == "∀" and len(binders) == 1:
        hyp = binders[0]
        unused = hyp.name == "_" or not _mentions(args[0], hyp.name)
        if hyp.type is not None and hyp.pattern is None and hyp.kind == "explicit" and hyp.value is None and unused:
            return Term("binop", "→", (hyp.type, args[0]))  # `∀ (h : p), q` with h unused is `p → q`
    return Term(k, t.value, args, binders)


def _normalize_bound(b: Bound) -> Bound:
    kind = "implicit" if b.kind == "strict_implicit" else b.kind
    return Bound(
        b.name,
        _normalize(b.type) if b.type is not None else None,
        kind,
        (b.pred[0], _normalize(b.pred[1])) if b.pred is not None else None,
        _normalize(b.pattern) if b.pattern is not None else None,
        _normalize(b.value) if b.value is not None else None,
    )


class _Renamer:
    """Alpha-renames bound variables to `x₀, x₁, …` in binding order; preamble names via ``globals``."""

    def __init__(self) -> None:
        self.counter = 0
        self.globals: dict[str, str] = {}

    def fresh(self) -> str:
        name = f"x{_subscript(self.counter)}"
        self.counter += 1
        return name

    # ------------------------------------------------------------------ declarations
    def proposition(self, decl: Statement) -> str:
        conclusion = decl.conclusion if decl.conclusion is not None else Term("hole")
        prop = Term("quant", "∀", (conclusion,), decl.bound) if decl.bound else conclusion
        return pretty(self.term(_normalize(prop), {}))

    def definition(self, decl: Statement, new_name: str) -> str:
        typ = decl.conclusion if decl.conclusion is not None else Term("hole")
        body = decl.body if decl.body is not None else Term("hole")
        if decl.bound:
            typ = Term("quant", "∀", (typ,), decl.bound)
            body = Term("fun", args=(body,), binders=decl.bound)
        typ_text = pretty(self.term(_normalize(typ), {}))
        return f"def {new_name} : {typ_text} := {pretty(self.term(_normalize(body), {}))}"

    # ------------------------------------------------------------------ terms
    def term(self, t: Term, env: dict[str, str]) -> Term:
        k = t.kind
        if k == "ident":
            return Term("ident", self._rename_ident(t.value, env))
        if t.binders:
            inner = dict(env)
            binders = tuple(self._bound(b, inner, pred_in_scope=k in PRED_IN_SCOPE) for b in t.binders)
            return Term(k, t.value, tuple(self.term(a, inner) for a in t.args), binders)
        if k == "alt":
            inner = dict(env)
            for n in dict.fromkeys(n for p in t.args[:-1] for n in _pattern_vars(p)):
                inner[n] = self.fresh()
            return Term(k, t.value, tuple(self.term(a, inner) for a in t.args))
        return Term(k, t.value, tuple(self.term(a, env) for a in t.args))

    def _rename_ident(self, name: str, env: dict[str, str]) -> str:
        if name in env:
            return env[name]
        head, dot, rest = name.partition(".")
        if head in env:
            return env[head] + dot + rest
        return self.globals.get(name, name)

    def _bound(self, b: Bound, env: dict[str, str], *, pred_in_scope: bool) -> Bound:
        """Rename a binder's parts under ``env``, then extend ``env`` with its fresh names."""
        typ = self.term(b.type, env) if b.type is not None else None
        value = self.term(b.value, env) if b.value is not None else None
        outer = dict(env)
        for n in bound_names(b):
            env[n] = self.fresh()
        pred = (b.pred[0], self.term(b.pred[1], env if pred_in_scope else outer)) if b.pred is not None else None
        if b.pattern is not None:
            return Bound("_", typ, b.kind, pred, self.term(b.pattern, env), value)
        name = env[b.name] if b.name != "_" else "_"
        return Bound(name, typ, b.kind, pred, None, value)


def _pattern_vars(pattern: Term) -> list[str]:
    return [n.value for n in pattern.walk() if n.kind == "ident" and "." not in n.value]


def _mentions(t: Term, name: str) -> bool:
    """Whether ``name`` occurs free in ``t`` (an inner binder of the same name shadows it)."""
    prefix = name + "."
    return any(n == name or n.startswith(prefix) for n in free_identifiers((), [t]))


def _expandable(b: Bound) -> bool:
    return b.pred is not None and b.pred[0] != "in" and b.pattern is None and b.name != "_"


def _expand_binder_pred(t: Term) -> Term:
    """`∀ x > 0, p` → `∀ x, x > 0 → p`; `∃ x ∈ s, p` → `∃ x, x ∈ s ∧ p` (Lean's own expansion)."""
    b = t.binders[0]
    assert b.pred is not None
    op, rhs = b.pred
    guard = Term("binop", op, (Term("ident", b.name), rhs))
    body = Term("binop", _PRED_CONNECTIVE[t.value], (guard, t.args[0]))
    return Term(t.kind, t.value, (body,), (Bound(b.name, b.type, b.kind),))
