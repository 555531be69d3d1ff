"""Docstrings → specification theorems: plan (scan, type, declare, split claims), then formalize every claim with
the `Formalizer`, the `opaque` declarations passed as its trusted `context` (they come from our code, never
from the model)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from autoformal.batch import BatchInput, RunsBatches
from autoformal.checking.semantic import SemanticChecker
from autoformal.docstrings.claims import Claim, split_claims
from autoformal.docstrings.modelling import (
    DifferentialConfig,
    FunctionModel,
    SearchDeclarations,
    TranslationConfig,
    model_function,
)
from autoformal.docstrings.source import PyFunction, SourceError, scan_python
from autoformal.docstrings.types import (
    LeanDeclaration,
    TypeOptions,
    UntypableError,
    declare_class,
    declare_field,
    declare_function,
)
from autoformal.llm.base import LLMBackend
from autoformal.results import FormalizationResult

_INSTRUCTIONS = {
    "postcondition": "State this claim of the docstring as one Lean theorem about `{name}`:",
    "returns": "State what this docstring says about the return value as one Lean theorem about `{name}`:",
    "raises": (
        "The Python function raises an exception in the situation below. Lean functions do not raise, so state "
        "the function's specification under the opposite condition: a Lean theorem about `{name}` whose "
        "hypothesis is the precondition that rules this situation out:"
    ),
    "example": "State this doctest as a Lean `example` about `{name}` with the concrete values:",
}


class ClaimSpec(BaseModel):
    """One docstring claim and what the Formalizer made of it."""

    kind: str
    text: str
    file_lines: list[int] = Field(description="1-based lines of the source file the claim comes from.")
    quoted: list[str] = Field(description="The docstring lines, as written.")
    result: FormalizationResult | None = None
    error: str | None = Field(default=None, description="Why there is no result (the Formalizer raised).")


class FunctionSpec(BaseModel):
    file: Path
    line: int
    qualname: str
    signature: str
    docstring: str
    declaration: LeanDeclaration | None = None
    not_declared: str | None = Field(default=None, description="Why the function could not be typed in Lean.")
    claims: list[ClaimSpec] = Field(default_factory=list)
    model: FunctionModel | None = Field(default=None, description="With --translate: the Lean def and its evidence.")
    python: PyFunction | None = Field(default=None, exclude=True, description="What was scanned (for translation).")
    classes: list[str] = Field(default_factory=list, exclude=True, description="The module's classes.")

    @property
    def lean_model(self) -> str | None:
        """What models the function in Lean: the accepted def(s), else the `opaque` declaration."""
        if self.model is not None and self.model.accepted:
            return self.model.accepted
        return self.declaration.text if self.declaration is not None else None


class DocstringReport(BaseModel):
    """Everything `autoformal docstrings` found and produced (also the JSON report)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: Path
    files: list[Path]
    source_errors: list[SourceError] = Field(default_factory=list)
    undocumented: int = 0
    header: str
    declarations: list[LeanDeclaration] = Field(description="Class types, their typed fields, then functions.")
    skipped_fields: list[str] = Field(default_factory=list, description="Class fields not declared, with why.")
    functions: list[FunctionSpec]
    lean_checked: bool | None = Field(default=None, description="None until formalized.")
    model: str | None = None
    translated: bool = Field(default=False, description="Whether --translate ran (defs instead of opaques).")

    @property
    def context(self) -> str:
        """The trusted declarations, as Lean text (the Formalizer's `context`): each function's accepted def
        (it passed the gate as a preamble and the kernel checked it on examples) or its `opaque` declaration."""
        accepted = {f.declaration.name: f.lean_model for f in self.functions if f.declaration is not None}
        return "\n".join(accepted.get(d.name) or d.text for d in self.declarations)

    def pending_claims(self) -> list[tuple[FunctionSpec, ClaimSpec]]:
        """Claims of declared functions without a result yet (a resumed report keeps earlier results)."""
        return [(f, c) for f in self.functions if f.declaration is not None for c in f.claims if c.result is None]


