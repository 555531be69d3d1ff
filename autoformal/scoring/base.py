"""The `Scorer` protocol and what scorers read (`ScoringCandidate`) and return (`Score`).

A scorer sees all candidates of one input at once, because some scores are relative (self-consistency
clusters the candidates); scorers that judge one candidate at a time derive from `PerCandidateScorer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from autoformal.checking.models import CheckResult
from autoformal.checking.probes import ProbeReport
from autoformal.names.checker import NameCheckResult
from autoformal.provenance import Provenance
from autoformal.scoring.judge import Judgement
from autoformal.syntax import Document, parse_document


class Score(BaseModel):
    """One scorer's verdict on one candidate: `value` in [0, 1] (1 = looks faithful) and why."""

    model_config = ConfigDict(frozen=True)

    value: float = Field(ge=0.0, le=1.0)
    explanation: str


class ScoringCandidate(BaseModel):
    """A candidate as the scorers see it. `document` is None when the statement does not parse."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    statement: str
    document: SkipValidation[Document | None] = None
    canonical_form: str | None = None
    lean: CheckResult | None = None
    back_translation: str | None = None
    judgement: Judgement | None = Field(default=None, description="The LLM judge's verdict, when one was asked.")
    names: NameCheckResult | None = Field(
        default=None, description="The static name check's verdict, under the input's header and context."
    )
    multiplicity: int = Field(default=1, ge=1, description="How many samples produced this exact text.")
    provenance: Provenance = Field(
        default_factory=Provenance, description="Sample i of round 0, or a repair/revision and what it corrected."
    )
    probes: ProbeReport | None = Field(
        default=None, description="Lean's vacuity/triviality/refutation probes, when they ran."
    )
    annotations: dict[str, Any] = Field(
        default_factory=dict,
        description="Per-candidate data later stages attach (provenance, probe flags); JSON-serialisable values.",
    )
    equivalence_class: str | None = Field(
        default=None,
        description="Canonical form naming the cluster Lean proved this candidate equivalent to (its own when "
        "none); None when equivalence was not checked. Self-consistency counts members as agreeing.",
    )

    @property
    def agreement_key(self) -> str | None:
        """What self-consistency compares: the proven-equivalence class, else the canonical form."""
        return self.equivalence_class or self.canonical_form

    @classmethod
    def from_statement(cls, statement: str, **fields: object) -> ScoringCandidate:
        """Parse `statement` (and canonicalise it) when the grammar accepts it; keep it unparsed otherwise."""
        try:
            document = parse_document(statement)
        except Exception:  # a syntax error, or a grammar bug: one candidate loses its parse, not the batch
            return cls(statement=statement, **fields)  # type: ignore[arg-type]
        return cls.from_document(statement, document, **fields)

    @classmethod
    def from_document(cls, statement: str, document: Document, **fields: object) -> ScoringCandidate:
        """A candidate whose parse is already known (extraction parses what it extracts), canonicalised; a
        document the canonicaliser cannot handle leaves the candidate unparsed."""
        from autoformal.syntax import canonical_form

        try:
            canonical = canonical_form(document)
        except Exception:  # a grammar bug must cost one candidate its parse, not the whole batch its run
            return cls(statement=statement, **fields)  # type: ignore[arg-type]
        return cls(statement=statement, document=document, canonical_form=canonical, **fields)  # type: ignore[arg-type]

    def annotated(self, **annotations: Any) -> ScoringCandidate:
        """This candidate with `annotations` added (a later key replaces an earlier one)."""
        return self.model_copy(update={"annotations": {**self.annotations, **annotations}})


@runtime_checkable
class Scorer(Protocol):
    """Scores every candidate of one informal input: one `Score` per candidate, in order."""

    @property
    def name(self) -> str: ...

    async def score(self, informal: str, candidates: Sequence[ScoringCandidate]) -> list[Score]: ...


class PerCandidateScorer:
    """Base for deterministic scorers that judge each candidate on its own (`score_one`)."""

    name = "per_candidate"

    def score_one(self, informal: str, candidate: ScoringCandidate) -> Score:
        raise NotImplementedError

    async def score(self, informal: str, candidates: Sequence[ScoringCandidate]) -> list[Score]:
        return [self.score_one(informal, candidate) for candidate in candidates]
