"""Building the statement grammar's LALR parser: cached on disk, and with a leaner parse table.

Building the parser from `grammars/lean4_statement.lark` (grammar analysis, LALR tables) costs ≈0.7 s of
CPU, which every CLI call and worker process would pay. The built parser is therefore saved in the user's
cache directory (``$AUTOFORMAL_CACHE_DIR`` or ``~/.cache/autoformal``, under ``grammar/``) and loaded from
there in ≈0.1 s. The file name is a digest of everything the tables depend on (grammar text, lark and
lark-cython versions, Python version, options), so a changed grammar or an upgraded lark never loads a
stale parser. Writers save to a private temporary file and rename it into place, so concurrent processes
never see a half-written file; an unreadable, truncated or foreign file is ignored and replaced.

`streamline` then rewrites the parse table that lark hands its LALR loop so the loop's per-token and
per-reduction work stays in C: terminal names as plain strings (lark keys the table by its own `Token`
class, whose Python-level ``__eq__`` runs on every lookup), rules as identity-hashed records (lark's
``Rule.__eq__`` runs on every reduction, and a deserialised table holds copies of each rule), and
`operator.itemgetter(0)` for the single-symbol rules lark would pass through its Python `ExpandSingleChild`
wrapper. The automaton, the callbacks and therefore every parse result are unchanged.

With lark-cython, the contextual lexer is then replaced by `DispatchLexer`, which produces the same tokens
while trying only the terminals that can start with the character at hand (see `dispatch_lexer`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lark
from lark import Lark
from lark.lark import _LOAD_ALLOWED_OPTIONS
from lark.parse_tree_builder import ChildFilterLALR_NoPlaceholders, ExpandSingleChild

from autoformal._paths import cache_root, write_atomically
from autoformal.syntax.grammar import GRAMMAR_NAME, grammar_text
from autoformal.syntax.transform import TermBuilder

# Bump when what is stored changes meaning (e.g. different Lark options), so old files are never loaded.
_CACHE_FORMAT = 1
_OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": False}


def grammar_cache_dir() -> Path:
    """``$AUTOFORMAL_CACHE_DIR/grammar``, else ``~/.cache/autoformal/grammar``."""
    return cache_root() / "grammar"


def build_parser() -> Lark:
    """The statement parser, from the on-disk cache when a matching one is there, else built and saved."""
    plugins = _plugins()
    text = grammar_text()
    digest = _digest(text, plugins)
    path = grammar_cache_dir() / f"{Path(GRAMMAR_NAME).stem}-{digest[:32]}.lark.pickle"
    parser = _load(path, digest, plugins)
    if parser is None:
        parser = Lark(text, transformer=TermBuilder(), **_OPTIONS, **plugins)
        _save(parser, path, digest)
    streamline(parser)
    if plugins:
        from autoformal.syntax.dispatch_lexer import install_dispatch_lexer

        install_dispatch_lexer(parser)
    return parser


def _plugins() -> dict[str, Any]:
    try:  # the Cython build of lark's LALR runtime roughly doubles throughput; pure Python otherwise
        import lark_cython
    except ImportError:
        return {}
    return {"_plugins": lark_cython.plugins}


def _digest(text: str, plugins: dict[str, Any]) -> str:
    cython_version = "none"
    if plugins:
        import lark_cython

        cython_version = getattr(lark_cython, "__version__", "unknown")
    parts = [str(_CACHE_FORMAT), lark.__version__, cython_version, repr(sys.version_info[:2])]
    key = "\n".join([*parts, repr(sorted(_OPTIONS.items())), text])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _load(path: Path, digest: str, plugins: dict[str, Any]) -> Lark | None:
    """The cached parser, or None when the file is missing, for another grammar, or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header, _, payload = data.partition(b"\n")
    if header != digest.encode("ascii"):
        return None
    try:
        # `Lark.load` takes no transformer; its `_load` is what lark's own cache uses to pass one.
        return Lark.__new__(Lark)._load(io.BytesIO(payload), transformer=TermBuilder(), **plugins)
    except Exception:  # a truncated or corrupt file: rebuild (and overwrite it) rather than fail
        return None


def _save(parser: Lark, path: Path, digest: str) -> None:
    """Write atomically (temporary file + rename); a read-only or full disk only costs the next start-up."""
    buffer = io.BytesIO()
    buffer.write(digest.encode("ascii") + b"\n")
    parser.save(buffer, exclude_options=_LOAD_ALLOWED_OPTIONS)
    with contextlib.suppress(OSError):
        write_atomically(path, buffer.getvalue())


@dataclass(frozen=True, slots=True)
class _Origin:
    name: str


@dataclass(eq=False, slots=True)
class _Reduction:
    """What lark's LALR loop reads from a rule (``len(expansion)``, ``origin.name``), compared by identity."""

    origin: _Origin
    expansion: tuple[Any, ...]


def streamline(parser: Lark) -> None:
    """Swap the LALR loop's table and callbacks for equivalent ones it can use without Python-level calls
    (see the module docstring). Leaves the parser as it is if lark's internals are not the expected ones."""
    try:
        lalr = parser.parser.parser  # ParsingFrontend → LALR_Parser (lark's or lark-cython's)
        table = lalr._parse_table
        callbacks = parser.parser.parser_conf.callbacks
        runtime = type(lalr.parser)
    except AttributeError:
        return
    reductions: dict[Any, _Reduction] = {}
    fast_callbacks: dict[_Reduction, Callable[[list[Any]], Any]] = {}
    states: dict[Any, dict[str, tuple[Any, Any]]] = {}
    for state, row in table.states.items():
        fast_row: dict[str, tuple[Any, Any]] = {}
        for terminal, (action, arg) in row.items():
            if not isinstance(arg, int):  # a Reduce action's rule (Shift actions carry the next state)
                reduction = reductions.get(arg)
                if reduction is None:
                    origin = _Origin(sys.intern(str(arg.origin.name)))
                    reduction = reductions[arg] = _Reduction(origin, tuple(arg.expansion))
                    fast_callbacks[reduction] = _fast_callback(callbacks[arg], origin.name, len(arg.expansion))
                arg = reduction
            fast_row[sys.intern(str(terminal))] = (action, arg)
        states[state] = fast_row
    lalr.parser = runtime(type(table)(states, table.start_states, table.end_states), fast_callbacks)


class _Inlined(list[Any]):
    """The children of a rule the parent inlines (`_rule`, lark's `x*`/`x+` helpers). Lark builds a `Tree` for
    these through three Python calls, only for the parent's child filter to read its ``.children``."""

    __slots__ = ()
    children = property(list.copy)


def _fast_callback(callback: Callable[[list[Any]], Any], rule: str, size: int) -> Callable[[list[Any]], Any]:
    # `ExpandSingleChild` returns the only child of a one-symbol rule: the same as a C-level itemgetter.
    if type(callback) is ExpandSingleChild and size == 1:
        return operator.itemgetter(0)
    if rule.startswith("_"):  # inlined into its parent; lark's default node builder is a `partial`
        if isinstance(callback, functools.partial):
            return _Inlined
        if type(callback) is ChildFilterLALR_NoPlaceholders and isinstance(callback.node_builder, functools.partial):
            return ChildFilterLALR_NoPlaceholders(callback.to_include, _Inlined)
    return callback
