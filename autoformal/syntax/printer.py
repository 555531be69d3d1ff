"""Pretty-printing of `Term` trees back to Lean source.

The printer inserts exactly the parentheses the grammar's precedence levels require, so printing then
parsing gives back the same tree (a property test checks this), and redundant parentheses in the input
disappear. Operator levels are read from the grammar file's terminal definitions, the single source of
truth for which operator belongs to which level.
"""

from __future__ import annotations

from autoformal.syntax.operators import infix_info, prefix_level
from autoformal.syntax.terms import Bound, Term

LEADING = frozenset({"quant", "fun", "fun_match", "ite", "dite", "let", "have", "show", "match", "by"})
# `↑x`, `√x`, `#s` may be application arguments but bind looser than `.1`, `⁻¹`, `[i]`: `↑x.1` is `↑(x.1)`.
PREFIX_LEVEL = 105
POSTFIX_LEVEL = 110
ATOM_LEVEL = 120


def level_of(t: Term) -> int:
    """The precedence level at which ``t`` can stand without parentheses."""
    k = t.kind
    if k in LEADING:
        return 0
    if k == "binop":
        return infix_info(t.value).level
    if k in ("modeq", "rel_idx"):
        return 50
    if k in ("bigop", "integral"):
        # a prefix whose body binds at L swallows any following operator of level ≥ L: as a left operand it
        # stands just below L (`(⋃ x, s x) ∪ t` needs its parentheses, `∑ i, f i + 1` does not)
        return prefix_level(t) - 1
    if k == "hom_idx":
        return 25
    if k == "unop":
        if t.value == "↑" or t.value in _PREFIX_FNS:
            return PREFIX_LEVEL
        return prefix_level(t) - 1
    if k == "app":
        return 100
    if k in ("postfix", "proj", "index", "iterate"):
        return POSTFIX_LEVEL
    return ATOM_LEVEL


_PREFIX_FNS = frozenset({"√", "∛", "⋃₀", "⋂₀", "#"})


def pretty(t: Term) -> str:
    """Lean source for ``t`` with minimal parentheses."""
    return _Printer().term(t, 0)


