"""A contextual lexer that tries, at each position, only the terminals that can start with the character there.

Lark's contextual lexer matches one regular expression per parser state: the alternation of every terminal
the state accepts, in priority order. Python's `re` enters the alternatives one after another, so an
identifier is matched only after dozens of operator and keyword branches have failed; in lark-cython's lexer
that was a third of the parse time.

`DispatchLexer` computes, from each terminal's regular expression, the characters a match can begin with
(conservatively: a construct it does not analyse, or a pattern that can match the empty string, counts as
"any character"). Per parser state and first character it compiles the alternation of just the terminals
that can start there, in lark's order. The first alternative to match is the one lark's full alternation
picks, because a terminal left out cannot match a text starting with that character. Keywords are
resolved as lark resolves them (`_create_unless`, per state), line and column are counted by lark's own line
counter, and where no terminal matches, lark's contextual lexer is asked, so a syntax error is raised by
lark exactly as before.
"""

from __future__ import annotations

import bisect
import re
import sys
from typing import TYPE_CHECKING, Any

from lark.common import LexerConf
from lark.lexer import TerminalDef, _create_unless
from lark_cython import Token
from lark_cython.lark_cython import ContextualLexer as CythonContextualLexer
from lark_cython.lark_cython import Lexer as CythonLexer

if TYPE_CHECKING:
    from lark import Lark

if sys.version_info >= (3, 11):
    import re._constants as sre_constants
    import re._parser as sre_parse
else:  # pragma: no cover - the 3.10 names of the same modules
    import sre_constants
    import sre_parse

_ANY_START = ((0, sys.maxunicode),)
# Per-state character caches stop growing here, so hostile input cannot grow them without bound (real
# statements start tokens with far fewer distinct characters); later characters are dispatched uncached.
_MAX_CACHED_CHARS = 1024
_NOTHING = re.compile(r"(?!)")  # for a character no terminal of the state can start with


def first_characters(regexp: str, flags: int = 0) -> tuple[tuple[int, int], ...]:
    """Code-point ranges that a non-empty match of ``regexp`` can begin with; every character when unsure."""
    parsed = sre_parse.parse(regexp, flags)
    if parsed.state.flags & re.IGNORECASE:
        return _ANY_START
    ranges, nullable = _sequence_first(parsed)
    if ranges is None or nullable:
        return _ANY_START
    return tuple(sorted(ranges))


_Ranges = set[tuple[int, int]]
_C = sre_constants
# 3.11+ only; None (never an opcode) before
_ATOMIC_GROUP = getattr(_C, "ATOMIC_GROUP", None)
_REPEATS = (_C.MAX_REPEAT, _C.MIN_REPEAT, getattr(_C, "POSSESSIVE_REPEAT", None))


def _sequence_first(items: Any) -> tuple[_Ranges | None, bool]:
    """First-character ranges of a parsed sequence (None: unknown) and whether it can match nothing."""
    ranges: _Ranges = set()
    for op, arg in items:
        first, nullable = _item_first(op, arg)
        if first is None:
            return None, True
        ranges |= first
        if not nullable:
            return ranges, False
    return ranges, True


def _item_first(op: Any, arg: Any) -> tuple[_Ranges | None, bool]:
    if op is _C.LITERAL:
        return {(arg, arg)}, False
    if op is _C.IN:
        ranges: _Ranges = set()
        for kind, value in arg:
            if kind is _C.LITERAL:
                ranges.add((value, value))
            elif kind is _C.RANGE:
                ranges.add(value)
            else:  # NEGATE, CATEGORY (\w, \s): not worth modelling
                return None, True
        return ranges, False
    if op is _C.SUBPATTERN:
        _group, add_flags, _del_flags, pattern = arg
        return (None, True) if add_flags & re.IGNORECASE else _sequence_first(pattern)
    if op is _ATOMIC_GROUP:
        return _sequence_first(arg)
    if op is _C.BRANCH:
        union: _Ranges = set()
        any_nullable = False
        for alternative in arg[1]:
            first, nullable = _sequence_first(alternative)
            if first is None:
                return None, True
            union |= first
            any_nullable = any_nullable or nullable
        return union, any_nullable
    if op in _REPEATS:
        least, _most, pattern = arg
        first, nullable = _sequence_first(pattern)
        return first, nullable or least == 0
    if op in (_C.ASSERT, _C.ASSERT_NOT, _C.AT):  # look-arounds and anchors consume nothing
        return set(), True
    return None, True


class _StateTable:
    """What one set of accepted terminals needs: lark's ordered terminal list and keyword map, and the
    alternation to try for each first character seen so far."""

    __slots__ = ("by_char", "keywords", "terminals")

    def __init__(self, terminals: list[TerminalDef], keywords: dict[str, dict[str, str]]) -> None:
        self.terminals = terminals
        self.keywords = keywords
        self.by_char: dict[str, re.Pattern[str]] = {}


