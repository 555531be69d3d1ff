"""The grammar sent to servers for grammar-constrained generation.

`grammars/lean4_statement_generation.gbnf` is a GBNF/xgrammar-EBNF derivative of the statement grammar
`grammars/lean4_statement.lark`: it fixes the shape of an answer (optional ```lean fence, at most three
one-line def/abbrev helpers, one theorem/lemma/example ending in `:= by sorry`, balanced brackets) and leaves
the term language free. vLLM's xgrammar backend compiles GBNF natively and its llguidance backend accepts it
too, while the full LALR Lark grammar (contextual lexer, regex terminals, precedence) is portable to neither.
"""

from __future__ import annotations

import functools

GENERATION_GRAMMAR_NAME = "lean4_statement_generation.gbnf"


@functools.cache
def generation_grammar() -> str:
    """Text of the generation grammar, for `GenerationRequest(grammar=...)`."""
    from autoformal.syntax.grammar import grammar_path

    # Both grammars ship side by side (repository `grammars/`, wheel `autoformal/_grammars/`).
    return grammar_path().with_name(GENERATION_GRAMMAR_NAME).read_text(encoding="utf-8")
