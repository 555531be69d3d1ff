"""The safety gate: the only door to Lean.

Lean runs code while it elaborates (`#eval`, `run_cmd`, macros, elaborators, `initialize`, attributes,
`native_decide`, ...). Model output can contain any of it, so a text may reach Lean only if it is exactly
one `theorem`/`lemma`/`example` with a `sorry` proof, optionally preceded by a few plain `def`/`abbrev`
declarations with term bodies (the answer-style preamble).

Two independent checks must both pass:

1. A *lexical* scan of the raw text — nothing blanked, comments and string literals included — for every
   command and code-running keyword. Scanning the raw text means no disagreement between our comment or
   string handling and Lean's (raw strings, char literals containing quotes, nested comments) can hide a
   command from the gate: a forbidden word anywhere rejects the text.
2. A *structural* check with the statement grammar: the text parses, contains no commands, the
   declarations are of the allowed kinds, and the theorem's proof is `sorry` / `by sorry`.

`check_safe` never raises: any failure, including an internal one, is a rejection with a reason.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from autoformal.errors import StatementSyntaxError
from autoformal.syntax.model import Document, parse_document

MAX_SAFE_CHARS = 20_000
MAX_PREAMBLE = 5
_PREAMBLE_KEYWORDS = frozenset({"def", "abbrev"})

# Words that open a command or run code. `#` followed by a letter covers every `#command`.
_FORBIDDEN_WORDS = (
    "import", "open", "export", "set_option", "namespace", "section", "end", "variable", "universe",
    "omit", "include", "mutual", "run_cmd", "run_tac", "run_elab", "run_meta", "by_elab", "macro",
    "macro_rules", "syntax", "elab", "elab_rules", "declare_syntax_cat", "notation", "infix", "infixl",
    "infixr", "prefix", "postfix", "unsafe", "partial", "implemented_by", "extern", "initialize",
    "builtin_initialize", "attribute", "instance", "deriving", "native_decide", "decreasing_by",
    "termination_by", "where", "local", "scoped", "private", "protected", "opaque", "axiom", "class",
    "structure", "inductive", "unsafeIO", "unsafeBaseIO", "unsafeEIO", "dbg_trace", "dbgTrace",
    "dbgTraceIfShared", "evalExpr", "compile_inductive",
)
_FORBIDDEN = re.compile(
    r"(?<![\w.'!?])(?:" + "|".join(sorted(map(re.escape, _FORBIDDEN_WORDS), key=len, reverse=True)) + r")(?![\w'!?])"
    r"|#[A-Za-z_]\w*"         # #eval, #print, #exit, #check, ...
    r"|@\["                   # attributes run code (`@[implemented_by]`, `@[init]`, simp sets, ...)
    r"|\b(?:eval|by_elab)%"   # term-level evaluators
    r"|(?<![\w.'])Lean\.(?:Elab|Meta|Compiler|Environment)"
    r"|(?<![\w.'])IO\."
    r"|\br#*\""               # raw strings: not modelled by our lexer, so not allowed
)
# Control characters (other than tab/newline/CR) and bidirectional overrides: no statement needs them,
# and they make what a reviewer sees differ from what Lean reads.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")


class SafetyVerdict(BaseModel):
    """``ok`` is True only for text that may be sent to Lean; ``reason`` says why not (or "safe")."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    reason: str


def check_safe(text: object, *, document: Document | None = None) -> SafetyVerdict:
    """Decide whether ``text`` may be elaborated by Lean. Never raises, whatever the input.

    ``document``: the parse of exactly ``text``, when the caller has it (the pipeline's candidates carry
    theirs), so the text is not parsed again; every check on the text itself still runs."""
    try:
        return _check(text, document)
    except Exception as exc:  # the gate must fail closed, never open and never crash the caller
        return SafetyVerdict(ok=False, reason=f"rejected: internal error while checking ({type(exc).__name__})")


def _reject(reason: str) -> SafetyVerdict:
    return SafetyVerdict(ok=False, reason=reason)


def _check(text: object, document: Document | None) -> SafetyVerdict:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            return _reject("not valid UTF-8")
    if not isinstance(text, str):
        return _reject(f"expected a string, got {type(text).__name__}")
    if not text.strip():
        return _reject("empty statement")
    if len(text) > MAX_SAFE_CHARS:
        return _reject(f"too long: {len(text):,} characters (limit {MAX_SAFE_CHARS:,})")
    bad = _BAD_CHARS.search(text)
    if bad:
        return _reject(f"control or bidirectional-override character U+{ord(bad.group()):04X}")
    forbidden = _FORBIDDEN.search(text)
    if forbidden:
        word = forbidden.group().rstrip('"')
        return _reject(
            f"forbidden command or code-running construct `{word}` "
            "(only one theorem with a sorry proof may reach Lean)"
        )
    if document is not None:
        return _check_structure(document)
    try:
        doc = parse_document(text)
    except StatementSyntaxError as exc:
        return _reject(f"does not parse: {exc.reason} at line {exc.line}, column {exc.column}")
    return _check_structure(doc)


def _check_structure(doc: Document) -> SafetyVerdict:
    if doc.commands:
        return _reject(f"contains a `{doc.commands[0].kind}` command; only declarations are allowed")
    decls = doc.declarations
    if not decls:
        return _reject("no declaration")
    theorems = [d for d in decls if d.is_theorem]
    if len(theorems) != 1:
        return _reject(f"expected exactly one theorem/lemma/example, found {len(theorems)}")
    theorem = decls[-1]
    if not theorem.is_theorem:
        return _reject("the theorem must be the last declaration (only an answer preamble may precede it)")
    preamble = decls[:-1]
    if len(preamble) > MAX_PREAMBLE:
        return _reject(f"preamble has {len(preamble)} declarations (limit {MAX_PREAMBLE})")
    for decl in preamble:
        if decl.keyword not in _PREAMBLE_KEYWORDS:
            return _reject(f"preamble declaration `{decl.keyword}` not allowed (only def/abbrev)")
        if set(decl.modifiers) - {"noncomputable"}:
            return _reject(f"modifier `{' '.join(decl.modifiers)}` not allowed")
        if decl.proof_kind != "term":
            return _reject(f"preamble `{decl.name}` must have a term body (`:= value`), not a tactic block or match")
    if theorem.modifiers:
        return _reject(f"modifier `{' '.join(theorem.modifiers)}` not allowed on the theorem")
    if theorem.conclusion is None:
        return _reject("the theorem has no statement (`: type`)")
    if theorem.proof_kind == "none":
        return _reject("the theorem has no proof: end it with `:= sorry`")
    if not _is_sorry(theorem.proof, theorem.proof_kind):
        return _reject("the proof must be `sorry` or `by sorry` (tactic proofs can run code; replace them first)")
    return SafetyVerdict(ok=True, reason="safe")


def _is_sorry(proof: str | None, kind: str) -> bool:
    if proof is None:
        return False
    words = proof.split()
    return (kind == "term" and words == ["sorry"]) or (kind == "tactic" and words == ["by", "sorry"])
