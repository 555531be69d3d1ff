"""Declarations from a Lean 4 source tree, without Lean (a user's Mathlib checkout, their own project).

Syntactic only, like ``decls.jsonl.gz``: signatures are source text, not elaborated types. Handled:
namespaces (``namespace``/``end``, ``_root_``), sections and ``variable`` scopes, ``@[...]`` attributes over
several lines, modifiers, ``open/set_option/variable ... in`` prefixes, multi-line signatures, docstrings,
nested comments and string literals (comments are blanked with the statement grammar's lexer, so positions
stay exact). Commands are recognised at the start of a line, Mathlib's style.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from autoformal.corpus.errors import CorpusFormatError
from autoformal.corpus.models import Declaration
from autoformal.syntax.lexing import blank_comments

DECLARATION_KINDS = (
    "class inductive",
    "class abbrev",
    "irreducible_def",
    "theorem",
    "lemma",
    "def",
    "instance",
    "abbrev",
    "class",
    "structure",
    "inductive",
    "opaque",
    "axiom",
)
MODIFIERS = (
    "private",
    "protected",
    "noncomputable",
    "nonrec",
    "partial",
    "unsafe",
    "scoped",
    "local",
    "public",
    "meta",
)
_KIND = re.compile(r"(?:" + "|".join(re.escape(kind).replace(r"\ ", r"\s+") for kind in DECLARATION_KINDS) + r")\b")
_MODIFIER = re.compile(r"(?:" + "|".join(MODIFIERS) + r")\b")
_IN_PREFIX = re.compile(r"(?:open|set_option|variable|include|omit)\b[^\n]*?\bin\b\s*", re.S)
_NAME = re.compile(r"(?:«[^»]*»|[^\s()\[\]{}⦃⦄:,@\"]+)")
_TERMINATOR = re.compile(r":=|\bwhere\b|\bderiving\b|\|")
_OPENERS, _CLOSERS = "([{⦃⟨", ")]}⦄⟩"


@dataclass
class _Scope:
    kind: str  # "namespace" or "section"
    name: str
    variables: list[str] = field(default_factory=list)


def module_name(root: Path, path: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts)


def iter_lean_files(root: Path) -> Iterator[Path]:
    """``*.lean`` under ``root``, sorted, skipping hidden directories (``.lake``, ``.git``) below it."""
    for path in sorted(root.rglob("*.lean")):
        if not any(part.startswith(".") for part in path.relative_to(root).parts[:-1]):
            yield path


def _balanced_end(text: str, start: int) -> int:
    """Index just past the bracket group opening at ``text[start]`` (or the end of text)."""
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _split_top_level(text: str, separator: str = ",") -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth -= 1
        if ch == separator and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _signature_end(text: str) -> int:
    """Where the signature stops: the first top-level ``:=``, ``where``, ``|`` or ``deriving``."""
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            j = text.find('"', i + 1)
            i = len(text) if j < 0 else j + 1
            continue
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth = max(0, depth - 1)
        elif depth == 0:
            match = _TERMINATOR.match(text, i)
            if match and (match.group(0) != "|" or text[max(0, i - 1)] in " \n"):
                return i
        i += 1
    return len(text)


def _command_starts(blanked: str) -> list[int]:
    """Offsets of lines that start at column 0 with non-blank (non-comment) text."""
    starts = [0] if blanked[:1].strip() else []
    starts.extend(m.start() + 1 for m in re.finditer(r"\n(?=\S)", blanked))
    return starts


def _docstrings(text: str, blanked: str) -> list[tuple[int, int, str]]:
    """``(start, end, content)`` of every ``/-- ... -/`` (they are blanked like comments)."""
    found: list[tuple[int, int, str]] = []
    for match in re.finditer(r"/--", text):
        start = match.start()
        if blanked[start] != " " or (found and start < found[-1][1]):
            continue
        end = start
        while end < len(text) and blanked[end] in " \n":
            end += 1
        content = text[start + 3 : end].rstrip()
        content = content[:-2] if content.endswith("-/") else content
        found.append((start, end, content.strip()))
    return found


def parse_lean_source(
    text: str, *, module: str | None = None, path: str | None = None
) -> tuple[list[Declaration], int]:
    """Declarations of one Lean file, and the number of anonymous instances skipped."""
    blanked = blank_comments(text)
    docstrings = _docstrings(text, blanked)
    scopes: list[_Scope] = []
    declarations: list[Declaration] = []
    anonymous = 0
    docstring_by_end = {end: content for _, end, content in docstrings}
    # A command runs to the next column-0 line; docstrings (blanked) never start a command themselves.
    for start, end in _commands(blanked):
        chunk = blanked[start:end]
        command = chunk.strip()
        head = command.split(maxsplit=1)[0] if command else ""
        if head == "namespace":
            for part in command.split()[1].split(".") if len(command.split()) > 1 else []:
                scopes.append(_Scope("namespace", part))
            continue
        if head == "end":
            name = command.split()[1] if len(command.split()) > 1 else ""
            for _ in range(max(1, name.count(".") + 1) if name else 1):
                if scopes:
                    scopes.pop()
            continue
        if re.match(r"(?:@\[[^\]]*\]\s*)?(?:(?:noncomputable|public)\s+)*section\b", command):
            scopes.append(_Scope("section", ""))
            continue
        if head == "variable" and not re.search(r"\bin\b", command.split("\n", 1)[0]):
            binders = " ".join(command[len("variable") :].split())
            if scopes:
                scopes[-1].variables.append(binders)
            continue
        declaration = _parse_declaration(chunk, start, text, docstrings, docstring_by_end, scopes, module, path)
        if declaration is None:
            continue
        if declaration.name:
            declarations.append(declaration)
        else:
            anonymous += 1
    return declarations, anonymous


def _read_prefix(chunk: str) -> tuple[int, list[str], list[str]]:
    """Skip ``open ... in``-style prefixes, ``@[...]`` and modifiers; return where the keyword starts."""
    i = len(chunk) - len(chunk.lstrip())
    attributes: list[str] = []
    modifiers: list[str] = []
    while True:
        prefix = _IN_PREFIX.match(chunk, i)
        if prefix:
            i = prefix.end()
            continue
        if chunk.startswith("@[", i):
            close = _balanced_end(chunk, i + 1)
            attributes.extend(_split_top_level(" ".join(chunk[i + 2 : close - 1].split())))
            i = close
        elif modifier := _MODIFIER.match(chunk, i):
            modifiers.append(modifier.group(0))
            i = modifier.end()
        else:
            break
        i += len(chunk[i:]) - len(chunk[i:].lstrip())
    return i, attributes, modifiers


def _commands(blanked: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each command: column-0 lines, with prefix-only lines (``@[simp]`` alone on its
    line, ``open Foo in``) merged into the command they prefix."""
    starts = _command_starts(blanked)
    bounds = list(zip(starts, [*starts[1:], len(blanked)], strict=True))
    merged: list[tuple[int, int]] = []
    pending: int | None = None
    for start, end in bounds:
        chunk = blanked[start:end]
        first = start if pending is None else pending
        consumed, _, _ = _read_prefix(chunk)
        head = chunk.split(maxsplit=1)[0] if chunk.strip() else ""
        if not chunk[consumed:].strip() and head not in {"end", "namespace", "section"}:
            pending = first
            continue
        merged.append((first, end))
        pending = None
    return merged