def plan_docstrings(path: str | Path, *, header: str, options: TypeOptions | None = None) -> DocstringReport:
    """Read `path` and decide what to declare and which claims to formalize; calls no model."""
    options = options or TypeOptions()
    scan = scan_python(path)
    declarations: list[LeanDeclaration] = []
    functions: list[FunctionSpec] = []
    used_classes: set[tuple[str, str]] = set()
    for function in scan.functions:
        classes = scan.classes.get(function.module, [])
        spec = FunctionSpec(
            file=function.file,
            line=function.line,
            qualname=function.qualname,
            signature=function.signature,
            docstring=function.docstring,
            python=function,
            classes=list(classes),
        )
        try:
            spec.declaration = declare_function(function, classes, options)
        except UntypableError as exc:
            spec.not_declared = str(exc)
        else:
            used_classes.update((function.module, c) for c in classes if _mentions(spec.declaration, function, c))
        spec.claims = [_claim_spec(function, claim) for claim in split_claims(function.docstring)]
        functions.append(spec)
    function_decls = [f.declaration for f in functions if f.declaration is not None]
    taken = {d.name for d in function_decls}
    class_decls: list[LeanDeclaration] = []
    field_decls: list[LeanDeclaration] = []
    skipped_fields: list[str] = []
    for module, class_name in sorted(used_classes):
        class_decls.append(declare_class(module, class_name, options))
        for field in scan.fields.get(".".join(filter(None, [module, class_name])), []):
            try:
                declaration = declare_field(module, class_name, field, scan.classes.get(module, []), options)
            except UntypableError as exc:
                skipped_fields.append(str(exc))
                continue
            if declaration.name in taken:  # a method or property of the same name models it already
                continue
            field_decls.append(declaration)
    declarations = class_decls + field_decls + function_decls
    return DocstringReport(
        path=Path(path),
        files=scan.files,
        source_errors=scan.errors,
        undocumented=scan.undocumented,
        header=header,
        declarations=declarations,
        skipped_fields=skipped_fields,
        functions=functions,
    )


def _mentions(declaration: LeanDeclaration, function: PyFunction, class_name: str) -> bool:
    class_type = ".".join(filter(None, [function.module, class_name]))
    return class_type in declaration.type.replace("(", " ").replace(")", " ").split()


def _claim_spec(function: PyFunction, claim: Claim) -> ClaimSpec:
    doc_lines = function.docstring.splitlines()
    return ClaimSpec(
        kind=claim.kind,
        text=claim.text,
        file_lines=[function.docstring_line + i for i in claim.lines],
        quoted=[doc_lines[i].strip() for i in claim.lines],
    )


def informal_text(function: FunctionSpec, claim: ClaimSpec) -> str:
    """What the model is asked: the function, its Lean declaration, the docstring, and the one claim."""
    assert function.declaration is not None
    name = function.declaration.name
    return (
        f"Python function `{function.signature}` is modelled in Lean by the declaration\n"
        f"{function.lean_model}\n\n"
        f'Its docstring:\n"""\n{function.docstring}\n"""\n\n'
        f"{_INSTRUCTIONS[claim.kind].format(name=name)}\n{claim.text}"
    )


async def formalize_docstrings(
    report: DocstringReport,
    formalizer: RunsBatches,
    *,
    concurrency: int | None = None,
    on_done: Callable[[FunctionSpec, ClaimSpec], None] | None = None,
) -> DocstringReport:
    """Formalize every claim of every declared function (in place), `concurrency` claims at a time (None: the
    Formalizer's inputs limit; `Formalizer.run_batch`). A claim whose formalization fails keeps the error; the
    others carry on; a fatal error (no endpoint, no Lean: every claim would fail alike) raises."""
    claims = report.pending_claims()
    inputs = [
        BatchInput(text=informal_text(function, claim), header=report.header, context=report.context)
        for function, claim in claims
    ]
    models: set[str] = set()
    checked: set[bool] = set()
    async for outcome in formalizer.run_batch(inputs, limit=concurrency):
        function, claim = claims[outcome.index]
        if outcome.result is None:
            claim.error = f"{type(outcome.error).__name__}: {outcome.error}"
        else:
            claim.result = outcome.result
            checked.add(outcome.result.lean_checked)
            if outcome.result.model:
                models.add(outcome.result.model)
        if on_done is not None:
            on_done(function, claim)
    report.lean_checked = all(checked) if checked else None
    report.model = ", ".join(sorted(models)) or None
    return report


async def translate_docstrings(
    report: DocstringReport,
    backend: LLMBackend,
    semantic: SemanticChecker,
    *,
    options: TypeOptions,
    config: TranslationConfig,
    search: SearchDeclarations | None = None,
    differential: DifferentialConfig | None = None,
    concurrency: int = 4,
    on_done: Callable[[FunctionSpec], None] | None = None,
) -> DocstringReport:
    """Model every declared function by a Lean def (in place; see `autoformal.docstrings.modelling`), before
    `formalize_docstrings`, so the spec theorems are stated about the accepted defs."""
    gate = asyncio.Semaphore(concurrency)

    async def one(function: FunctionSpec) -> None:
        assert function.declaration is not None and function.python is not None
        async with gate:
            function.model = await model_function(
                function.python,
                function.declaration,
                function.classes,
                backend=backend,
                semantic=semantic,
                header=report.header,
                options=options,
                config=config,
                search=search,
                differential=differential,
            )
        if on_done is not None:
            on_done(function)

    await asyncio.gather(*(one(f) for f in report.functions if f.declaration is not None and f.python is not None))
    report.translated = True
    return report
