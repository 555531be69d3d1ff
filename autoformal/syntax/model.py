"""Parsed statements as pydantic models: what the rest of the pipeline consumes."""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, computed_field

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
    """One declaration: `theorem|lemma|example|def|abbrev|instance [name] binders : type := body`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    keyword: str
    name: str | None
    modifiers: list[str] = Field(default_factory=list)
    attributes: list[str] = Field(default_factory=list)
    binders: list[Binder] = Field(default_factory=list)
    conclusion_text: str | None = Field(description="The type after the binders' `:`, pretty-printed.")
    proof: str | None = Field(description="The body/proof as written (`sorry`, `by simp`, a term), or None.")
    proof_kind: ProofKind
    identifiers: list[str] = Field(description="Free constants referenced, in order of first use.")
    text: str = Field(description="The declaration's source text.")
    # The trees are internal, frozen dataclasses: skipped by validation and by model_dump/JSON.
    conclusion: SkipValidation[Term | None] = Field(default=None, exclude=True, repr=False)
    body: SkipValidation[Term | None] = Field(default=None, exclude=True, repr=False)
    bound: SkipValidation[tuple[Bound, ...]] = Field(default=(), exclude=True, repr=False)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def conclusion_tree(self) -> dict[str, Any] | None:
        return self.conclusion.to_dict() if self.conclusion is not None else None

    @property
    def is_theorem(self) -> bool:
        return self.keyword in THEOREM_KEYWORDS


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
    binders = [
        Binder(name=b.name, type=pretty(b.type) if b.type is not None else None, kind=b.kind)  # type: ignore[arg-type]
        for b in raw.binders
    ]
    # A def's body is part of what it says (answer abbrevs); a theorem's proof is not.
    scanned = [raw.type] if raw.keyword in THEOREM_KEYWORDS else [raw.type, body_term]
    return Statement.model_construct(
        keyword=raw.keyword,
        name=raw.name,
        modifiers=raw.modifiers,
        attributes=raw.attributes,
        binders=binders,
        conclusion_text=pretty(raw.type) if raw.type is not None else None,
        proof=proof,
        proof_kind=proof_kind,
        identifiers=free_identifiers(raw.binders, scanned),
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
