"""Pulling theorem statements out of raw LLM output.

Model output arrives as anything: reasoning traces, prose, ```lean fences (closed or truncated), several
candidates, answer preambles, full proofs. We return each complete statement (with the definitions that
precede it in the same block), comments removed, its proof replaced by `:= sorry`, deduplicated, in order.
A statement cut off before its proof is kept only if it still parses as a whole; one cut mid-term is
dropped rather than guessed at.
"""

from __future__ import annotations

import re

from autoformal.errors import StatementSyntaxError
from autoformal.syntax.lexing import blank_comments
from autoformal.syntax.model import THEOREM_KEYWORDS, Document, parse_document

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<(think|thinking|reasoning)>", re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_DECL_START = re.compile(
    r"(?:^|(?<=`)|(?<=\n))[ \t]*(?:@\[[^\]\n]*\][ \t\n]*)?(?:(?:private|protected|noncomputable)[ \t]+)*"
    r"(theorem|lemma|example|def|abbrev)\b",
    re.MULTILINE,
)
_LEAN_LANGS = frozenset({"", "lean", "lean4", "lean3"})
_OPENERS = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "⦃": "⦄", "⌊": "⌋", "⌈": "⌉"}
_CLOSERS = frozenset(_OPENERS.values())


def extract_statements(model_output: str | bytes) -> list[str]:
    """Theorem statements in ``model_output``, each ending in `:= sorry`, in order of appearance."""
    return list(extract_documents(model_output))


def extract_documents(model_output: str | bytes) -> dict[str, Document]:
    """`extract_statements` with each statement's parse (extraction parses them to find them; the pipeline's
    candidates carry that parse instead of parsing again)."""
    if isinstance(model_output, bytes):
        model_output = model_output.decode("utf-8", errors="replace")
    text = _strip_reasoning(model_output)
    found: dict[str, Document] = {}
    for block in _code_blocks(text):
        for statement, document in _statements_in_block(blank_comments(block)):
            found.setdefault(statement, document)
    return found


def _strip_reasoning(text: str) -> str:
    text = _THINK.sub("", text)
    unclosed = _THINK_OPEN.search(text)
    # an unclosed trace means the answer never came (or was cut off inside the trace)
    return text[: unclosed.start()] if unclosed else text


def _code_blocks(text: str) -> list[str]:
    blocks = [m.group(2) for m in _FENCE.finditer(text) if m.group(1).lower() in _LEAN_LANGS]
    return blocks or [text]


def _statements_in_block(block: str) -> list[tuple[str, Document]]:
    starts = [m.start(1) for m in _DECL_START.finditer(block)]
    out: list[tuple[str, Document]] = []
    preamble: list[str] = []
    for i, start in enumerate(starts):
        line_start = block.rfind("\n", 0, start) + 1
        head = block[line_start:start]
        begin = line_start if not head.strip() or head.strip().startswith(("@[", "noncomputable")) else start
        end = starts[i + 1] if i + 1 < len(starts) else len(block)
        if end < len(block) and block.rfind("\n", begin, end) > begin:
            end = block.rfind("\n", begin, end) + 1  # the next declaration's line (and its modifiers) is not ours
        segment = block[begin:end]
        keyword = _DECL_START.match(block, begin)
        kind = keyword.group(1) if keyword else ""
        if kind in THEOREM_KEYWORDS:
            closed = _close_theorem(segment, preamble)
            if closed is not None:
                out.append(closed)
            preamble = []
        else:
            definition = _tidy(segment)
            if _parses_as_definition(definition):
                preamble.append(definition)
    return out


def _tidy(segment: str) -> str:
    lines = [line.rstrip() for line in segment.strip("\n").split("\n")]
    return "\n".join(line for line in lines if line.strip()).strip()


def _parses_as_definition(text: str) -> bool:
    try:
        doc = parse_document(text)
    except StatementSyntaxError:
        return False
    return len(doc.declarations) == 1 and not doc.commands


def _close_theorem(segment: str, preamble: list[str]) -> tuple[str, Document] | None:
    """The theorem in ``segment`` with its proof replaced by `:= sorry` (and its parse), or None if none
    parses."""
    for head in _statement_heads(segment):
        candidate = "\n\n".join([*preamble, _tidy(head) + " := sorry"])
        try:
            doc = parse_document(candidate)
        except StatementSyntaxError:
            continue
        theorem = doc.declarations[-1] if doc.declarations else None
        if theorem is not None and theorem.is_theorem and theorem.conclusion is not None and not doc.commands:
            return candidate, doc
    return None


def _statement_heads(segment: str) -> list[str]:
    """Plausible statement texts (everything before the proof), most likely first."""
    heads = [segment[:pos] for pos in _top_level_assigns(segment)]
    blank = re.search(r"\n[ \t]*\n", segment.strip("\n"))
    heads.append(segment)
    if blank:
        heads.append(segment.strip("\n")[: blank.start()])
    return heads


def _top_level_assigns(text: str) -> list[int]:
    """Positions of `:=` outside every bracket (the proof separator is the first that works)."""
    positions = []
    depth = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _OPENERS:
            depth += 1
        elif c in _CLOSERS:
            depth = max(depth - 1, 0)
        elif c == '"':
            end = text.find('"', i + 1)
            i = n if end < 0 else end
        elif c == ":" and text.startswith(":=", i) and depth == 0:
            positions.append(i)
        i += 1
    return positions
