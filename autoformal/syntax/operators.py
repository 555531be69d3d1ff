"""Operator precedence: Lean 4 / Mathlib notation levels, and the resolver that applies them.

The grammar hands each term over as a flat sequence — operands, infix operators, prefix operators — and
`resolve` builds the tree by precedence climbing. The same table drives the printer, so what is printed
re-parses to the same tree.

An infix operator has a ``level`` and the minimum level ``right_min`` of its right operand: right-associative
operators accept their own level on the right (`a → b → c` is `a → (b → c)`), left-associative ones need more
(`a - b - c` is `(a - b) - c`). A prefix operator binds its operand at ``level`` (`¬a = b` is `¬(a = b)`,
`-x ^ 2` is `-(x ^ 2)`, `∑ i, f i + 1` is `(∑ i, f i) + 1`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from autoformal.errors import OperatorError
from autoformal.syntax.grammar import grammar_text
from autoformal.syntax.terms import Bound, Term, app


@dataclass(frozen=True, slots=True)
class OpInfo:
    level: int
    right_min: int

    @property
    def left_min(self) -> int:
        # right-associative operators need a strictly tighter left operand
        return self.level if self.right_min > self.level else self.level + 1


# By grammar terminal name (or the anonymous literal's text).
INFIX_LEVELS: dict[str, OpInfo] = {
    "PIPE_LEFT": OpInfo(10, 10),
    "$": OpInfo(10, 10),
    "PIPE_RIGHT": OpInfo(10, 11),
    "IFF": OpInfo(20, 25),
    "ARROW": OpInfo(25, 25),
    "HOMARROW": OpInfo(25, 25),
    "HOMARROW_IDX": OpInfo(25, 25),
    "OR": OpInfo(30, 30),
    "AND": OpInfo(35, 35),
    "TIMES": OpInfo(35, 35),
    "REL": OpInfo(50, 65),
    "REL_IDX": OpInfo(50, 65),
    "≡": OpInfo(50, 65),
    "∂": OpInfo(64, 100),  # `∫ x, f x ∂μ`: stops the integral's body (65), then attaches the measure
    "ADD": OpInfo(65, 67),
    "-": OpInfo(65, 67),
    "OP": OpInfo(65, 67),  # unknown notation
    "RANGE_DOTS": OpInfo(65, 67),
    "CONS": OpInfo(67, 67),
    "MUL": OpInfo(70, 73),
    "SMUL": OpInfo(73, 73),
    "^": OpInfo(75, 75),
    "COMP": OpInfo(90, 90),
}
GENERIC = INFIX_LEVELS["OP"]

PREFIX_LEVELS: dict[str, int] = {"NOT": 40, "-": 75, "!": 75, "OP": 75, "BIGOP": 67, "BIGOP_LOW": 65, "INTEGRAL": 65}
# Big operators whose body stops below 67; the others (⋃ ⋂ ⨆ ⨅) and integrals stop below 65 (Mathlib: 60).
BIGOPS_67 = frozenset({"∑", "∏", "∑'", "∏'", "⨁", "⨂"})

# Spellings that mean the same thing; normalised at parse time so canonical forms agree.
OP_ALIASES = {"->": "→", "<=": "≤", ">=": "≥", "!=": "≠", "⇔": "↔", "<->": "↔", "\\/": "∨", "/\\": "∧"}


@dataclass(frozen=True, slots=True)
class Infix:
    kind: str  # terminal name or literal: "REL", "-", "PIPE_LEFT", ...
    op: str
    info: OpInfo
    index: Term | None = None  # `→ₗ[R]`, `=ᶠ[l]`


@dataclass(frozen=True, slots=True)
class Prefix:
    kind: str
    op: str
    level: int
    binders: tuple[Bound, ...] = ()


@dataclass(frozen=True, slots=True)
class ModSuffix:
    kind: str  # MOD / ZMOD / ...
    modulus: Term


Item = Term | Infix | Prefix | ModSuffix


def resolve(items: list[Item]) -> Term:
    """Build the term tree of a flat operand/operator sequence (precedence climbing)."""
    parser = _Climber(items)
    term = parser.expression(0)
    if parser.pos != len(items):
        leftover = items[parser.pos]
        if isinstance(leftover, ModSuffix):
            raise OperatorError(f"`[{leftover.kind} …]` must follow `a ≡ b`")
        raise OperatorError("operator sequence could not be resolved")
    return term


class _Climber:
    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self.pos = 0

    def expression(self, min_level: int) -> Term:
        left = self.operand()
        while self.pos < len(self.items):
            op = self.items[self.pos]
            if not isinstance(op, Infix) or op.info.level < min_level:
                break
            self.pos += 1
            right = self.expression(op.info.right_min)
            left = self._combine(op, left, right)
        return left

    def operand(self) -> Term:
        item = self.items[self.pos]
        self.pos += 1
        if isinstance(item, Prefix):
            return _apply_prefix(item, self.expression(item.level))
        if isinstance(item, Term):
            return item
        raise OperatorError("expected an operand")

    def _combine(self, op: Infix, left: Term, right: Term) -> Term:
        if op.op == "≡" and self.pos < len(self.items) and isinstance(self.items[self.pos], ModSuffix):
            suffix = self.items[self.pos]
            assert isinstance(suffix, ModSuffix)
            self.pos += 1
            return Term("modeq", suffix.kind, (left, right, suffix.modulus))
        if op.kind in ("PIPE_LEFT", "$"):
            return app(left, right)
        if op.kind == "PIPE_RIGHT":
            return app(right, left)
        if op.op == "∂" and left.kind == "integral" and len(left.args) == 1:
            return Term("integral", left.value, (left.args[0], right), left.binders)
        if op.index is not None:
            kind = "hom_idx" if op.kind == "HOMARROW_IDX" else "rel_idx"
            return Term(kind, op.op, (left, op.index, right))
        return Term("binop", op.op, (left, right))


def _apply_prefix(p: Prefix, operand: Term) -> Term:
    if p.kind in ("BIGOP", "BIGOP_LOW"):
        return Term("bigop", p.op, (operand,), p.binders)
    if p.kind == "INTEGRAL":
        return Term("integral", p.op, (operand,), p.binders)
    return Term("unop", p.op, (operand,))


@functools.cache
def operator_groups() -> dict[str, str]:
    """Map each infix operator spelling to its terminal group, read from the grammar's terminal definitions
    (the grammar file is the single list of spellings)."""
    table: dict[str, str] = {}
    text = grammar_text()
    for name in INFIX_LEVELS:
        if not name.isupper():
            continue
        match = re.search(rf"^{name}(?:\.-?\d+)?:(.*(?:\n[ \t]+\|.*)*)", text, re.MULTILINE)
        if match is None:
            continue
        for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(1)):
            table.setdefault(literal.replace("\\\\", "\\"), name)
    return table


def infix_info(op: str) -> OpInfo:
    """Level information for an operator spelling, as the printer needs it."""
    group = operator_groups().get(op)
    if group is not None:
        return INFIX_LEVELS[group]
    if op in INFIX_LEVELS:
        return INFIX_LEVELS[op]
    if op[:1] in "→≃↪↠⟶≅" and len(op) > 1:  # bundled morphism arrows: `→+*`, `≃ₗ`
        return INFIX_LEVELS["HOMARROW"]
    return GENERIC


def prefix_level(t: Term) -> int:
    """The level a prefix-built node (unop ¬/-/!, big operator, integral) binds its operand at."""
    if t.kind == "bigop":
        return PREFIX_LEVELS["BIGOP"] if t.value in BIGOPS_67 else PREFIX_LEVELS["BIGOP_LOW"]
    if t.kind == "integral":
        return PREFIX_LEVELS["INTEGRAL"]
    return PREFIX_LEVELS["NOT"] if t.value == "¬" else PREFIX_LEVELS["-"]
