"""What the `Formalizer` returns: ranked candidates with every score, the Lean verdict, the back-translation
(and the judge's verdict on it), plus per-stage counts and timings so users can see where candidates were lost."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from autoformal.checking.models import CheckResult
from autoformal.checking.probes import ProbeReport
from autoformal.provenance import Provenance, RepairRound
from autoformal.scoring.judge import Judgement


class RankedCandidate(BaseModel):
    """One candidate statement after scoring. `rank` 1 is the best."""

    model_config = ConfigDict(frozen=True)

    rank: int = Field(ge=1, description="1 = best.")
    statement: str = Field(description="Full Lean text: answer preamble (if any) and theorem, proof `:= sorry`.")
    canonical_form: str | None = Field(
        default=None, description="The grammar's canonical form; None when the candidate does not parse."
    )
    score: float = Field(ge=0.0, le=1.0, description="The ranker's combined score.")
    scores: dict[str, float] = Field(default_factory=dict, description="Every scorer's score, each in [0, 1].")
    explanations: dict[str, str] = Field(default_factory=dict, description="Why each scorer scored as it did.")
    lean: CheckResult | None = Field(default=None, description="Lean's verdict; None when not checked.")
    back_translation: str | None = Field(default=None, description="The LLM's English rendering, if computed.")
    judgement: Judgement | None = Field(
        default=None, description="The LLM judge's verdict on the back-translation; None when the judge is off."
    )
    cluster_size: int = Field(
        default=1, ge=1, description="Candidates of this input sharing this canonical form (itself included)."
    )
    provenance: Provenance = Field(
        default_factory=Provenance,
        description="Sample i of the first generation, or a repair/revision with the chain of what it corrected.",
    )
    probes: ProbeReport | None = Field(
        default=None, description="Lean's probes (vacuous/trivial/refuted, each with its tactic), when they ran."
    )
    annotations: dict[str, Any] = Field(
        default_factory=dict, description="What later stages attached to the candidate (provenance, probe flags)."
    )

    @property
    def elaborated(self) -> bool | None:
        """True/False when Lean checked the candidate, None when it was not checked."""
        return None if self.lean is None else self.lean.ok


class FormalizationResult(BaseModel):
    """The outcome of formalizing one input."""

    model_config = ConfigDict(frozen=True)

    input: str
    candidates: list[RankedCandidate] = Field(default_factory=list, description="Best first.")
    stage_counts: dict[str, int] = Field(
        default_factory=dict,
        description="Candidates surviving each stage that filters, keyed by the stage's name, in pipeline order "
        "(`autoformal.pipeline.STAGE_NAMES`; optional stages such as `names` appear when they run).",
    )
    timings: dict[str, float] = Field(
        default_factory=dict, description="Seconds spent per stage, keyed by the stage's name, and `total`."
    )
    lean_checked: bool = Field(
        description="False when elaboration was skipped (`--no-lean` or no checker): nothing here was "
        "confirmed by Lean."
    )
    errors: list[str] = Field(default_factory=list, description="Problems that did not stop the run.")
    model: str | None = Field(default=None, description="The LLM that generated the candidates.")
    repair_rounds: list[RepairRound] = Field(
        default_factory=list, description="What each repair round did (empty: no repair was needed or asked for)."
    )
    extra_requests: int = Field(
        default=0, ge=0, description="LLM requests beyond the first generation: repairs and judge revisions."
    )

    @property
    def best(self) -> RankedCandidate | None:
        return self.candidates[0] if self.candidates else None
