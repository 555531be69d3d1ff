"""Where a candidate came from: sample i of the first generation (round 0), or the model's correction of an
earlier candidate in repair round r, with the errors that caused it (or the judge's verdict, for a revision).

A repaired candidate's `parent` is the failed candidate with its own provenance, so the JSON of a result
carries the whole chain back to the first sample; `autoformal export --format repairs` reads it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from autoformal.checking.models import LeanMessage

Origin = Literal["sample", "repair", "revision"]


class RepairCause(BaseModel):
    """Why a candidate was sent back to the model: Lean's errors and the name check's unknown names (a repair),
    or the judge's verdict and reason (a revision)."""

    model_config = ConfigDict(frozen=True)

    lean_status: str | None = Field(
        default=None, description="The failed Lean check's status (error, timeout, ...); None: not sent to Lean."
    )
    messages: list[LeanMessage] = Field(
        default_factory=list, description="Lean's error messages, positions relative to the statement."
    )
    unknown_names: list[str] = Field(default_factory=list, description="Names the static name check rejected.")
    verdict: str | None = Field(default=None, description="The judge's verdict that asked for a revision.")
    reason: str | None = Field(default=None, description="The judge's reason.")


class Parent(BaseModel):
    """The candidate a repair or revision corrected, with what was wrong with it."""

    model_config = ConfigDict(frozen=True)

    statement: str
    canonical_form: str | None = None
    provenance: Provenance
    cause: RepairCause


class Provenance(BaseModel):
    """A candidate's origin. Round 0 is the first generation; repair round r ≥ 1 corrects round r-1's failures."""

    model_config = ConfigDict(frozen=True)

    origin: Origin = "sample"
    round: int = Field(default=0, ge=0)
    sample: int | None = Field(
        default=None, ge=0, description="Round 0: the index of the first of the k samples that produced this text."
    )
    parent: Parent | None = Field(default=None, description="What a repair or revision corrected.")

    @property
    def repaired(self) -> bool:
        """True for a repair or a revision (anything the model wrote after feedback)."""
        return self.origin != "sample"

    def chain(self) -> list[Parent]:
        """The corrected candidates, newest first, back to the first sample."""
        out: list[Parent] = []
        parent = self.parent
        while parent is not None:
            out.append(parent)
            parent = parent.provenance.parent
        return out

    def label(self) -> str:
        """A short tag for tables: `s3` (sample 3), `r1` (repair round 1), `v1` (judge revision, round 1)."""
        if self.origin == "sample":
            return f"s{self.sample}" if self.sample is not None else "s"
        return f"{'r' if self.origin == 'repair' else 'v'}{self.round}"


Parent.model_rebuild()


class RepairRound(BaseModel):
    """What one repair round of one input did: repair requests sent, distinct new statements they gave, how
    many reached a Lean verdict (the rest the safety gate or name check refused) and how many elaborated, and
    failures left unrepaired because the per-input request budget ran out."""

    model_config = ConfigDict(frozen=True)

    round: int = Field(ge=1)
    requests: int = 0
    new: int = 0
    checked: int = 0
    elaborated: int = 0
    over_budget: int = 0
