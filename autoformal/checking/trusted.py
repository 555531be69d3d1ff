"""Trusted proof jobs: Lean commands that carry a *proof*, built only from gated statements and portfolio scripts.

A normal check sends a candidate with `:= sorry`. The semantic probes (equivalence, vacuity, triviality,
refutation) need Lean to try real proofs, so they send commands that are not a candidate's text. What keeps
this as safe as the gate:

- the statement part of a command is a `TrustedProp`: the candidate passed `check_safe`, was parsed, and is
  sent as its *canonical form*, re-printed from the parse tree (comments, the name and the proof are gone; the
  proposition is one term). The prop may contain no `sorry`/`admit` and no `by` block (a tactic inside the
  statement never runs in a trusted command), and the re-printed text passes the gate again;
- the proof part is a `ProofScript` from `autoformal.checking.portfolio`, checked with `is_portfolio_script`;
- names, namespaces and `set_option maxHeartbeats N in` are ours.

A `ProofJob` is a session on one Lean environment: the assumption (if any) is declared once with `:= sorry`
on top of the header's environment, the goal is elaborated once with `:= sorry` (so an ill-typed goal is an
error, not a failed proof), then each script is tried on that environment, in order, each under its own
timeout, stopping at the first that proves the goal when `stop_at_first`.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from autoformal.checking.models import CheckResult, CheckStatus
from autoformal.checking.portfolio import ProofScript, is_portfolio_script
from autoformal.errors import StatementSyntaxError, UntrustedStatementError
from autoformal.syntax import canonical_form, check_safe, parse_document, pretty
from autoformal.syntax.terms import Term

HYP_NAMESPACE = "autoformal_hyp"
GOAL_NAMESPACE = "autoformal_goal"
HYP_NAME = f"{HYP_NAMESPACE}.hyp"
# A command that only makes an environment (for jobs under an empty header; see `ReplChecker`).
TRUSTED_BASE_COMMAND = "theorem autoformal_base : True := True.intro"

_FORBIDDEN_IN_PROP = re.compile(r"(?<![\w.'])(?:sorry|sorryAx|admit)(?![\w'])")


class TrustedProp(BaseModel):
    """A proposition safe to put in a proof command: the canonical form of a gated statement.

    `defs` are the canonical answer preamble (`def answer₀ : T := v`), `prop` the proposition (one line).
    Construct with `from_statement` (model text) or `derive` (our own rewrites of one); the validator re-runs
    the gate on the rendered text, whatever the path.
    """

    model_config = ConfigDict(frozen=True, revalidate_instances="always")

    defs: tuple[str, ...] = ()
    prop: str

    @model_validator(mode="after")
    def _still_safe(self) -> TrustedProp:
        if "\n" in self.prop or any("\n" in d for d in self.defs):
            raise UntrustedStatementError("a trusted proposition is one printed line")
        for part in (self.prop, *self.defs):
            if _FORBIDDEN_IN_PROP.search(part):
                raise UntrustedStatementError("the statement mentions `sorry`/`admit`; it cannot be proved from")
        verdict = check_safe(self.as_example())
        if not verdict.ok:
            raise UntrustedStatementError(f"the re-printed statement fails the safety gate: {verdict.reason}")
        doc = parse_document(self.as_example())
        if any(t.kind == "by" for d in doc.declarations for t in _terms(d)):
            raise UntrustedStatementError(
                "the statement contains a `by` tactic block; trusted proofs only run on tactic-free statements"
            )
        return self

    @classmethod
    def from_statement(cls, text: str) -> TrustedProp:
        """Gate, parse and canonicalise a candidate statement (with its answer preamble)."""
        verdict = check_safe(text)
        if not verdict.ok:
            raise UntrustedStatementError(f"the statement fails the safety gate: {verdict.reason}")
        try:
            canonical = canonical_form(text)
        except StatementSyntaxError as exc:
            raise UntrustedStatementError(f"the statement does not parse: {exc}") from exc
        *defs, last = canonical.split("\n")
        match = re.fullmatch(r"example : (.*) := sorry", last)
        if match is None:
            raise UntrustedStatementError("the canonical form is not `example : P := sorry`")
        return cls(defs=tuple(defs), prop=match.group(1))

    def as_example(self) -> str:
        return "\n".join([*self.defs, f"example : {self.prop} := sorry"])

    def term(self) -> Term:
        conclusion = parse_document(self.as_example()).theorem.conclusion
        assert conclusion is not None
        return conclusion

    def derive(self, term: Term) -> TrustedProp:
        """The same preamble with another proposition (our rewrite of this one)."""
        return TrustedProp(defs=self.defs, prop=pretty(term))

    def negation(self) -> TrustedProp:
        return self.derive(Term("unop", "¬", (self.term(),)))

    def hypotheses_to_false(self) -> TrustedProp | None:
        """`∀ xs, h₁ → … → False`: the statement with its conclusion replaced by `False`; None when it has no
        hypothesis (then there is nothing to be vacuous)."""
        found = False

        def go(t: Term) -> Term:
            nonlocal found
            if t.kind == "quant" and t.value == "∀" and t.args:
                if any(b.kind == "instance" for b in t.binders):
                    found = True
                return Term(t.kind, t.value, (go(t.args[0]),), t.binders)
            if t.kind == "binop" and t.value == "→":
                found = True
                return Term("binop", "→", (t.args[0], go(t.args[1])))
            return Term("ident", "False")

        replaced = go(self.term())
        return self.derive(replaced) if found else None


def _terms(doc_decl: object) -> list[Term]:
    from autoformal.syntax.model import Statement

    assert isinstance(doc_decl, Statement)
    roots: list[Term] = [t for t in (doc_decl.conclusion, doc_decl.body) if t is not None]
    roots += [b.type for b in doc_decl.bound if b.type is not None]
    return [node for root in roots for node in root.walk()]


class ProofJob(BaseModel):
    """Prove `goal` (from `assumption`, when given) with portfolio `scripts`, on one Lean environment."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, revalidate_instances="always")

    goal: TrustedProp
    assumption: TrustedProp | None = None
    scripts: tuple[ProofScript, ...]
    stop_at_first: bool = True
    timeout_s: PositiveFloat = 10.0
    max_heartbeats: PositiveInt = 20_000

    @model_validator(mode="after")
    def _portfolio_only(self) -> ProofJob:
        for script in self.scripts:
            if not is_portfolio_script(script):
                raise UntrustedStatementError(f"{script!r} is not a portfolio script; only those may be sent")
        return self

    def context_command(self) -> str | None:
        """The assumption, declared with `:= sorry` in its own namespace (None without one)."""
        if self.assumption is None:
            return None
        return _namespaced(HYP_NAMESPACE, self.assumption, "theorem hyp", ":= sorry")

    def goal_check_command(self) -> str:
        """The goal with `:= sorry`: elaborates iff the goal is well-typed."""
        return _namespaced(GOAL_NAMESPACE, self.goal, "theorem goal", ":= sorry")

    def attempt_command(self, script: ProofScript) -> str:
        if not is_portfolio_script(script):
            raise UntrustedStatementError(f"{script!r} is not a portfolio script")
        hyp = HYP_NAME if self.assumption is not None else None
        head = f"set_option maxHeartbeats {self.max_heartbeats} in\ntheorem goal"
        return _namespaced(GOAL_NAMESPACE, self.goal, head, ":= by\n" + script.render(hyp))


