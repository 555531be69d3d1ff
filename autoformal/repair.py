"""The refinement loop: failed candidates go back to the model with what was wrong, and its corrections are
checked like first-round candidates.

- **Lean repair.** A candidate fails when Lean answered with an error, or when the static name check found a
  name that certainly does not exist. Failures are grouped by canonical form (members of a group say the same
  thing, so one repair serves them all), most-sampled first, and each group's representative goes back in a
  repair prompt (`prompts.build_repair_messages`: the input, the failed statement, Lean's errors with line,
  column and the source line, the unknown names, the retrieved declarations). Each answer's first statement is
  a new candidate, handed to the caller's `admit` (the same extract → parse → safety gate → names → Lean stages
  as round 0). This repeats for up to `rounds` rounds, each repairing the previous round's failures, and stops
  early once `min_elaborated` candidates elaborate.
- **Judge revision.** When the judge finds the top candidate weaker, stronger or unrelated, its reason goes
  back once for a revision, which competes in the ranking with the rest.
- **Budget.** Every extra LLM request (a repair or a revision) is one unit of a per-input budget,
  `max_requests`; what the budget left unrepaired is reported, never silently skipped.

Requests go through the backend the loop is given (the cached one), so a resumed run gets its repairs from
the cache. Timeouts and crashes are not repaired: Lean said nothing the model could act on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from autoformal.checking.models import CheckStatus
from autoformal.errors import AutoformalError
from autoformal.llm.base import LLMBackend
from autoformal.llm.models import ChatMessage, GenerationRequest
from autoformal.prompts import (
    PromptBudget,
    TokenCounter,
    build_repair_messages,
    build_revision_messages,
    format_check_errors,
)
from autoformal.provenance import Parent, Provenance, RepairCause, RepairRound
from autoformal.scoring import ScoringCandidate
from autoformal.syntax import extract_statements

if TYPE_CHECKING:
    from autoformal.corpus.models import Declaration


class Admitted(BaseModel):
    """What the admission stages made of new statements: candidates that go on to ranking (verdicts attached)
    and candidates the name check refused (not sent to Lean, but repairable: their unknown names are errors).
    What the safety gate refuses is in neither: it never reaches Lean or the model again."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kept: list[ScoringCandidate] = Field(default_factory=list)
    refused: list[ScoringCandidate] = Field(default_factory=list)


#: Runs new model statements through the same stages as the first samples (extract → parse → safety gate →
#: names → Lean).
Admit = Callable[[list[str]], Awaitable[Admitted]]

#: Judge verdicts that ask for a revision.
REVISABLE_VERDICTS = frozenset({"weaker", "stronger", "unrelated"})


class RepairSettings(BaseModel):
    """The loop's settings (from `FormalizerConfig`: `repair_rounds`, `min_elaborated`, `repair_max_requests`,
    `judge_revision`)."""

    model_config = ConfigDict(frozen=True)

    rounds: int = Field(default=1, ge=0, description="Repair rounds after the first generation; 0: no repair.")
    min_elaborated: int = Field(default=1, ge=1, description="Stop repairing once this many candidates elaborate.")
    max_requests: int = Field(default=8, ge=0, description="Extra LLM requests (repairs + revisions) per input.")
    judge_revision: bool = Field(default=False, description="One revision of a top candidate the judge rejects.")


class RepairOutcome(BaseModel):
    """The new candidates (verdicts attached, provenance set), the rounds run and problems to report."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    candidates: list[ScoringCandidate] = Field(default_factory=list)
    rounds: list[RepairRound] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rounds)


def cause_of(candidate: ScoringCandidate, line_offset: int = 0) -> RepairCause | None:
    """What a repair prompt can tell the model about a failed candidate; None when it did not fail, or failed
    without anything to act on (a timeout, a crash, no verdict). `line_offset`: lines of trusted context sent
    before the statement in the same check, subtracted so positions count from the statement's first line."""
    unknown = [u.name for u in candidate.names.unknown] if candidate.names is not None else []
    lean = candidate.lean
    lean_failed = lean is not None and lean.status == CheckStatus.ERROR
    if not lean_failed and not unknown:
        return None
    messages = [
        m.model_copy(
            update={
                "line": m.line - line_offset,
                "end_line": m.end_line - line_offset if m.end_line is not None else None,
            }
        )
        for m in (lean.messages if lean is not None and lean_failed else [])
        if m.is_error
    ]
    status = lean.status.value if lean is not None else None
    return RepairCause(lean_status=status, messages=messages, unknown_names=unknown)