def _parse_declaration(
    chunk: str,
    offset: int,
    text: str,
    docstrings: list[tuple[int, int, str]],
    docstring_by_end: dict[int, str],
    scopes: list[_Scope],
    module: str | None,
    path: str | None,
) -> Declaration | None:
    i, attributes, modifiers = _read_prefix(chunk)
    kind_match = _KIND.match(chunk, i)
    if kind_match is None:
        return None
    kind = " ".join(kind_match.group(0).split())
    i = kind_match.end()
    rest = chunk[i:].lstrip()
    if kind == "instance" and rest.startswith("("):
        after_priority = _balanced_end(rest, 0)
        if "priority" in rest[:after_priority]:
            rest = rest[after_priority:].lstrip()
    name = ""
    name_match = _NAME.match(rest)
    if name_match and not rest.startswith(":"):
        name = name_match.group(0).replace("«", "").replace("»", "")
        rest = rest[name_match.end() :]
    if kind == "instance" and name and not re.match(r"[\w.«»'!?]+$", name):
        name = ""
    signature = " ".join(rest[: _signature_end(rest)].split())
    namespace = ".".join(scope.name for scope in scopes if scope.kind == "namespace") or None
    if name.startswith("_root_."):
        full_name = name.removeprefix("_root_.")
    else:
        full_name = f"{namespace}.{name}" if namespace and name else name
    docstring = docstring_by_end.get(offset)
    if docstring is None:  # docstring after `open ... in` / attributes, inside the chunk
        inner = [content for start, end, content in docstrings if offset <= start < offset + i]
        docstring = inner[-1] if inner else None
    variables = tuple(binders for scope in scopes for binders in scope.variables)
    return Declaration(
        name=full_name,
        variables=variables,
        kind=kind,
        signature=signature,
        docstring=docstring,
        module=module,
        path=path,
        line=text.count("\n", 0, offset + i) + 1,
        namespace=namespace,
        attributes=tuple(attributes),
        modifiers=tuple(modifiers),
    )


def read_lean_tree(root: Path) -> tuple[list[Declaration], int]:
    """All named declarations under ``root`` and the number of anonymous ones skipped."""
    declarations: list[Declaration] = []
    anonymous = 0
    files = [root] if root.is_file() else list(iter_lean_files(root))
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise CorpusFormatError(
                f"{file}: not valid UTF-8 ({exc.reason} at byte {exc.start}); Lean sources must be UTF-8"
            ) from None
        base = root if root.is_dir() else file.parent
        found, skipped = parse_lean_source(text, module=module_name(base, file), path=str(file.relative_to(base)))
        declarations.extend(found)
        anonymous += skipped
    return declarations, anonymous
