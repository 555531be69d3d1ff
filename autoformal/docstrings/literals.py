"""Python values → Lean literals, printed by our code (never by the model), directed by the Python annotation.

Only values with an exact core-Lean counterpart are printed: `int` (as `Int`), `bool`, `str` (printable
characters), lists, tuples, `Optional`, dicts (as association lists, in insertion order). Anything else
(floats, sets, objects, a value that does not fit its annotation) raises `UnprintableValueError`, and the caller
counts it as skipped. Also reads a docstring's examples: doctests and `Examples:` lines of the form
`f(args) == value` / `f(args) -> value`, whose arguments and results are Python literals.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from autoformal.docstrings.source import PyFunction
from autoformal.errors import UnprintableValueError

_LISTS = {"list", "List", "Sequence", "MutableSequence"}
_DICTS = {"dict", "Dict", "Mapping", "MutableMapping"}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def lean_literal(value: object, annotation: str) -> str:
    """The Lean literal for `value` of Python type `annotation` (atomic: safe as a function argument)."""
    try:
        node = ast.parse(annotation, mode="eval").body
    except SyntaxError:
        raise UnprintableValueError(f"annotation `{annotation}` does not parse") from None
    return _print(value, node)


def _print(value: object, node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return lean_literal(value, node.value)
    optional = _optional_of(node)
    if optional is not None:
        return "none" if value is None else f"(some {_print(value, optional)})"
    head, params = _head(node)
    if head == "int" and type(value) is int:
        return str(value) if value >= 0 else f"({value})"
    if head == "bool" and type(value) is bool:
        return "true" if value else "false"
    if head == "str" and isinstance(value, str):
        if any(not ch.isprintable() and ch not in _ESCAPES for ch in value):
            raise UnprintableValueError("a string with control characters")
        return '"' + "".join(_ESCAPES.get(ch, ch) for ch in value) + '"'
    if head in _LISTS and len(params) == 1 and isinstance(value, list):
        return "[" + ", ".join(_print(v, params[0]) for v in value) + "]"
    if head in {"tuple", "Tuple"} and isinstance(value, tuple):
        if len(params) == 2 and isinstance(params[1], ast.Constant) and params[1].value is Ellipsis:
            return "[" + ", ".join(_print(v, params[0]) for v in value) + "]"
        if len(params) == len(value) >= 2:
            return "(" + ", ".join(_print(v, p) for v, p in zip(value, params, strict=True)) + ")"
    if head in _DICTS and len(params) == 2 and isinstance(value, dict):
        pairs = (f"({_print(k, params[0])}, {_print(v, params[1])})" for k, v in value.items())
        return "[" + ", ".join(pairs) + "]"
    raise UnprintableValueError(f"{type(value).__name__} value for `{ast.unparse(node)}` has no Lean literal we print")


def _optional_of(node: ast.expr) -> ast.expr | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = [node.left, node.right]
        others = [s for s in sides if not (isinstance(s, ast.Constant) and s.value is None)]
        return others[0] if len(others) == 1 else None
    head, params = _head(node)
    if head == "Optional" and len(params) == 1:
        return params[0]
    return None


def _head(node: ast.expr) -> tuple[str, list[ast.expr]]:
    if isinstance(node, ast.Subscript):
        params = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        return ast.unparse(node.value).rsplit(".", 1)[-1], params
    return ast.unparse(node).rsplit(".", 1)[-1], []


class DocExample(BaseModel):
    """One input/output pair the docstring states: `f(*args) == expected`."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="As written in the docstring (`f([3, 1]) == [1, 3]`).")
    line: int = Field(description="File line.")
    args: tuple[Any, ...]
    expected: Any


_EXAMPLE_LINE = re.compile(r"^(?P<call>\w+\(.*\))\s*(?:==|->|→|returns)\s*(?P<value>.+?)\.?$")


def doc_examples(function: PyFunction) -> tuple[list[DocExample], int]:
    """The docstring's examples of calls to `function` with literal arguments and result, and how many other
    example-like lines were not read (calls with variables, raised exceptions, several statements)."""
    lines = function.docstring.splitlines()
    found: list[DocExample] = []
    unread = 0
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        start = i
        i += 1
        if stripped.startswith(">>>"):
            call = stripped[3:].strip()
            while i < len(lines) and lines[i].strip().startswith("..."):
                call += " " + lines[i].strip()[3:].strip()
                i += 1
            output: list[str] = []
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(">>>"):
                output.append(lines[i].strip())
                i += 1
            if not output:
                continue  # setup (`>>> xs = [1]`): no claim
            text = f"{call} == {' '.join(output)}"
            example = _read(function, call, " ".join(output), text, function.docstring_line + start)
        elif (match := _EXAMPLE_LINE.match(stripped)) and match["call"].startswith(function.name + "("):
            example = _read(function, match["call"], match["value"], stripped, function.docstring_line + start)
        else:
            continue
        if example is None:
            unread += 1
        else:
            found.append(example)
    return found, unread


def _read(function: PyFunction, call: str, value: str, text: str, line: int) -> DocExample | None:
    try:
        node = ast.parse(call, mode="eval").body
        expected = ast.literal_eval(value)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function.name):
        return None
    names = [p.name for p in function.params if p.kind not in {"var_positional", "var_keyword"}]
    try:
        args = [ast.literal_eval(a) for a in node.args]
        keywords = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    for name in names[len(args) :]:
        if name not in keywords:
            return None
        args.append(keywords.pop(name))
    if keywords or len(args) != len(names):
        return None
    return DocExample(source=text, line=line, args=tuple(args), expected=expected)