def elaborated(candidate: ScoringCandidate) -> bool:
    return candidate.lean is not None and candidate.lean.ok


def _key(candidate: ScoringCandidate) -> str:
    return candidate.canonical_form or candidate.statement


class RepairLoop:
    """Runs repair rounds and judge revisions for one input at a time (see the module docstring).

    `request` turns prompt messages into the `GenerationRequest` to send (the generation settings, n=1).
    """

    def __init__(
        self,
        backend: LLMBackend,
        settings: RepairSettings,
        request: Callable[[list[ChatMessage]], GenerationRequest],
        *,
        budget: PromptBudget | None = None,
        count_tokens: TokenCounter | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self._request = request
        self._budget = budget
        self._count_tokens = count_tokens

    async def repair(
        self,
        informal: str,
        candidates: Sequence[ScoringCandidate],
        admit: Admit,
        *,
        declarations: Sequence[Declaration] = (),
        budget_left: int | None = None,
        line_offset: int = 0,
    ) -> RepairOutcome:
        """Repair rounds over `candidates` (round 0's, verdicts attached, name-refused ones included). Returns only
        the new candidates that go on to ranking. `line_offset`: see `cause_of`."""
        settings = self.settings
        left = settings.max_requests if budget_left is None else budget_left
        seen = {_key(c) for c in candidates}
        done = sum(1 for c in candidates if elaborated(c))
        previous = list(candidates)
        new: list[ScoringCandidate] = []
        rounds: list[RepairRound] = []
        errors: list[str] = []
        for number in range(1, settings.rounds + 1):
            if done >= settings.min_elaborated:
                break
            failures = self._failures(previous, line_offset)
            if not failures:
                break
            sent = failures[:left]
            over = len(failures) - len(sent)
            if over:
                errors.append(
                    f"repair round {number}: the budget of {settings.max_requests} extra LLM requests per input "
                    f"(repair_max_requests) left {over} of {len(failures)} failed statements unrepaired"
                )
            if not sent:
                rounds.append(RepairRound(round=number, over_budget=over))
                break
            requests = [
                self._request(
                    build_repair_messages(
                        informal,
                        c.statement,
                        format_check_errors(
                            c.statement,
                            cause.messages,
                            c.names.unknown if c.names is not None else (),
                        ),
                        declarations,
                        self._budget,
                        count_tokens=self._count_tokens,
                    )
                )
                for c, cause in sent
            ]
            left -= len(requests)
            try:
                results = await self.backend.agenerate(requests)
            except AutoformalError as exc:  # the first round's candidates stand; say why none were repaired
                errors.append(f"repair round {number}: the LLM request failed ({type(exc).__name__}: {exc})")
                rounds.append(RepairRound(round=number, requests=len(requests), over_budget=over))
                break
            provenances = []
            statements = []
            for (failed, cause), result in zip(sent, results, strict=True):
                parent = Parent(
                    statement=failed.statement,
                    canonical_form=failed.canonical_form,
                    provenance=failed.provenance,
                    cause=cause,
                )
                provenances.append(Provenance(origin="repair", round=number, parent=parent))
                statements.append(self._new_statement([c.text for c in result.completions], seen))
            answers = sum(1 for s in statements if s is not None)
            admitted = await self._admit_all(admit, statements, provenances)
            good = sum(1 for c in admitted.kept if elaborated(c))
            done += good
            new += admitted.kept
            previous = admitted.kept + admitted.refused
            rounds.append(
                RepairRound(
                    round=number,
                    requests=len(requests),
                    new=answers,
                    checked=len(admitted.kept),
                    elaborated=good,
                    over_budget=over,
                )
            )
        return RepairOutcome(candidates=new, rounds=rounds, errors=errors)

    async def revise(
        self,
        informal: str,
        top: ScoringCandidate,
        admit: Admit,
        *,
        existing: Sequence[ScoringCandidate] = (),
    ) -> list[ScoringCandidate]:
        """One revision of `top` when the judge found it weaker, stronger or unrelated (else nothing): the new
        candidate, checked, or nothing when the answer held no statement or the gate refused it. The caller
        spends one unit of budget when `wants_revision` says so."""
        judgement = top.judgement
        if judgement is None or judgement.verdict not in REVISABLE_VERDICTS:
            return []
        messages = build_revision_messages(
            informal, top.statement, judgement.verdict, judgement.reason, self._budget, count_tokens=self._count_tokens
        )
        result = (await self.backend.agenerate([self._request(messages)]))[0]
        cause = RepairCause(
            lean_status=top.lean.status.value if top.lean is not None else None,
            verdict=judgement.verdict,
            reason=judgement.reason,
        )
        parent = Parent(
            statement=top.statement, canonical_form=top.canonical_form, provenance=top.provenance, cause=cause
        )
        provenance = Provenance(origin="revision", round=1, parent=parent)  # one revision per input
        statement = self._new_statement([c.text for c in result.completions], {_key(c) for c in existing})
        return (await self._admit_all(admit, [statement], [provenance])).kept

    def wants_revision(self, top: ScoringCandidate | None, budget_left: int) -> bool:
        return (
            self.settings.judge_revision
            and budget_left > 0
            and top is not None
            and top.judgement is not None
            and top.judgement.verdict in REVISABLE_VERDICTS
        )

    @staticmethod
    def _failures(
        candidates: Sequence[ScoringCandidate], line_offset: int
    ) -> list[tuple[ScoringCandidate, RepairCause]]:
        """One representative per canonical form among the failed candidates, most-sampled forms first."""
        groups: dict[str, tuple[ScoringCandidate, RepairCause, int]] = {}
        for candidate in candidates:
            cause = cause_of(candidate, line_offset)
            if cause is None:
                continue
            key = _key(candidate)
            if key in groups:
                first, first_cause, weight = groups[key]
                groups[key] = (first, first_cause, weight + candidate.multiplicity)
            else:
                groups[key] = (candidate, cause, candidate.multiplicity)
        ordered = sorted(groups.values(), key=lambda group: -group[2])  # stable: sampling order on ties
        return [(candidate, cause) for candidate, cause, _ in ordered]

    @staticmethod
    def _new_statement(texts: Sequence[str], seen: set[str]) -> str | None:
        """The first statement of the first answer that has one (one corrected statement was asked for), unless
        it repeats a statement already checked for this input (Lean's verdict would be the same)."""
        for text in texts:
            statements = extract_statements(text)
            if not statements:
                continue
            probe = ScoringCandidate.from_statement(statements[0])
            if _key(probe) in seen:
                return None
            seen.add(_key(probe))
            return statements[0]
        return None

    @staticmethod
    async def _admit_all(
        admit: Admit, statements: Sequence[str | None], provenances: Sequence[Provenance]
    ) -> Admitted:
        """Each statement through the admission stages (concurrently), its provenance attached to what came out."""
        pending = [(s, p) for s, p in zip(statements, provenances, strict=True) if s is not None]
        results = await asyncio.gather(*(admit([s]) for s, _ in pending))
        kept, refused = [], []
        for (_, provenance), admitted in zip(pending, results, strict=True):
            kept += [c.model_copy(update={"provenance": provenance}) for c in admitted.kept]
            refused += [c.model_copy(update={"provenance": provenance}) for c in admitted.refused]
        return Admitted(kept=kept, refused=refused)
