"""`DispatchLexer` gives the parser exactly the tokens lark-cython's contextual lexer gives it (types, values,
positions, keywords), and syntax errors come out of lark unchanged."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from lark import Lark
from lark_cython.lark_cython import ContextualLexer
from lark_cython.lark_cython import Lexer as CythonLexer
from test_syntax_parse import COVERAGE

from autoformal.syntax import parser_build
from autoformal.syntax.dispatch_lexer import DispatchLexer, first_characters
from autoformal.syntax.parser import preprocess

# Lexer errors (no terminal matches, or one that the parser state does not accept) and parser errors.
BROKEN = [
    "theorem t : x $$ y := sorry",
    "theorem t : `x = 1 := sorry",
    "theorem t (x : ℝ) : x ¤ 1 := sorry",
    "theorem t : (1 + := sorry",
    "lemma ( : Prop",
    "theorem t : ∀ x, x = 1",
    "theorem t : x = 1 := by\n  simp\ntheorem",
    "open Foo in\n  theorem := sorry",
    "theorem t : \"unterminated = 1 := sorry",
    "  \n\t",
    "",
]


class _Recorder(CythonLexer):  # type: ignore[misc]
    """Passes tokens through and notes each with its position and the parser state it was lexed in."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.tokens: list[tuple[object, ...]] = []

    def make_lexer_state(self, text: str) -> Any:
        return self.inner.make_lexer_state(text)

    def next_token(self, lexer_state: Any, parser_state: Any) -> Any:
        t = self.inner.next_token(lexer_state, parser_state)
        self.tokens.append(
            (parser_state.position, t.type, t.value, t.start_pos, t.line, t.column, t.end_line, t.end_column, t.end_pos)
        )
        return t


def _run(parser: Lark, text: str) -> tuple[object, list[tuple[object, ...]]]:
    recorder = _Recorder(parser.parser.lexer)
    parser.parser.lexer = recorder
    try:
        outcome: object = repr(parser.parse(preprocess(text)))
    except Exception as exc:  # the error's kind, position, token and expectations must agree too
        token = getattr(exc, "token", None)
        outcome = (
            type(exc).__name__,
            getattr(exc, "line", None),
            getattr(exc, "column", None),
            getattr(exc, "char", None),
            token and (token.type, token.value, token.start_pos),
            sorted(map(str, getattr(exc, "expected", None) or ())),
            sorted(map(str, getattr(exc, "allowed", None) or ())),
        )
    finally:
        parser.parser.lexer = recorder.inner
    return outcome, recorder.tokens


@pytest.fixture(scope="module")
def parsers() -> tuple[Lark, Lark]:
    """(lark-cython's contextual lexer, DispatchLexer), both on the project's streamlined parser."""
    reference, dispatch = parser_build.build_parser(), parser_build.build_parser()
    assert isinstance(dispatch.parser.lexer, DispatchLexer)
    reference.parser.lexer = reference.parser.lexer._reference
    assert isinstance(reference.parser.lexer, ContextualLexer)
    return reference, dispatch


@pytest.mark.parametrize("text", COVERAGE + BROKEN)
def test_same_tokens_and_errors_as_larks_contextual_lexer(parsers: tuple[Lark, Lark], text: str) -> None:
    reference, dispatch = parsers
    expected = _run(reference, text)
    assert expected[1] or not text.strip()  # the recorder saw the tokens
    assert _run(dispatch, text) == expected


@pytest.mark.shared_data
def test_same_tokens_on_every_gold_statement(parsers: tuple[Lark, Lark], shared_data: Path) -> None:
    paths = sorted((shared_data / "benchmarks").glob("*.jsonl"))
    if not paths:
        pytest.skip("no benchmark files in the shared data")
    reference, dispatch = parsers
    texts = [
        json.loads(line)["formal"] for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line
    ]
    mismatched = [text for text in texts if _run(dispatch, text) != _run(reference, text)]
    assert not mismatched, mismatched[:3]


@pytest.mark.parametrize(
    ("regexp", "expected"),
    [
        ("abc", [(0x61, 0x61)]),
        ("[a-c_]x", [(0x5F, 0x5F), (0x61, 0x63)]),
        ("(?:ab|[0-9])+", [(0x30, 0x39), (0x61, 0x61)]),
        ("x?y", [(0x78, 0x78), (0x79, 0x79)]),  # an optional first item lets the next one start the match
        (r"(?<![\w'])'.'", [(0x27, 0x27)]),  # look-behinds consume nothing
        (r"\[(?=\s*MOD)", [(0x5B, 0x5B)]),
    ],
)
def test_first_characters(regexp: str, expected: list[tuple[int, int]]) -> None:
    assert list(first_characters(regexp)) == expected


@pytest.mark.parametrize("regexp", [r"\w+", "[^a]", ".", "a*", "(?i:a)", "(?i)a", r"(a)?\1"])
def test_first_characters_is_any_character_when_unsure(regexp: str) -> None:
    assert first_characters(regexp) == ((0, sys.maxunicode),)