def _namespaced(namespace: str, prop: TrustedProp, head: str, tail: str) -> str:
    return "\n".join([f"namespace {namespace}", *prop.defs, f"{head} : {prop.prop} {tail}", f"end {namespace}"])


class AttemptStatus(str, Enum):
    PROVED = "proved"  # Lean accepted the proof: no error
    FAILED = "failed"  # Lean answered with an error (the script does not prove it; says nothing else)
    UNAVAILABLE = "unavailable"  # needs a tactic this Lean lacks: inconclusive, not sent
    TIMEOUT = "timeout"  # inconclusive
    CRASHED = "crashed"  # inconclusive
    SKIPPED = "skipped"  # an earlier script already proved the goal


INCONCLUSIVE = frozenset({AttemptStatus.UNAVAILABLE, AttemptStatus.TIMEOUT, AttemptStatus.CRASHED})


class AttemptOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    script: str = Field(description="Portfolio script name.")
    tactic: str = Field(description="The script, one line (H is the assumed statement).")
    status: AttemptStatus
    elapsed_s: float = 0.0
    detail: str | None = None

    @property
    def proved(self) -> bool:
        return self.status is AttemptStatus.PROVED


class JobOutcome(BaseModel):
    """What Lean said about a `ProofJob`."""

    model_config = ConfigDict(frozen=True)

    context_ok: bool = Field(description="The assumption elaborated (True when there is none).")
    goal_ok: bool = Field(description="The goal elaborated with `:= sorry`.")
    detail: str | None = Field(default=None, description="Why the context or the goal failed.")
    attempts: list[AttemptOutcome] = Field(default_factory=list)

    @property
    def proved_by(self) -> AttemptOutcome | None:
        return next((a for a in self.attempts if a.status is AttemptStatus.PROVED), None)


def attempt_outcome(script: ProofScript, result: CheckResult) -> AttemptOutcome:
    """Read one attempt's reply: proved exactly when Lean answered with no error and no sorry."""
    if result.status in (CheckStatus.OK, CheckStatus.ERROR):
        proved = result.ok and not result.sorries
        status = AttemptStatus.PROVED if proved else AttemptStatus.FAILED
    elif result.status is CheckStatus.TIMEOUT:
        status = AttemptStatus.TIMEOUT
    else:
        status = AttemptStatus.CRASHED
    detail = result.detail or (_error_summary(result) if status is AttemptStatus.FAILED else None)
    return AttemptOutcome(
        script=script.name, tactic=script.text, status=status, elapsed_s=result.elapsed_s, detail=detail
    )


def _error_summary(result: CheckResult) -> str:
    """Lean's error messages, first line each, with their line (kept for the user; never matched on)."""
    return "; ".join(
        f"line {m.line}: {m.text.splitlines()[0] if m.text else ''}" for m in result.messages if m.is_error
    )


def skipped(script: ProofScript) -> AttemptOutcome:
    return AttemptOutcome(script=script.name, tactic=script.text, status=AttemptStatus.SKIPPED)


def failed_setup(what: str, result: CheckResult) -> JobOutcome:
    """The outcome when the assumption (`what` = "assumption") or the goal did not elaborate."""
    detail = f"the {what} does not elaborate ({result.detail or _error_summary(result) or result.status.value})"
    return JobOutcome(context_ok=what != "assumption", goal_ok=False, detail=detail)


@runtime_checkable
class TrustedProver(Protocol):
    """A checker that can run `ProofJob`s (`ReplChecker`, `KiminaChecker`, a `CachedChecker` around one)."""

    async def run_trusted(self, jobs: list[ProofJob], header: str) -> list[JobOutcome]: ...