class _Printer:
    def term(self, t: Term, min_level: int) -> str:
        text = self._raw(t)
        if level_of(t) < min_level:
            return f"({text})"
        return text

    # ------------------------------------------------------------------ binders
    def bracketed(self, b: Bound) -> str:
        name = self._binder_name(b)
        if b.kind == "instance":
            inner = self.term(b.type, 0) if b.type is not None else "_"
            return f"[{inner}]" if b.name == "_" else f"[{b.name} : {inner}]"
        if b.pred is not None:
            op, rhs = b.pred
            if op == "in":
                typ = f" : {self.term(b.type, 0)}" if b.type is not None else ""
                return f"({name}{typ} in {self.term(rhs, 0)})"
            return f"({name} {op} {self.term(rhs, 0)})"
        typ = f" : {self.term(b.type, 0)}" if b.type is not None else ""
        default = f" := {self.term(b.value, 0)}" if b.value is not None else ""
        if b.kind == "implicit":
            return f"{{{name}{typ}}}"
        if b.kind == "strict_implicit":
            return f"⦃{name}{typ}⦄"
        return f"({name}{typ}{default})"

    def _binder_name(self, b: Bound) -> str:
        return self.term(b.pattern, ATOM_LEVEL) if b.pattern is not None else b.name

    def binder_group(self, binders: tuple[Bound, ...], *, allow_in: bool = True) -> str:
        """Binders of a quantifier / big operator / `fun`, in the most compact form that reparses."""
        first = binders[0]
        plain = all(b.kind == "explicit" and b.value is None for b in binders)
        same_type = all(b.type == first.type for b in binders)
        same_pred = all(b.pred == first.pred for b in binders)
        if plain and same_type and same_pred:
            if len(binders) == 1 and first.pattern is not None and first.pred is None:
                typ = f" : {self.term(first.type, 0)}" if first.type is not None else ""
                return f"{self._binder_name(first)}{typ}"
            if all(b.pattern is None for b in binders):
                names = " ".join(b.name for b in binders)
                typ = f" : {self.term(first.type, 0)}" if first.type is not None else ""
                if first.pred is None:
                    return names + typ
                op, rhs = first.pred
                if op == "in" and allow_in:
                    return f"{names}{typ} in {self.term(rhs, 0)}"
                if op != "in" and first.type is None:
                    return f"{names} {op} {self.term(rhs, 65)}"
        return " ".join(self.bracketed(b) for b in binders)

    def fun_binders(self, binders: tuple[Bound, ...]) -> str:
        parts = []
        for b in binders:
            if b.pattern is not None and b.type is None and b.pred is None:
                parts.append(self.term(b.pattern, ATOM_LEVEL))
            elif b.kind == "explicit" and b.type is None and b.pred is None and b.value is None:
                parts.append(b.name)
            else:
                parts.append(self.bracketed(b))
        return " ".join(parts)

    # ------------------------------------------------------------------ terms
    def _raw(self, t: Term) -> str:
        method = _BY_KIND.get(t.kind)
        if method is not None:
            result: str = method(self, t)
            return result
        return t.value

    def _join(self, args: tuple[Term, ...]) -> str:
        return ", ".join(self.term(a, 0) for a in args)

    def _k_hole(self, t: Term) -> str:
        return "_"

    def _k_synth_hole(self, t: Term) -> str:
        return f"?{t.value}"

    def _k_explicit(self, t: Term) -> str:
        return f"@{t.value}"

    def _k_cdot(self, t: Term) -> str:
        return "·"

    def _k_unit(self, t: Term) -> str:
        return "()"

    def _k_coe_fun(self, t: Term) -> str:
        return "(↑)"

    def _k_sort(self, t: Term) -> str:
        if t.args:
            return f"{t.value} {self.term(t.args[0], ATOM_LEVEL)}"
        return t.value

    def _k_binop(self, t: Term) -> str:
        info = infix_info(t.value)
        return f"{self.term(t.args[0], info.left_min)} {t.value} {self.term(t.args[1], info.right_min)}"

    def _k_modeq(self, t: Term) -> str:
        a, b, n = t.args
        return f"{self.term(a, 50)} ≡ {self.term(b, 65)} [{t.value} {self.term(n, 0)}]"

    def _k_rel_idx(self, t: Term) -> str:
        a, idx, b = t.args
        return f"{self.term(a, 50)} {t.value}[{self.term(idx, 0)}] {self.term(b, 65)}"

    def _k_hom_idx(self, t: Term) -> str:
        a, idx, b = t.args
        return f"{self.term(a, 30)} {t.value}[{self.term(idx, 0)}] {self.term(b, 25)}"

    def _k_unop(self, t: Term) -> str:
        op = t.value
        if op == "¬":
            return "¬" + self.term(t.args[0], 40)
        if op == "↑":
            return "↑" + self.term(t.args[0], POSTFIX_LEVEL)
        if op in _PREFIX_FNS:
            return op + self.term(t.args[0], POSTFIX_LEVEL)
        operand = self.term(t.args[0], 75)
        if op in ("-", "!") and not operand.startswith(("-", "!")):
            return op + operand
        return f"{op} {operand}"

    def _k_app(self, t: Term) -> str:
        return " ".join(self.term(a, PREFIX_LEVEL) for a in t.args)

    def _k_named_arg(self, t: Term) -> str:
        return f"({t.value} := {self.term(t.args[0], 0)})"

    def _k_postfix(self, t: Term) -> str:
        operand = self.term(t.args[0], POSTFIX_LEVEL)
        # `n!` would lex as the identifier `n!` (as in Lean), so factorial is printed `n !`.
        return f"{operand} !" if t.value == "!" else operand + t.value

    def _k_proj(self, t: Term) -> str:
        inner = t.args[0]
        # `x.foo` would lex as one dotted identifier: keep the projection visible.
        return f"{self._suffixable(inner)}.{t.value}"

    def _suffixable(self, t: Term) -> str:
        """``t`` printed so that a directly attached `.field` or `[i]` applies to it."""
        if t.kind in _ATOMIC_TOKENS or t.kind in _BAR_DELIMITED:
            return f"({self._raw(t)})"
        return self.term(t, POSTFIX_LEVEL)

    def _k_index(self, t: Term) -> str:
        return f"{self._suffixable(t.args[0])}[{self._join(t.args[1:])}]{t.value}"

    def _k_iterate(self, t: Term) -> str:
        return f"{self.term(t.args[0], POSTFIX_LEVEL)}^[{self.term(t.args[1], 0)}]"

    def _k_rel_filter(self, t: Term) -> str:
        return f"[{t.value}]"

    def _k_ascription(self, t: Term) -> str:
        return f"({self.term(t.args[0], 0)} : {self.term(t.args[1], 0)})"

    def _k_tuple(self, t: Term) -> str:
        return f"({self._join(t.args)})"

    def _k_anon(self, t: Term) -> str:
        return f"⟨{self._join(t.args)}⟩"

    def _k_list(self, t: Term) -> str:
        return f"[{self._join(t.args)}]"

    def _k_array(self, t: Term) -> str:
        return f"#[{self._join(t.args)}]"

    def _k_vec(self, t: Term) -> str:
        return f"{t.value}[{self._join(t.args)}]"

    def _k_set(self, t: Term) -> str:
        return f"{{{self._join(t.args)}}}"

    def _set_binder(self, b: Bound) -> str:
        name = self._binder_name(b)
        if b.pred is not None:
            return f"{name} {b.pred[0]} {self.term(b.pred[1], 65)}"
        if b.type is not None:
            return f"{name} : {self.term(b.type, 0)}"
        return name

    def _k_setof(self, t: Term) -> str:
        return f"{{{self._set_binder(t.binders[0])} | {self.term(t.args[0], 0)}}}"

    def _k_setimage(self, t: Term) -> str:
        b = t.binders[0]
        typ = self.term(b.type, 0) if b.type is not None else "_"
        return f"{{{self.term(t.args[0], 0)} | {self._binder_name(b)} : {typ}}}"

    def _k_subtype(self, t: Term) -> str:
        return f"{{{self._set_binder(t.binders[0])} // {self.term(t.args[0], 0)}}}"

    def _k_pi_binder(self, t: Term) -> str:
        x, typ = (self.term(a, 0) for a in t.args)
        return f"{{{x} : {typ}}}" if t.value == "implicit" else f"[{x} : {typ}]"

    def _bar_delimited(self, t: Term, bar: str) -> str:
        inner = self.term(t.args[0], 0)
        # a bar right inside the delimiters is ambiguous for the lexer (`‖|x|‖`): parenthesise it
        if inner[:1] in "|‖" or inner[-1:] in "|‖":
            inner = f"({inner})"
        return f"{bar}{inner}{bar}"

    def _k_abs(self, t: Term) -> str:
        return self._bar_delimited(t, "|")

    def _k_norm(self, t: Term) -> str:
        return self._bar_delimited(t, "‖")

    def _k_floor(self, t: Term) -> str:
        return f"⌊{self.term(t.args[0], 0)}⌋{t.value}"

    def _k_ceil(self, t: Term) -> str:
        return f"⌈{self.term(t.args[0], 0)}⌉{t.value}"

    def _k_inner(self, t: Term) -> str:
        return f"⟪{self.term(t.args[0], 0)}, {self.term(t.args[1], 0)}⟫{t.value}"

    def _k_bracket(self, t: Term) -> str:
        return f"⁅{self.term(t.args[0], 0)}, {self.term(t.args[1], 0)}⁆"

    def _k_struct(self, t: Term) -> str:
        return "{ " + ", ".join(f"{f.value} := {self.term(f.args[0], 0)}" for f in t.args) + " }"

    def _k_quant(self, t: Term) -> str:
        return f"{t.value} {self.binder_group(t.binders)}, {self.term(t.args[0], 0)}"

    def _k_bigop(self, t: Term) -> str:
        body = self.term(t.args[0], prefix_level(t))
        return f"{t.value} {self.binder_group(t.binders)}, {body}"

    def _k_integral(self, t: Term) -> str:
        text = self._k_bigop(t)
        if len(t.args) > 1:
            text += " ∂" + self.term(t.args[1], POSTFIX_LEVEL)
        return text

    def _k_fun(self, t: Term) -> str:
        return f"fun {self.fun_binders(t.binders)} ↦ {self.term(t.args[0], 0)}"

    def _alts(self, alts: tuple[Term, ...]) -> str:
        parts = []
        for alt in alts:
            pats = ", ".join(self.term(p, 0) for p in alt.args[:-1])
            parts.append(f"| {pats} => {self.term(alt.args[-1], 0)}")
        return " ".join(parts)

    def _k_fun_match(self, t: Term) -> str:
        return f"fun {self._alts(t.args)}"

    def _k_match(self, t: Term) -> str:
        scrutinees = self._join(t.args[0].args)
        return f"match {scrutinees} with {self._alts(t.args[1:])}"

    def _k_ite(self, t: Term) -> str:
        c, a, b = (self.term(x, 0) for x in t.args)
        return f"if {c} then {a} else {b}"

    def _k_dite(self, t: Term) -> str:
        h = t.binders[0]
        cond = self.term(h.type, 0) if h.type is not None else "_"
        a, b = (self.term(x, 0) for x in t.args)
        return f"if {h.name} : {cond} then {a} else {b}"

    def _k_let(self, t: Term) -> str:
        b = t.binders[0]
        head = self._binder_name(b)
        typ = f" : {self.term(b.type, 0)}" if b.type is not None else ""
        value = self.term(b.value, 0) if b.value is not None else "_"
        return f"{t.value} {head}{typ} := {value}; {self.term(t.args[0], 0)}"

    _k_have = _k_let

    def _k_show(self, t: Term) -> str:
        typ, proof = t.args
        if proof.kind == "by":
            return f"show {self.term(typ, 0)} by {proof.value}"
        return f"show {self.term(typ, 0)} from {self.term(proof, 0)}"

    def _k_by(self, t: Term) -> str:
        return f"by {t.value}"


# `_k_<kind>` methods by kind, looked up once rather than by name for every node printed.
_BY_KIND = {name[3:]: method for name, method in vars(_Printer).items() if name.startswith("_k_")}
_ATOMIC_TOKENS = frozenset({"ident", "num", "hole", "dot_ident", "explicit", "synth_hole"})
# `|x|` and `‖x‖` end in a bar, after which `.f` / `[i]` do not attach (bars are ambiguous openers).
_BAR_DELIMITED = frozenset({"abs", "norm"})
