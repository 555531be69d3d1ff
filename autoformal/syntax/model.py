"""Parsed statements as pydantic models: what the rest of the pipeline consumes."""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    SkipValidation,
    computed_field,
    model_serializer,
)

from autoformal.errors import StatementSyntaxError
from autoformal.syntax.parser import parse_commands
from autoformal.syntax.printer import pretty
from autoformal.syntax.scope import free_identifiers
from autoformal.syntax.terms import Bound, Term
from autoformal.syntax.transform import RawCommand, RawDeclaration

BinderKind = Literal["explicit", "implicit", "strict_implicit", "instance"]
ProofKind = Literal["term", "tactic", "match", "none"]
THEOREM_KEYWORDS = frozenset({"theorem", "lemma", "example"})


class Binder(BaseModel):
    """A declaration binder: `(x y : ℝ)` gives two binders, `[Field F]` one anonymous instance binder."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: str | None
    kind: BinderKind


class Statement(BaseModel):
    """One declaration: `theorem|lemma|example|def|abbrev|instance [name] binders : type := body`.

    ``binders``, ``conclusion_text`` and ``identifiers`` are worked out from the trees when first read (the
    safety gate and canonical forms never need them) and then kept; they are serialised as before, in the
    same place."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    keyword: str
    name: str | None
    modifiers: list[str] = Field(default_factory=list)
    attributes: list[str] = Field(default_factory=list)
    proof: str | None = Field(description="The body/proof as written (`sorry`, `by simp`, a term), or None.")
    proof_kind: ProofKind
    text: str = Field(description="The declaration's source text.")
    # The trees are internal, frozen dataclasses: skipped by validation and by model_dump/JSON.
    conclusion: SkipValidation[Term | None] = Field(default=None, exclude=True, repr=False)
    body: SkipValidation[Term | None] = Field(default=None, exclude=True, repr=False)
    bound: SkipValidation[tuple[Bound, ...]] = Field(default=(), exclude=True, repr=False)

    @computed_field  # type: ignore[prop-decorator]
    @functools.cached_property
    def binders(self) -> list[Binder]:
        return [
            Binder(name=b.name, type=pretty(b.type) if b.type is not None else None, kind=b.kind)  # type: ignore[arg-type]
            for b in self.bound
        ]

    @computed_field(description="The type after the binders' `:`, pretty-printed.")  # type: ignore[prop-decorator]
    @functools.cached_property
    def conclusion_text(self) -> str | None:
        return pretty(self.conclusion) if self.conclusion is not None else None

    @computed_field(description="Free constants referenced, in order of first use.")  # type: ignore[prop-decorator]
    @functools.cached_property
    def identifiers(self) -> list[str]:
        # A def's body is part of what it says (answer abbrevs); a theorem's proof is not.
        scanned = [self.conclusion] if self.is_theorem else [self.conclusion, self.body]
        return free_identifiers(self.bound, scanned)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def conclusion_tree(self) -> dict[str, Any] | None:
        return self.conclusion.to_dict() if self.conclusion is not None else None

    @model_serializer(mode="wrap")
    def _in_declaration_order(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # computed fields come last by default; keep the order a declaration reads in (and always had)
        data: dict[str, Any] = handler(self)
        return {key: data[key] for key in _STATEMENT_ORDER if key in data}

    def __repr_args__(self) -> list[tuple[str | None, Any]]:
        args = dict(super().__repr_args__())
        return [(key, args[key]) for key in _STATEMENT_ORDER if key in args]

    @property
    def is_theorem(self) -> bool:
        return self.keyword in THEOREM_KEYWORDS


_STATEMENT_ORDER = (
    "keyword", "name", "modifiers", "attributes", "binders", "conclusion_text", "proof", "proof_kind",
    "identifiers", "text", "conclusion_tree",
)


class Command(BaseModel):
    """A non-declaration command in a document (`open …`, `set_option …`, `namespace …`)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    text: str


class Document(BaseModel):
    """A parsed source text: commands and declarations in order."""

    model_config = ConfigDict(frozen=True)

    declarations: list[Statement]
    commands: list[Command] = Field(default_factory=list)

    @property
    def theorem(self) -> Statement:
        """The last theorem/lemma/example (the statement the preamble serves)."""
        for decl in reversed(self.declarations):
            if decl.is_theorem:
                return decl
        raise StatementSyntaxError(
            "no theorem, lemma or example in the text", line=1, column=1, excerpt=""
        )

    @property
    def preamble(self) -> list[Statement]:
        """Declarations before the theorem (answer `abbrev`s, helper `def`s)."""
        theorem = self.theorem
        return [d for d in self.declarations if d is not theorem]


def _statement(raw: RawDeclaration, text: str) -> Statement:
    body = raw.body
    if body is None:
        proof, proof_kind, body_term = None, "none", None
    elif body.kind == "tactic":
        proof, proof_kind, body_term = " ".join(body.text.split()), "tactic", body.term
    elif body.kind == "match":
        proof, proof_kind, body_term = pretty(body.term) if body.term else "", "match", body.term
    else:
        assert body.term is not None
        proof, proof_kind, body_term = pretty(body.term), "term", body.term
    return Statement.model_construct(
        keyword=raw.keyword,
        name=raw.name,
        modifiers=raw.modifiers,
        attributes=raw.attributes,
        proof=proof,
        proof_kind=proof_kind,
        text=text,
        conclusion=raw.type,
        body=body_term,
        bound=tuple(raw.binders),
    )


@functools.lru_cache(maxsize=4096)
def parse_document(text: str) -> Document:
    """Parse a source text of declarations and commands (answer preamble + theorem, benchmark files).

    Results are cached by text: the pipeline parses each candidate several times (extraction, the safety
    gate, canonical form, scorers). Documents are frozen; treat them as read-only.
    """
    items = parse_commands(text)
    starts = [it.start for it in items] + [len(text)]
    declarations: list[Statement] = []
    commands: list[Command] = []
    for i, it in enumerate(items):
        end = next((s for s in starts[i + 1 :] if s >= 0), len(text))
        source = text[it.start : end].strip() if it.start >= 0 else ""
        if isinstance(it, RawCommand):
            commands.append(Command(kind=it.kind, text=source))
        else:
            declarations.append(_statement(it, source))
    return Document(declarations=declarations, commands=commands)


def parse_statement(text: str) -> Statement:
    """Parse exactly one declaration. For a preamble followed by a theorem use `parse_document`."""
    doc = parse_document(text)
    if len(doc.declarations) != 1 or doc.commands:
        found = len(doc.declarations) + len(doc.commands)
        raise StatementSyntaxError(
            f"expected exactly one declaration, found {found} declarations/commands "
            "(use parse_document for a preamble followed by a theorem)",
            line=1,
            column=1,
            excerpt="",
        )
    return doc.declarations[0]
