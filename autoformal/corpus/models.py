"""Corpus records: Mathlib declarations (retrieval targets) and solved examples (few-shot prompts)."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field


def _stable_hash(payload: dict[str, object]) -> str:
    # sort_keys + compact separators: the hash must not depend on field order or formatting.
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


class Declaration(BaseModel):
    """One Mathlib (or user) declaration as a formalizer needs to see it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Fully qualified name, e.g. `Finset.sum_range_succ`.")
    kind: str = Field(description="theorem, lemma, def, instance, abbrev, class, structure, ...")
    signature: str = Field(description="Binders and type as text, starting with a binder or `:`.")
    docstring: str | None = None
    module: str | None = Field(default=None, description="e.g. `Mathlib.Algebra.BigOperators.Basic`.")
    path: str | None = None
    line: int | None = None
    namespace: str | None = Field(default=None, description="Namespace in force at the declaration.")
    attributes: tuple[str, ...] = Field(
        default=(),
        description="Contents of `@[...]`, one entry per attribute, e.g. `to_additive (attr := simp)`.",
    )
    modifiers: tuple[str, ...] = Field(default=(), description="`private`, `protected`, `noncomputable`, ...")
    variables: tuple[str, ...] = Field(
        default=(), description="`variable` binders in scope (a superset of what Lean adds to the statement)."
    )
    derived_from: str | None = Field(
        default=None,
        description="Set on declarations synthesized from an attribute (e.g. the `@[to_additive]` twin of "
        "`Finset.prod_range_succ` has `derived_from='Finset.prod_range_succ'`).",
    )

    @property
    def statement(self) -> str:
        """The declaration as Lean source, without body: `theorem Foo.bar (x : α) : p x`."""
        return f"{self.kind} {self.name} {self.signature}".rstrip()

    @property
    def content_hash(self) -> str:
        """Stable hash of everything that influences this declaration's embedding and display."""
        return _stable_hash(
            {"name": self.name, "kind": self.kind, "signature": self.signature, "docstring": self.docstring}
        )


class Example(BaseModel):
    """A solved (informal, formal) pair shown to the model as a few-shot example."""

    model_config = ConfigDict(frozen=True)

    id: str
    informal: str
    formal: str = Field(description="Lean 4 statement (optionally preceded by an answer preamble), proof `sorry`.")
    header: str | None = Field(default=None, description="Imports/opens the formal statement needs.")
    source: str | None = None

    @property
    def content_hash(self) -> str:
        return _stable_hash({"informal": self.informal, "formal": self.formal, "header": self.header})