class DispatchLexer(CythonLexer):  # type: ignore[misc]
    """Lark-cython's contextual lexer, token for token, with first-character dispatch (see module docstring)."""

    def __init__(self, conf: LexerConf, states: dict[int, list[str]], reference: Any) -> None:
        self._conf = conf
        self._reference = reference  # lark's contextual lexer: raises the syntax errors
        self._ignore = frozenset(conf.ignore)
        terminal_names = set(conf.terminals_by_name)
        self._accepts = {state: frozenset(names) & terminal_names for state, names in states.items()}
        self._tables: dict[int, _StateTable] = {}
        self._by_accepts: dict[frozenset[str], _StateTable] = {}
        self._patterns: dict[tuple[str, ...], re.Pattern[str]] = {}
        self._firsts = {t.name: first_characters(t.pattern.to_regexp(), conf.g_regex_flags) for t in conf.terminals}
        cuts = {0, sys.maxunicode + 1}
        for ranges in self._firsts.values():
            for low, high in ranges:
                cuts.update((low, high + 1))
        # Code points split into intervals in which every character starts the same terminals.
        self._bounds = sorted(cuts)
        self._interval_terminals: dict[int, frozenset[str]] = {}

    def _table(self, state: int) -> _StateTable:
        accepts = self._accepts[state]
        table = self._by_accepts.get(accepts)
        if table is None:
            conf = self._conf
            terminals = [conf.terminals_by_name[name] for name in accepts | self._ignore]
            # lark's BasicLexer order and keyword folding, for the same terminal set
            terminals.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
            terminals, callbacks = _create_unless(terminals, conf.g_regex_flags, conf.re_module, conf.use_bytes)
            keywords = {
                name: {t.pattern.value: t.name for t in reversed(callback.scanner.terminals)}
                for name, callback in callbacks.items()
            }
            table = self._by_accepts[accepts] = _StateTable(terminals, keywords)
        self._tables[state] = table
        return table

    def _pattern(self, table: _StateTable, char: str) -> re.Pattern[str]:
        interval = bisect.bisect_right(self._bounds, ord(char)) - 1
        starting = self._interval_terminals.get(interval)
        if starting is None:
            low = self._bounds[interval]
            starting = frozenset(
                name for name, ranges in self._firsts.items() if any(a <= low <= b for a, b in ranges)
            )
            self._interval_terminals[interval] = starting
        candidates = tuple(t for t in table.terminals if t.name in starting)
        key = tuple(t.name for t in candidates)
        pattern = self._patterns.get(key)
        if pattern is None:
            alternation = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in candidates)
            pattern = re.compile(alternation, self._conf.g_regex_flags) if candidates else _NOTHING
            self._patterns[key] = pattern
        if len(table.by_char) < _MAX_CACHED_CHARS:
            table.by_char[char] = pattern
        return pattern

    def next_token(self, lexer_state: Any, parser_state: Any) -> Any:
        line_ctr = lexer_state.line_ctr
        text: str = lexer_state.text
        state = parser_state.position
        table = self._tables.get(state) or self._table(state)
        by_char = table.by_char
        pos: int = line_ctr.char_pos
        while pos < len(text):
            char = text[pos]
            match = (by_char.get(char) or self._pattern(table, char)).match(text, pos)
            if match is None:
                return next(self._reference.lex(lexer_state, parser_state))
            kind: str = match.lastgroup  # type: ignore[assignment]  # every alternative is a named group
            value = match.group()
            if kind in self._ignore:
                line_ctr.feed(value, True)
                pos = line_ctr.char_pos
                continue
            line, column = line_ctr.line, line_ctr.column
            line_ctr.feed(value, True)
            keywords = table.keywords.get(kind)
            if keywords is not None:
                kind = keywords.get(value, kind)
            token = Token(kind, value, pos, line, column, line_ctr.line, line_ctr.column, line_ctr.char_pos)
            lexer_state.last_token = token
            return token
        raise EOFError(self)


def install_dispatch_lexer(parser: Lark) -> None:
    """Give a lark-cython LALR parser a `DispatchLexer` in place of its contextual lexer (kept for errors).

    Leaves the parser as it is when its set-up is not the one `DispatchLexer` reproduces: another lexer, lexer
    callbacks or a post-lexer, or terminals with flags (case-insensitive keywords)."""
    frontend = parser.parser
    conf = frontend.lexer_conf
    reference = getattr(frontend, "lexer", None)
    if (
        not isinstance(reference, CythonContextualLexer)
        or conf.callbacks
        or conf.postlex is not None
        or any(t.pattern.flags for t in conf.terminals)
    ):
        return
    states = {state: [str(name) for name in row] for state, row in frontend.parser._parse_table.states.items()}
    frontend.lexer = DispatchLexer(conf, states, reference)
