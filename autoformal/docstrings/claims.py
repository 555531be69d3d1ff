"""Splitting a docstring into the claims worth a theorem each, with the docstring lines each one comes from.

- description paragraphs (outside sections) → `postcondition` claims ("Return the list sorted ascending.");
  a paragraph starting with "Raises"/"Raise" → a `raises` claim;
- `Returns:` / `Raises:` sections (Google style), `:returns:` / `:raises X:` fields (reST) → one claim per
  entry; `Args:`/`Parameters:`/`Examples:` headings and parameter descriptions are context, not claims;
- doctests (`>>> call` and the expected output lines after it) → `example` claims.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ClaimKind = Literal["postcondition", "raises", "returns", "example"]

_SECTION = re.compile(r"^(?P<name>[A-Z][A-Za-z ]*):\s*$")
_NUMPY_UNDERLINE = re.compile(r"^-{3,}\s*$")
_CONTEXT_SECTIONS = {
    "args",
    "arguments",
    "parameters",
    "params",
    "keyword args",
    "attributes",
    "note",
    "notes",
    "see also",
    "references",
    "todo",
    "warning",
    "warnings",
    "yields",
    "examples",
    "example",
}
_CLAIM_SECTIONS = {"returns": "returns", "return": "returns", "raises": "raises", "raise": "raises"}
_EXCEPTION_ENTRY = re.compile(r"^[A-Z]\w*(?:\.\w+)*\s*:")
_REST_FIELD = re.compile(r"^:(?P<field>returns?|raises?)(?:\s+(?P<arg>[\w.]+))?:\s*(?P<text>.*)$")


class Claim(BaseModel):
    """One claim; `lines` are 0-based docstring line indices (add `PyFunction.docstring_line` for the file)."""

    model_config = ConfigDict(frozen=True)

    kind: ClaimKind
    text: str
    lines: list[int] = Field(min_length=1)


def split_claims(docstring: str) -> list[Claim]:
    lines = docstring.splitlines()
    claims: list[Claim] = []
    paragraph: list[int] = []
    section: str | None = None  # current section name (lowercase), None in the description
    entry: list[int] = []  # lines of the current section entry
    i = 0

    def flush_paragraph() -> None:
        if paragraph:
            text = " ".join(lines[k].strip() for k in paragraph)
            kind: ClaimKind = "raises" if re.match(r"Raises?\b", text) else "postcondition"
            claims.append(Claim(kind=kind, text=text, lines=list(paragraph)))
            paragraph.clear()

    def flush_entry() -> None:
        if entry and section in _CLAIM_SECTIONS:
            text = " ".join(lines[k].strip() for k in entry)
            claims.append(Claim(kind=_CLAIM_SECTIONS[section], text=text, lines=list(entry)))  # type: ignore[arg-type]
        entry.clear()

    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith(">>>"):
            flush_paragraph()
            flush_entry()
            i = _doctest(lines, i, claims)
            continue
        header = _SECTION.match(stripped)
        numpy_header = i + 1 < len(lines) and _NUMPY_UNDERLINE.match(lines[i + 1].strip()) and stripped
        if header or numpy_header:
            flush_paragraph()
            flush_entry()
            section = (header["name"] if header else stripped).strip().lower()
            i += 2 if numpy_header and not header else 1
            continue
        field = _REST_FIELD.match(stripped)
        if field:
            flush_paragraph()
            flush_entry()
            kind: ClaimKind = "raises" if field["field"].startswith("raise") else "returns"
            prefix = f"Raises {field['arg']}: " if kind == "raises" and field["arg"] else ""
            claims.append(Claim(kind=kind, text=prefix + field["text"], lines=[i]))
            i += 1
            continue
        if not stripped:
            flush_paragraph()
            flush_entry()
            if section is not None and _section_ended(lines, i):
                section = None
        elif section is None:
            if re.match(r":\w+", stripped):  # other reST fields (:param x:, :type x:) are context
                pass
            else:
                paragraph.append(i)
        elif section in _CLAIM_SECTIONS:
            # a Raises section lists `Error: when` entries; anything else continues the current entry
            if entry and _CLAIM_SECTIONS[section] == "raises" and _EXCEPTION_ENTRY.match(stripped):
                flush_entry()
            entry.append(i)
        i += 1
    flush_paragraph()
    flush_entry()
    return claims


def _section_ended(lines: list[str], blank: int) -> bool:
    """A blank line ends a section when the next text is not indented (Google style sections indent entries)."""
    following = next((line for line in lines[blank + 1 :] if line.strip()), None)
    return following is None or (not following.startswith((" ", "\t")) and not _SECTION.match(following.strip()))


def _doctest(lines: list[str], start: int, claims: list[Claim]) -> int:
    """Read one `>>>` call (with `...` continuation lines) and its expected output; return the next index.
    A call without output (setup such as `>>> xs = [3, 1]`) is no claim; the model sees it in the docstring."""
    call = [lines[start].strip()[3:].strip()]
    used = [start]
    i = start + 1
    while i < len(lines) and lines[i].strip().startswith("..."):
        call.append(lines[i].strip()[3:].strip())
        used.append(i)
        i += 1
    output: list[str] = []
    while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(">>>"):
        output.append(lines[i].strip())
        used.append(i)
        i += 1
    source = " ".join(call)
    if output:
        expected = " ".join(output)
        if expected.startswith("Traceback"):
            error = output[-1]
            claims.append(Claim(kind="example", text=f"`{source}` raises {error}", lines=used))
        else:
            claims.append(Claim(kind="example", text=f"`{source}` evaluates to `{expected}`", lines=used))
    return i
