"""Translation of a Python function into a Lean `def` of the same name and type, sampled from the model.

The prompt carries the Python source, the Lean signature we derive (`def name (x : T) … : R`) and retrieved
declarations. What the model answers passes the safety gate exactly as an answer preamble does: plain `def`s
and `abbrev`s with term bodies, no attributes, no `partial`/`unsafe`/`implemented_by`, no commands, at most a
few helpers before the translated def. The accepted text is re-printed one declaration per line (comments
blanked, lines joined) and must keep its canonical form, so what Lean sees is what the gate judged.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Sequence

from pydantic import BaseModel, ConfigDict, Field

from autoformal.corpus.models import Declaration
from autoformal.docstrings.source import PyFunction
from autoformal.docstrings.types import LeanDeclaration, TypeOptions, lean_type
from autoformal.errors import StatementSyntaxError, UntypableError
from autoformal.llm.models import ChatMessage
from autoformal.syntax import canonical_form, check_safe, parse_document
from autoformal.syntax.lexing import blank_comments

#: The proposition appended to a candidate so the gate judges it as an answer preamble.
_PROBE = "example : True := sorry"
_FENCE = re.compile(r"```[a-zA-Z0-9]*\n(.*?)```", re.S)


class LeanSignature(BaseModel):
    """`def name (x₁ : T₁) … : R`: what the translated def must declare (the `opaque` type, with names)."""

    model_config = ConfigDict(frozen=True)

    name: str
    params: tuple[tuple[str, str], ...]
    result: str
    annotations: tuple[str, ...] = Field(description="The Python annotations of the parameters, in order.")
    returns: str = Field(description="The Python return annotation.")

    @property
    def text(self) -> str:
        binders = "".join(f" ({n} : {t})" for n, t in self.params)
        return f"def {self.name}{binders} : {self.result}"


def lean_signature(
    function: PyFunction, declaration: LeanDeclaration, classes: Collection[str], options: TypeOptions
) -> LeanSignature:
    """The signature of the def modelling a plain (module-level) function; `UntypableError` otherwise."""
    if function.kind not in {"function", "staticmethod"}:
        raise UntypableError(f"{function.kind}s are not translated (they need a model of the instance)")
    params: list[tuple[str, str]] = []
    for param in function.params:
        assert param.annotation is not None  # `declare_function` succeeded, so every parameter is typed
        name = param.name if check_safe(f"theorem t ({param.name} : Nat) : True := sorry").ok else f"{param.name}'"
        params.append((name, lean_type(param.annotation, classes, module=function.module, options=options)))
    assert function.returns is not None
    result = lean_type(function.returns, classes, module=function.module, options=options)
    return LeanSignature(
        name=declaration.name,
        params=tuple(params),
        result=result,
        annotations=tuple(p.annotation or "" for p in function.params),
        returns=function.returns,
    )


def function_source(function: PyFunction) -> str:
    """The function's source text, as in the file (`ast` locates it; nothing is imported)."""
    text = function.file.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.lineno == function.line:
            return ast.get_source_segment(text, node) or ""
    return ""


def translation_messages(
    function: PyFunction, source: str, signature: LeanSignature, declarations: Sequence[Declaration] = ()
) -> list[ChatMessage]:
    short = signature.name.rsplit(".", 1)[-1]
    related = "\n".join(f"{d.kind} {d.name} {d.signature}" for d in declarations)
    user = (
        f"Translate this Python function into a Lean 4 `def` that computes the same result.\n\n"
        f"```python\n{source}\n```\n\n"
        f"The def must have exactly this name and type:\n```lean\n{signature.text} := ...\n```\n"
        "Use core Lean only (Int, Nat, Bool, String, List, Option, products). Prefer structural recursion "
        f"(`match` on a list, recursive calls by the short name `{short}`) or List functions. No `partial`, no "
        "attributes, no tactic blocks, no `termination_by`; at most a few helper defs before it.\n"
        + (f"\nRelated declarations:\n{related}\n" if related else "")
        + "\nAnswer with the Lean code only, in one ```lean block."
    )
    system = "You translate Python functions into equivalent, computable Lean 4 definitions."
    return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]


def repair_messages(translation: Sequence[ChatMessage], failed: str, feedback: str) -> list[ChatMessage]:
    """The translation conversation continued: the failed def as the model's answer, then what the kernel found
    wrong with it (`feedback`: Lean's error, the examples it could not prove, a shrunk counterexample), and the
    request for a corrected def of the same name and type."""
    user = (
        f"{feedback}\n\nCorrect the def so that it computes what the Python function computes. Keep exactly the "
        "same name and type, and the same rules (core Lean, no `partial`, no attributes, no tactic blocks). "
        "Answer with the corrected Lean code only, in one ```lean block."
    )
    return [
        *translation,
        ChatMessage(role="assistant", content=f"```lean\n{failed}\n```"),
        ChatMessage(role="user", content=user),
    ]


class CandidateDef(BaseModel):
    """A translation that passed the gate: `defs` one per line, the translated def last."""

    model_config = ConfigDict(frozen=True)

    defs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.defs)


def extract_def(answer: str, name: str) -> CandidateDef | str:
    """The gated def(s) in a model answer, or why there are none."""
    blocks = _FENCE.findall(answer)
    code = (blocks[-1] if blocks else answer).strip()
    if not code:
        return "empty answer"
    probe = f"{code}\n{_PROBE}"
    verdict = check_safe(probe)
    if not verdict.ok:
        return f"refused by the safety gate: {verdict.reason}"
    document = parse_document(probe)
    if not document.preamble:
        return "no def in the answer"
    last = document.preamble[-1]
    if last.keyword != "def" or last.name != name:
        return f"the last declaration is `{last.keyword} {last.name}`, not `def {name}`"
    defs = tuple(one_line(d.text) for d in document.preamble)
    one_lined = "\n".join([*defs, _PROBE])
    try:
        same = canonical_form(one_lined) == canonical_form(probe) and check_safe(one_lined).ok
    except StatementSyntaxError:
        same = False
    if not same:
        return "the def changes meaning when written on one line (layout-sensitive syntax); not sent"
    return CandidateDef(defs=defs)


def one_line(text: str) -> str:
    """A declaration on one line: comments blanked, line breaks (and the indentation after them) to one space."""
    return re.sub(r"\s*\n\s*", " ", blank_comments(text)).strip()
