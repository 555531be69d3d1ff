"""Turns the statement grammar's parse into `Term` trees and raw declaration records.

The transformer runs *inside* the LALR parser (``Lark(transformer=...)``), so no intermediate lark tree is
built. Method names are the grammar's rule names and ``-> alias`` names; anonymous punctuation is filtered
by lark, named terminals (IDENT, REL, ...) arrive as tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lark import Token, Transformer

from autoformal.syntax.operators import (
    INFIX_LEVELS,
    OP_ALIASES,
    PREFIX_LEVELS,
    Infix,
    Item,
    ModSuffix,
    Prefix,
    resolve,
)
from autoformal.syntax.terms import Bound, Term, app


def _is_token(x: object) -> bool:
    """Lexer tokens (lark's, or lark-cython's, which are not `str` subclasses) as opposed to built nodes."""
    return hasattr(x, "start_pos")


def _op(tok: Token | str) -> str:
    text = str(tok)
    return OP_ALIASES.get(text, text)


@dataclass(frozen=True, slots=True)
class Default:
    """A binder default value `(x : T := v)`, before it is attached to its binder."""

    value: Term


@dataclass(slots=True)
class Body:
    kind: str  # "term" | "tactic" | "match"
    term: Term | None
    text: str


@dataclass(slots=True)
class RawDeclaration:
    """A declaration as parsed; `autoformal.syntax.model` turns it into a `Statement`."""

    start: int
    keyword: str
    modifiers: list[str]
    attributes: list[str]
    name: str | None
    binders: list[Bound]
    type: Term | None
    body: Body | None


@dataclass(slots=True)
class RawCommand:
    """A non-declaration command (`open`, `set_option`, `namespace`, ...); its text is sliced from the source."""

    start: int
    kind: str


def _names(items: list[Any]) -> list[str]:
    return [str(t) for t in items]


# Identifier and number leaves are shared between trees (bounded): a statement names a few constants and
# variables many times, and every node kept in the parse cache is scanned by each full garbage collection,
# about a tenth of the parse time. Terms are immutable and compare by value, so the sharing is invisible.
_LEAVES: dict[tuple[str, str], Term] = {}
_MAX_LEAVES = 1 << 16


def _leaf(kind: str, value: str) -> Term:
    key = (kind, value)
    term = _LEAVES.get(key)
    if term is None:
        if len(_LEAVES) >= _MAX_LEAVES:
            _LEAVES.clear()
        term = _LEAVES[key] = Term(kind, value)
    return term


def _pattern_term(item: Any) -> Term:
    if _is_token(item):
        return _leaf("hole", "") if item.type == "HOLE" else _leaf("ident", str(item))
    assert isinstance(item, Term)
    return item


def _start_token(tagged: tuple[str, Any]) -> Any:
    tag, payload = tagged
    return payload[0] if tag == "attributes" else payload


def _first_pos(items: list[Any]) -> int:
    for item in items:
        if _is_token(item) and item.start_pos is not None:
            return item.start_pos
    return -1


class TermBuilder(Transformer[Token, Any]):
    """Bottom-up construction of terms and declarations (see module docstring)."""

    # ------------------------------------------------------------ commands
    def start(self, items: list[Any]) -> list[RawDeclaration | RawCommand]:
        return items

    def _command(self, kind: str) -> Any:
        def build(items: list[Any]) -> RawCommand:
            return RawCommand(_first_pos(items), kind)

        return build

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        for kind in ("import", "open", "set_option", "namespace", "section", "end", "variable", "universe"):
            setattr(self, f"{kind}_cmd", self._command(kind))

    # ------------------------------------------------------------ declarations
    def declaration(self, items: list[Any]) -> RawDeclaration:
        decl = RawDeclaration(
            start=_first_pos([_start_token(x) for x in items if isinstance(x, tuple)]),
            keyword="", modifiers=[], attributes=[], name=None, binders=[], type=None, body=None,
        )
        for it in items:
            if isinstance(it, list):
                decl.binders.extend(it)
            elif isinstance(it, Body):
                decl.body = it
            else:
                tag, payload = it
                if tag == "attributes":
                    decl.attributes = payload[1]
                elif tag == "modifier":
                    decl.modifiers.append(str(payload))
                elif tag == "keyword":
                    decl.keyword = str(payload)
                elif tag == "name":
                    decl.name = payload
                elif tag == "type":
                    decl.type = payload
        return decl

    def attributes(self, items: list[Any]) -> tuple[str, tuple[Token, list[str]]]:
        # the ATTR_OPEN token is kept so `declaration` can find where the declaration starts
        return ("attributes", (items[0], [str(x) for x in items[1:]]))

    def attr_item(self, items: list[Any]) -> str:
        return " ".join(str(x) for x in items)

    def modifier(self, items: list[Any]) -> tuple[str, Token]:
        return ("modifier", items[0])

    def decl_keyword(self, items: list[Any]) -> tuple[str, Token]:
        return ("keyword", items[0])

    def decl_name(self, items: list[Any]) -> tuple[str, str]:
        return ("name", str(items[0]))

    def universe_params(self, items: list[Any]) -> tuple[str, list[str]]:
        return ("universes", _names(items[1:]))

    def type_spec(self, items: list[Any]) -> tuple[str, Term]:
        return ("type", items[0])

    def body_term(self, items: list[Any]) -> Body:
        return Body("term", items[0], "")

    def body_tactic(self, items: list[Any]) -> Body:
        return Body("tactic", Term("by", _tactic_text(items[0])), str(items[0]))

    def body_match(self, items: list[Any]) -> Body:
        return Body("match", Term("fun_match", args=tuple(items)), "")

    # ------------------------------------------------------------ binders
    def binder_names(self, items: list[Any]) -> list[str]:
        return _names(items)

    def binder_default(self, items: list[Any]) -> Default:
        return Default(items[0])

    def explicit_binder(self, items: list[Any]) -> list[Bound]:
        default = items[2].value if len(items) > 2 else None
        return [Bound(n, items[1], "explicit", value=default) for n in items[0]]

    def explicit_untyped(self, items: list[Any]) -> list[Bound]:
        return [Bound(n, None, "explicit") for n in items[0]]

    def implicit_binder(self, items: list[Any]) -> list[Bound]:
        typ = items[1] if len(items) > 1 else None
        return [Bound(n, typ, "implicit") for n in items[0]]

    def strict_binder(self, items: list[Any]) -> list[Bound]:
        typ = items[2] if len(items) > 3 else None
        return [Bound(n, typ, "strict_implicit") for n in items[1]]

    def inst_binder(self, items: list[Any]) -> list[Bound]:
        return [Bound("_", items[0], "instance")]

    def named_inst_binder(self, items: list[Any]) -> list[Bound]:
        return [Bound(str(items[0]), items[1], "instance")]

    def pred_binder(self, items: list[Any]) -> list[Bound]:
        return [Bound(n, None, "explicit", pred=(_op(items[1]), items[2])) for n in items[0]]

    def default_binder(self, items: list[Any]) -> list[Bound]:
        return [Bound(n, None, "explicit", value=items[1]) for n in items[0]]

    # ------------------------------------------------------------ binder-like leaders
    def fun(self, items: list[Any]) -> Term:
        return Term("fun", args=(items[3],), binders=tuple(items[1]))

    def fun_kw(self, items: list[Any]) -> str:
        return str(items[0])

    def fun_arrow(self, items: list[Any]) -> str:
        return str(items[0])

    let_kw = have_kw = fun_kw

    def fun_binders(self, items: list[Any]) -> list[Bound]:
        out: list[Bound] = []
        for it in items:
            if isinstance(it, list):
                out.extend(it)
            elif _is_token(it):
                out.append(Bound(str(it) if it.type != "HOLE" else "_"))
            elif isinstance(it, Bound):
                out.append(it)
            else:  # a destructuring pattern
                out.append(Bound("_", pattern=it))
        return out

    def typed_fun_binder(self, items: list[Any]) -> Bound:
        return Bound(str(items[0]), items[1])

    def tuple_pattern(self, items: list[Any]) -> Term:
        return Term("tuple", args=tuple(_pattern_term(x) for x in items))

    def fun_match(self, items: list[Any]) -> Term:
        return Term("fun_match", args=tuple(items[1:]))

    def match_alt(self, items: list[Any]) -> Term:
        pats = [x for x in items[:-2]]
        return Term("alt", args=(*pats, items[-1]))

    def match(self, items: list[Any]) -> Term:
        scrutinees = [x for x in items if isinstance(x, Term) and x.kind != "alt"]
        alts = [x for x in items if isinstance(x, Term) and x.kind == "alt"]
        return Term("match", args=(Term("tuple", args=tuple(scrutinees)), *alts))

    def quant(self, items: list[Any]) -> Term:
        return Term("quant", _op(items[0]), (items[2],), tuple(items[1]))

    def qb_plain(self, items: list[Any]) -> list[Bound]:
        typ = items[-1] if items and isinstance(items[-1], Term) else None
        body = items[:-1] if typ is not None else items
        return self._qb(body, lambda n: Bound(n, typ))

    def qb_pred(self, items: list[Any]) -> list[Bound]:
        pred = (_op(items[-2]), items[-1])
        return self._qb(items[:-2], lambda n: Bound(n, None, pred=pred))

    def qb_in(self, items: list[Any]) -> list[Bound]:
        terms = [x for x in items if isinstance(x, Term)]
        dom = terms[-1]
        typ = terms[-2] if len(terms) > 1 else None
        binder_items = [x for x in items if not isinstance(x, Term)]
        return self._qb(binder_items, lambda n: Bound(n, typ, pred=("in", dom)))

    def _qb(self, items: list[Any], make: Any) -> list[Bound]:
        out: list[Bound] = []
        for it in items:
            if _is_token(it):
                out.append(make(str(it) if it.type != "HOLE" else "_"))
            elif isinstance(it, list):
                out.extend(it)
        return out

    def qb_pattern(self, items: list[Any]) -> list[Bound]:
        typ = items[1] if len(items) > 1 else None
        return [Bound("_", typ, pattern=items[0])]

    def ite(self, items: list[Any]) -> Term:
        return Term("ite", args=tuple(items))

    def dite(self, items: list[Any]) -> Term:
        return Term("dite", args=(items[2], items[3]), binders=(Bound(str(items[0]), items[1]),))

    def let(self, items: list[Any]) -> Term:
        return Term("let", str(items[0]), (items[2],), (items[1],))

    def have(self, items: list[Any]) -> Term:
        return Term("have", str(items[0]), (items[2],), (items[1],))

    def let_decl(self, items: list[Any]) -> Bound:
        name = str(items[0])
        rest = items[1:]
        params = [b for x in rest if isinstance(x, list) for b in x]
        terms = [x for x in rest if isinstance(x, Term)]
        typ = terms[0] if len(terms) == 2 else None
        value = terms[-1]
        if params:  # `let f (x : T) := v` is `let f := fun (x : T) ↦ v`
            value = Term("fun", args=(value,), binders=tuple(params))
            typ = None if typ is None else _pi(params, typ)
        return Bound(name, typ, value=value)

    def have_decl(self, items: list[Any]) -> Bound:
        if items and _is_token(items[0]):
            return self.let_decl(items)
        return self.let_decl([_IMPLICIT_THIS, *items])

    def let_anonymous(self, items: list[Any]) -> Bound:
        return Bound("this", items[0] if len(items) == 2 else None, value=items[-1])

    def let_pattern(self, items: list[Any]) -> Bound:
        return Bound("_", pattern=items[0], value=items[1])

    def show(self, items: list[Any]) -> Term:
        proof = items[1] if isinstance(items[1], Term) else Term("by", _tactic_text(items[1]))
        return Term("show", args=(items[0], proof))

    def by_block(self, items: list[Any]) -> Term:
        return Term("by", _tactic_text(items[0]))

    # ------------------------------------------------------------ operators (see operators.py)
    def prefix(self, items: list[Any]) -> Prefix:
        tok = items[0]
        kind = tok.type if tok.type in PREFIX_LEVELS else str(tok)
        binders: tuple[Bound, ...] = ()
        if kind in ("BIGOP", "BIGOP_LOW"):
            binders = tuple(_in_to_mem(b) for b in items[1])
        elif kind == "INTEGRAL":
            binders = tuple(items[1])
        return Prefix(kind, _op(tok), PREFIX_LEVELS[kind], binders)

    def binop(self, items: list[Any]) -> Infix:
        tok = items[0]
        kind = tok.type if tok.type in INFIX_LEVELS else str(tok)
        if kind in ("HOMARROW_IDX", "REL_IDX"):
            return Infix(kind, str(tok)[:-1], INFIX_LEVELS[kind], index=items[1])
        return Infix(kind, _op(tok), INFIX_LEVELS[kind])

    def modkind(self, items: list[Any]) -> str:
        return str(items[0])

    def modsuffix(self, items: list[Any]) -> ModSuffix:
        return ModSuffix(items[1], items[2])

    def chunk(self, items: list[Any]) -> list[Any]:
        return items

    def opseq(self, items: list[Any]) -> Term:
        if len(items) == 1 and len(items[0]) == 1:
            only: Term = items[0][0]
            return only
        flat: list[Item] = []
        for it in items:
            if isinstance(it, list):
                flat.extend(it)
            else:
                flat.append(it)
        return resolve(flat)

    def coe(self, items: list[Any]) -> Term:
        return Term("unop", "↑", (items[0],))

    def prefix_fn(self, items: list[Any]) -> Term:
        return Term("unop", str(items[0]), (items[1],))

    # ------------------------------------------------------------ application and postfix
    def app(self, items: list[Any]) -> Term:
        return app(items[0], items[1])

    def app_fun(self, items: list[Any]) -> Term:
        return app(items[0], Term("fun", args=(items[4],), binders=tuple(items[2])))

    def app_by(self, items: list[Any]) -> Term:
        return app(items[0], Term("by", _tactic_text(items[1])))

    def named_arg(self, items: list[Any]) -> Term:
        return Term("named_arg", str(items[1]), (items[2],))

    def inv(self, items: list[Any]) -> Term:
        return Term("postfix", "⁻¹", (items[0],))

    def factorial(self, items: list[Any]) -> Term:
        return Term("postfix", "!", (items[0],))

    def postfix_op(self, items: list[Any]) -> Term:
        return Term("postfix", str(items[1]), (items[0],))

    def proj(self, items: list[Any]) -> Term:
        return Term("proj", str(items[1])[1:], (items[0],))

    def index(self, items: list[Any]) -> Term:
        return Term("index", "", (items[0], *items[2:]))

    def index_bang(self, items: list[Any]) -> Term:
        return Term("index", "!", (items[0], items[2]))

    def rel_filter_index(self, items: list[Any]) -> Term:
        return Term("index", "", (items[0], Term("rel_filter", _op(items[2]))))

    def iterate(self, items: list[Any]) -> Term:
        return Term("iterate", "", (items[0], items[2]))

    # ------------------------------------------------------------ atoms
    def ident(self, items: list[Any]) -> Term:
        return _leaf("ident", str(items[0]))

    def hole(self, items: list[Any]) -> Term:
        return _leaf("hole", "")

    def synth_hole(self, items: list[Any]) -> Term:
        return Term("synth_hole", str(items[0]))

    def num(self, items: list[Any]) -> Term:
        return _leaf("num", str(items[0]))

    def string(self, items: list[Any]) -> Term:
        return Term("str", str(items[0]))

    def char(self, items: list[Any]) -> Term:
        return Term("char", str(items[0]))

    def dot_ident(self, items: list[Any]) -> Term:
        return Term("dot_ident", str(items[0]))

    def explicit(self, items: list[Any]) -> Term:
        return Term("explicit", str(items[0]))

    def rel_filter(self, items: list[Any]) -> Term:
        return Term("rel_filter", _op(items[0]))

    def vec_lit(self, items: list[Any]) -> Term:
        return Term("vec", str(items[0])[:-1], tuple(items[1:]))

    def sort(self, items: list[Any]) -> Term:
        level = items[1] if len(items) > 1 else None
        if level is None:
            return Term("sort", str(items[0]))
        if isinstance(level, Term):
            return Term("sort", str(items[0]), (level,))
        return Term("sort", f"{items[0]}*" if level == "*" else f"{items[0]} {level}")

    def sort_kw(self, items: list[Any]) -> str:
        return str(items[0])

    def sort_level(self, items: list[Any]) -> Any:
        terms = [x for x in items if isinstance(x, Term)]
        if terms:
            return terms[0]
        return str(items[0])

    def paren(self, items: list[Any]) -> Term:
        return items[0]

    def ascription(self, items: list[Any]) -> Term:
        return Term("ascription", args=(items[0], items[1]))

    def tuple(self, items: list[Any]) -> Term:
        return Term("tuple", args=tuple(items))

    def unit(self, items: list[Any]) -> Term:
        return Term("unit")

    def coe_fun(self, items: list[Any]) -> Term:
        return Term("coe_fun")

    def anon_ctor(self, items: list[Any]) -> Term:
        return Term("anon", args=tuple(items))

    def list_lit(self, items: list[Any]) -> Term:
        return Term("list", args=tuple(items))

    def array_lit(self, items: list[Any]) -> Term:
        return Term("array", args=tuple(items[1:]))

    def set_lit(self, items: list[Any]) -> Term:
        return Term("set", args=tuple(items))

    def set_builder(self, items: list[Any]) -> Term:
        return Term("setof", args=(items[1],), binders=(_pattern_binder(items[0], None),))

    def set_builder_typed(self, items: list[Any]) -> Term:
        return Term("setof", args=(items[2],), binders=(_pattern_binder(items[0], items[1]),))

    def set_image(self, items: list[Any]) -> Term:
        return Term("setimage", args=(items[0],), binders=(_pattern_binder(items[1], items[2]),))

    def subtype(self, items: list[Any]) -> Term:
        return Term("subtype", args=(items[2],), binders=(_pattern_binder(items[0], None),))

    def subtype_typed(self, items: list[Any]) -> Term:
        return Term("subtype", args=(items[3],), binders=(_pattern_binder(items[0], items[1]),))

    def implicit_pi_binder(self, items: list[Any]) -> Term:
        return Term("pi_binder", "implicit", (items[0], items[1]))

    def inst_pi_binder(self, items: list[Any]) -> Term:
        return Term("pi_binder", "instance", (items[0], items[1]))

    def inner(self, items: list[Any]) -> Term:
        return Term("inner", str(items[2])[1:], (items[0], items[1]))

    def lie_bracket(self, items: list[Any]) -> Term:
        return Term("bracket", "⁅⁆", (items[0], items[1]))

    def struct_inst(self, items: list[Any]) -> Term:
        fields = [Term("field", str(items[i]), (items[i + 1],)) for i in range(0, len(items) - 1, 2)]
        return Term("struct", args=tuple(fields))

    def abs(self, items: list[Any]) -> Term:
        return Term("abs", args=(items[1],))

    def norm(self, items: list[Any]) -> Term:
        return Term("norm", args=(items[1],))

    def floor(self, items: list[Any]) -> Term:
        return Term("floor", str(items[1])[1:], (items[0],))

    def ceil(self, items: list[Any]) -> Term:
        return Term("ceil", str(items[1])[1:], (items[0],))

    def cdot(self, items: list[Any]) -> Term:
        return Term("cdot")

    def empty_set(self, items: list[Any]) -> Term:
        return Term("ident", "∅")


# `have : p := v` names the hypothesis `this`
_IMPLICIT_THIS = Token("IDENT", "this")


def _tactic_text(tok: Token | str) -> str:
    """The tactic script without the leading `by`, whitespace collapsed."""
    return " ".join(str(tok)[2:].split())


def _in_to_mem(b: Bound) -> Bound:
    # `∑ x in s, f x` is the legacy spelling of `∑ x ∈ s, f x`: same term, one canonical form.
    if b.pred is not None and b.pred[0] == "in":
        return Bound(b.name, b.type, b.kind, ("∈", b.pred[1]), b.pattern, b.value)
    return b


def _pi(params: list[Bound], typ: Term) -> Term:
    return Term("quant", "∀", (typ,), tuple(params))


def _pattern_binder(pattern: Term, typ: Term | None) -> Bound:
    """The variable bound by a set-builder / subtype left-hand side (`x`, `x ∈ s`, `(a, b)`)."""
    if pattern.kind == "ident":
        return Bound(pattern.value, typ)
    if pattern.kind == "hole":
        return Bound("_", typ)
    if pattern.kind == "binop" and pattern.args[0].kind == "ident" and pattern.value in _BINDER_PREDS:
        return Bound(pattern.args[0].value, typ, pred=(pattern.value, pattern.args[1]))
    return Bound("_", typ, pattern=pattern)


_BINDER_PREDS = frozenset({"∈", "∉", "⊆", "⊂", "⊇", "⊃", ">", "<", "≥", "≤", "≠"})
