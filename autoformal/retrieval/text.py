"""How declarations are turned into text: one string for the encoder, one token list for BM25."""

from __future__ import annotations

import re
from functools import cache

from autoformal.corpus.models import Declaration

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NAME_SEPARATORS = re.compile(r"[._'\s]+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_LEAN_SYMBOL = re.compile(r"[^\x00-\x7f\w\s]")


def split_name(name: str) -> list[str]:
    """``Finset.sum_range_succ`` → ``["Finset", "sum", "range", "succ"]``; ``IsOpen`` → ``["Is", "Open"]``."""
    words: list[str] = []
    for part in _NAME_SEPARATORS.split(name):
        words.extend(piece for piece in _CAMEL_BOUNDARY.split(part) if piece)
    return words


def declaration_text(declaration: Declaration) -> str:
    """Encoder input: the name split into words, then the signature, then the docstring.

    The words come first because the encoder truncates at ``max_seq_length`` tokens and the name is the
    densest description of a Mathlib lemma (``sum_range_succ`` says what the statement is about).
    """
    words = " ".join(split_name(declaration.name)).lower()
    text = f"{words}. {declaration.kind} {declaration.name} {declaration.signature}".rstrip()
    if declaration.docstring:
        text += f". {declaration.docstring.strip()}"
    return text


#: Bump when `bm25_tokens` changes: BM25 indexes built with other tokens are rebuilt at load.
BM25_TOKENIZER_VERSION = 2


@cache
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def bm25_tokens(text: str) -> list[str]:
    """Lower-cased word pieces plus every non-ASCII/operator symbol as its own token.

    Identifiers are split like names (``Nat.Prime`` → ``nat``, ``prime``) and also kept whole, so a query
    naming a constant exactly scores it highest; non-ASCII symbols (``∑``, ``√``, ``≤``) carry meaning
    in Lean.
    """
    stopwords = _stopwords()
    tokens: list[str] = []
    for word in re.findall(r"[\w.']+", text):
        pieces = [piece.lower() for piece in split_name(word) if _WORD.fullmatch(piece)]
        # Numbers and one-letter variables (`x`, `n`, `24` in "$\log_x w = 24$") match everything and
        # nothing: dropping them doubled BM25's Recall@20 on the miniF2F valid split.
        pieces = [p for p in pieces if p not in stopwords and not p.isdigit() and not (len(p) == 1 and p.isascii())]
        tokens.extend(pieces)
        if "." in word.strip(".") and len(pieces) > 1:
            tokens.append(word.strip(".").lower())
    tokens.extend(_LEAN_SYMBOL.findall(text))
    return tokens


# English and LaTeX words of informal statements → the word pieces Mathlib names use for the same notion
# (`Real.sqrt`, `Nat.factorial`, `Int.emod`, `Filter.Tendsto`). BM25 only matches exact tokens, and
# informal text says "square root", "remainder" or `\binom` where Mathlib says sqrt, mod and choose.
_MATHLIB_VOCABULARY: dict[str, tuple[str, ...]] = {
    "root": ("sqrt",),
    "absolute": ("abs",),
    "divides": ("dvd",),
    "divisible": ("dvd",),
    "divisor": ("dvd", "divisors"),
    "divisors": ("dvd", "divisors"),
    "remainder": ("mod", "emod"),
    "modulo": ("mod", "emod"),
    "pmod": ("mod", "modeq"),
    "congruent": ("modeq",),
    "logarithm": ("log",),
    "ln": ("log",),
    "exponential": ("exp",),
    "binomial": ("choose",),
    "binom": ("choose",),
    "lfloor": ("floor",),
    "lceil": ("ceil",),
    "ceiling": ("ceil",),
    "greatest": ("gcd",),
    "least": ("lcm",),
    "summation": ("sum",),
    "product": ("prod",),
    "integer": ("int",),
    "integers": ("int",),
    "natural": ("nat",),
    "reals": ("real",),
    "rational": ("rat",),
    "derivative": ("deriv",),
    "differentiable": ("deriv", "differentiable"),
    "frac": ("div",),
    "cdot": ("mul",),
    "times": ("mul",),
    "leq": ("le",),
    "geq": ("le",),
    "infinitely": ("infinite",),
    "limit": ("tendsto",),
    "converges": ("tendsto",),
    "tends": ("tendsto",),
    "determinant": ("det",),
    "cardinality": ("card",),
    "square": ("sq", "pow"),
    "squares": ("sq", "pow"),
    "power": ("pow",),
    "powers": ("pow",),
}


def query_bm25_tokens(query: str) -> list[str]:
    """`bm25_tokens` plus the Mathlib spelling of informal words (query side only)."""
    tokens = bm25_tokens(query)
    return tokens + [extra for token in tokens for extra in _MATHLIB_VOCABULARY.get(token, ())]


def declaration_bm25_tokens(declaration: Declaration) -> list[str]:
    """BM25 sees the name and the signature (the issue's "names and signatures"), plus the docstring."""
    text = f"{declaration.name} {declaration.signature}"
    if declaration.docstring:
        text += f" {declaration.docstring}"
    return bm25_tokens(text)
