"""Character-level preprocessing shared by the parser, the safety gate and the extractor.

Lean comments nest (`/- /- -/ -/`) and may contain anything, so a regular grammar cannot skip them; we
blank them out with spaces instead (newlines kept) so every position reported later still points into the
original text.
"""

from __future__ import annotations

import re


def blank_comments(text: str) -> str:
    """Replace `-- …` line comments and (nested) `/- … -/` block comments, docstrings included, by spaces.

    String and char literals are respected (`"--"` is not a comment). An unterminated block comment blanks
    the rest of the text, as Lean would swallow it.
    """
    if "--" not in text and "/-" not in text:  # most statements: nothing to blank
        return text
    out: list[str] = []
    done = 0  # text[:done] is already in `out`
    i, n = 0, len(text)
    while i < n:
        found = _COMMENT_OR_STRING.search(text, i)
        if found is None:
            break
        i = found.start()
        if text[i] == '"':
            i = _skip_string(text, i)
            continue
        j = _line_end(text, i) if text[i] == "-" else _skip_block_comment(text, i)
        out.append(text[done:i])
        out.append(_NOT_NEWLINE.sub(" ", text[i:j]))
        done = i = j
    out.append(text[done:])
    return "".join(out)


# What `blank_comments` stops at; everything in between is copied as is.
_COMMENT_OR_STRING = re.compile(r'"|--|/-')
_NOT_NEWLINE = re.compile(r"[^\n]")


def _line_end(text: str, i: int) -> int:
    j = text.find("\n", i)
    return len(text) if j < 0 else j


def _skip_string(text: str, i: int) -> int:
    """Index just past the string literal starting at ``text[i] == '"'`` (or the end of the text)."""
    j = i + 1
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == '"':
            return j + 1
        j += 1
    return n


def _skip_block_comment(text: str, i: int) -> int:
    """Index just past the nested block comment starting at ``text[i:i+2] == '/-'``."""
    depth = 0
    j, n = i, len(text)
    while j < n:
        if text.startswith("/-", j):
            depth += 1
            j += 2
        elif text.startswith("-/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    return n


_LET = re.compile(r"(?<![\w.'])(?:let|letI|have|haveI)\s")


def terminate_let_lines(text: str) -> str:
    """Make newline-terminated `let`/`have` explicit by appending `;` to the line that ends the binding.

    Lean ends `let x := v` at a newline when the next line starts at or left of the `let` column
    (PutnamBench writes statements this way). The statement grammar has no layout rule, so we insert the
    `;` Lean implies. Only a line's end changes: line numbers and every other column stay valid.
    """
    if "let" not in text and "have" not in text:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines[:-1]):
        col = _let_column(line)
        if col < 0 or ";" in line[col:]:
            continue
        depth = _bracket_delta(line[col:])
        last = i  # the last non-blank line of the binding
        for j in range(i + 1, len(lines)):
            nxt = lines[j]
            if not nxt.strip():
                continue
            indent = len(nxt) - len(nxt.lstrip())
            if depth <= 0 and indent <= col:
                lines[last] += ";"
                break
            depth += _bracket_delta(nxt)
            last = j
            if depth < 0:
                break
    return "\n".join(lines)


def _let_column(line: str) -> int:
    """Column of the last `let`/`have` on the line, or -1."""
    last = -1
    for m in _LET.finditer(line):
        last = m.start()
    return last


_OPENERS = "([{⟨⦃⌊⌈⁅⟪"
_CLOSERS = ")]}⟩⦄⌋⌉⁆⟫"


def _bracket_delta(segment: str) -> int:
    return sum(segment.count(c) for c in _OPENERS) - sum(segment.count(c) for c in _CLOSERS)
