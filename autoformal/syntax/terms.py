"""The term tree that the statement grammar produces.

Nodes are small frozen dataclasses rather than pydantic models: a statement has hundreds of nodes, they are
built during LALR parsing (hot path), and structural equality/hashing is what canonicalisation and
self-consistency need. Source positions are deliberately not stored, so two spellings of one term compare
equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Bound:
    """A variable bound by a declaration binder, quantifier, `fun`, set-builder, big operator or `let`.

    ``pred`` is a binder predicate such as ``("∈", s)`` in `∀ x ∈ s, …` or ``("in", l)`` in `∀ᶠ x in l, …`.
    ``pattern`` holds a destructuring pattern (`⟨a, b⟩`, `(a, b)`); then ``name`` is ``"_"``.
    ``value`` is the bound value of a `let`, or a binder's default value.
    """

    name: str
    type: Term | None = None
    kind: str = "explicit"
    pred: tuple[str, Term] | None = None
    pattern: Term | None = None
    value: Term | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.type is not None:
            out["type"] = self.type.to_dict()
        if self.pred is not None:
            out["pred"] = [self.pred[0], self.pred[1].to_dict()]
        if self.pattern is not None:
            out["pattern"] = self.pattern.to_dict()
        if self.value is not None:
            out["value"] = self.value.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class Term:
    """One node: ``kind`` says what it is, ``value`` carries the identifier/literal/operator text.

    Kinds: ident, num, str, char, hole, synth_hole, sort, dot_ident, cdot, app, named_arg, binop, unop,
    postfix, proj, index, iterate, ascription, tuple, anon, list, array, vec, set, setof, setimage, subtype,
    abs, norm, floor, ceil, inner, bracket, quant, bigop, integral, fun, fun_match, alt, ite, dite, let,
    have, show, match, by, modeq, hom, hom_idx, rel_idx, rel_filter, pi_binder, struct, field, unit, coe_fun.
    """

    kind: str
    value: str = ""
    args: tuple[Term, ...] = ()
    binders: tuple[Bound, ...] = field(default=())

    def walk(self) -> Iterator[Term]:
        """Every node of the tree, pre-order, including the types inside binders."""
        stack: list[Term] = [self]
        while stack:
            node = stack.pop()
            yield node
            for b in reversed(node.binders):
                for sub in (b.type, b.pattern, b.value, b.pred[1] if b.pred else None):
                    if sub is not None:
                        stack.append(sub)
            stack.extend(reversed(node.args))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.value:
            out["value"] = self.value
        if self.args:
            out["args"] = [a.to_dict() for a in self.args]
        if self.binders:
            out["binders"] = [b.to_dict() for b in self.binders]
        return out


def ident(name: str) -> Term:
    return Term("ident", name)


def app(fn: Term, *args: Term) -> Term:
    """Application, kept flat: `f a b` is one node with args (f, a, b)."""
    if fn.kind == "app":
        return Term("app", args=fn.args + args)
    return Term("app", args=(fn, *args))
