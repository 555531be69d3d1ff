"""Binding structure of the term tree: which names a binder introduces and which identifiers are free.

The free identifiers of a statement are the constants it references (`Finset.range`, `Real.sqrt`, `ℝ`):
retrieval evaluates against them and the name checker resolves them. Bound variables — declaration
binders, quantifiers, `fun`, set-builder, big operators, `let`, match patterns — are excluded, including
projections of bound variables (`h.le`, `x.1`).
"""

from __future__ import annotations

from collections.abc import Iterable

from autoformal.syntax.terms import Bound, Term

# Constructs whose binders scope over the construct's args (sequentially for the binders themselves).
_BINDING_KINDS = frozenset(
    {"quant", "bigop", "integral", "fun", "setof", "setimage", "subtype", "dite", "let", "have"}
)


# `∀ x ∈ s, p` is macro-expanded by Lean to `∀ x, x ∈ s → p`, so `s` is inside x's scope; for big operators
# (`∑ x ∈ s, f x` is `Finset.sum s fun x ↦ f x`) and the rest, the predicate's right-hand side is outside.
PRED_IN_SCOPE = frozenset({"quant", "setof"})


def pattern_names(pattern: Term) -> list[str]:
    """Variables a destructuring pattern binds: every undotted identifier in it."""
    return [n.value for n in pattern.walk() if n.kind == "ident" and "." not in n.value]


def bound_names(b: Bound) -> list[str]:
    if b.pattern is not None:
        return pattern_names(b.pattern)
    return [] if b.name == "_" else [b.name]


def _head(name: str) -> str:
    return name.split(".", 1)[0]


def free_identifiers(binders: Iterable[Bound], terms: Iterable[Term | None]) -> list[str]:
    """Free constants of ``terms`` under the declaration ``binders``, in order of first occurrence."""
    found: dict[str, None] = {}
    scope: set[str] = set()
    for b in binders:
        _binder_free(b, scope, found)
        scope.update(bound_names(b))
    for t in terms:
        if t is not None:
            _free(t, frozenset(scope), found)
    return list(found)


def _binder_free(
    b: Bound, scope: set[str] | frozenset[str], found: dict[str, None], *, pred_in_scope: bool = False
) -> None:
    env = frozenset(scope)
    for sub in (b.type, b.value):
        if sub is not None:
            _free(sub, env, found)
    if b.pred is not None:
        _free(b.pred[1], env | set(bound_names(b)) if pred_in_scope else env, found)


def _binder_group(t: Term) -> tuple[list[str], Term] | None:
    """`(a b : T)` / `{a : T}` / `[inst : C]` read as a term: the names it binds and their type."""
    if t.kind not in ("ascription", "pi_binder") or len(t.args) != 2:
        return None
    lhs, typ = t.args
    names = lhs.args if lhs.kind == "app" else (lhs,)
    if all(n.kind == "ident" and "." not in n.value for n in names):
        return [n.value for n in names], typ
    return None


def _free_under_binders(
    groups: list[Term], body: Term, scope: frozenset[str], found: dict[str, None]
) -> bool:
    """Scan `body` under a telescope of binder groups (each an ident or `(x : T)`); False when `groups`
    is not one (then nothing was scanned)."""
    parsed = [_binder_group(g) if g.kind != "ident" else ([g.value], None) for g in groups]
    if not any(p is not None and p[1] is not None for p in parsed) or any(p is None for p in parsed):
        return False
    inner = set(scope)
    for p in parsed:
        assert p is not None
        if p[1] is not None:
            _free(p[1], frozenset(inner), found)
        inner.update(p[0])
    _free(body, frozenset(inner), found)
    return True


def _free(t: Term, scope: frozenset[str], found: dict[str, None]) -> None:
    k = t.kind
    # Dependent arrow `(x : α) → β x`, `{x : α} → …`, `[inst : C α] → …`: x scopes over the codomain.
    if k == "binop" and t.value == "→" and _free_under_binders([t.args[0]], t.args[1], scope, found):
        return
    if k in ("ident", "explicit"):
        if t.value not in scope and _head(t.value) not in scope and t.value not in ("sorry", "∅"):
            found.setdefault(t.value, None)
        return
    if k in _BINDING_KINDS:
        inner = set(scope)
        for b in t.binders:
            # a binder's own type/value/predicate is outside its scope (`let x := x + 1` uses an outer x)
            _binder_free(b, inner, found, pred_in_scope=k in PRED_IN_SCOPE)
            inner.update(bound_names(b))
        env = frozenset(inner)
        # `{f x | (x : α) (hx : p x)}`: the right-hand side is a binder telescope, not a predicate.
        if k == "setof" and len(t.args) == 1:
            groups = list(t.args[0].args) if t.args[0].kind == "app" else [t.args[0]]
            if _free_under_binders(groups, Term("unit"), env, found):
                return
        for a in t.args:
            _free(a, env, found)
        return
    if k == "alt":  # match alternative: pattern variables scope over the right-hand side
        pats = t.args[:-1]
        names = {n for p in pats for n in pattern_names(p)}
        _free(t.args[-1], scope | names, found)
        return
    for a in t.args:
        _free(a, scope, found)
