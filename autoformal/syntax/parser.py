"""Loads `grammars/lean4_statement.lark` once and parses text into raw declarations and commands."""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from autoformal.errors import OperatorError, StatementSyntaxError
from autoformal.syntax.lexing import blank_comments, terminate_let_lines
from autoformal.syntax.parser_build import build_parser
from autoformal.syntax.transform import RawCommand, RawDeclaration

if TYPE_CHECKING:
    from lark import Lark

# Longest input we hand to the parser: real statements are < 10 kB; this bounds time on hostile input.
MAX_STATEMENT_CHARS = 100_000


_PARSER_LOCK = threading.Lock()


def _parser() -> Lark:
    """The shared parser, loaded once (≈0.1 s from the on-disk cache, ≈1 s to build) even when many threads
    ask for it at start-up."""
    with _PARSER_LOCK:
        return _build_parser()


@functools.cache
def _build_parser() -> Lark:
    return build_parser()


def preprocess(text: str) -> str:
    """Comment blanking and layout-`let` termination; positions in the result match ``text``."""
    return terminate_let_lines(blank_comments(text))


def parse_commands(text: str) -> list[RawDeclaration | RawCommand]:
    """Parse a whole source text (declarations and commands). Raises `StatementSyntaxError`."""
    if len(text) > MAX_STATEMENT_CHARS:
        raise StatementSyntaxError(
            f"input is {len(text):,} characters, over the {MAX_STATEMENT_CHARS:,} limit for one statement; "
            "split it into separate statements",
            line=1,
            column=1,
            excerpt="",
        )
    source = preprocess(text)
    try:
        result: Any = _parser().parse(source)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    except OperatorError as exc:
        raise StatementSyntaxError(str(exc), line=1, column=1, excerpt="") from None
    return list(result)


#: How the grammar's token classes read in an error message (literal tokens are shown as themselves).
_TOKEN_WORDS = {
    "IDENT": "an identifier",
    "DOT_IDENT": "`.name`",
    "NUMBER": "a number",
    "STRING": "a string",
    "QUANT": "a quantifier (`∀`, `∃`, …)",
    "BIGOP": "a big operator (`∑`, `∏`, …)",
    "REL": "a relation (`=`, `≤`, `∈`, …)",
    "BINPRED": "a binder predicate (`∈`, `<`, …)",
    "ARROW": "`→`",
    "IFF": "`↔`",
}


@functools.cache
def _literal_tokens() -> dict[str, str]:
    """Token name → its literal text, for the tokens that are one fixed string (`RPAR` → `)`)."""
    from lark.lexer import PatternStr

    return {t.name: t.pattern.value for t in _parser().terminals if isinstance(t.pattern, PatternStr)}


def _in_lean_terms(token_name: str) -> str:
    """A token class as a Lean user reads it: `)` rather than `RPAR`, "an identifier" rather than `IDENT`."""
    literal = _literal_tokens().get(token_name)
    if literal is not None:
        return f"`{literal}`"
    if token_name in _TOKEN_WORDS:
        return _TOKEN_WORDS[token_name]
    return token_name.lower().replace("_", " ").strip()


def _syntax_error(exc: UnexpectedInput, text: str) -> StatementSyntaxError:
    line = max(getattr(exc, "line", 1) or 1, 1)
    column = max(getattr(exc, "column", 1) or 1, 1)
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        reason = "unexpected end of input (unbalanced brackets or a missing term?)"
    elif isinstance(exc, UnexpectedToken):
        reason = f"unexpected `{exc.token}`"
        expected = sorted({_in_lean_terms(name) for name in exc.expected or ()})
        if expected and len(expected) <= 6:
            reason += " (expected " + " or ".join(expected) + ")"
    elif isinstance(exc, UnexpectedCharacters):
        reason = f"unexpected character `{exc.char}`"
    else:
        reason = "syntax error"
    src_lines = text.splitlines() or [""]
    src = src_lines[line - 1] if line - 1 < len(src_lines) else ""
    excerpt = f"{src}\n{' ' * (column - 1)}^"
    return StatementSyntaxError(reason, line=line, column=column, excerpt=excerpt)
