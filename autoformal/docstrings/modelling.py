"""`--translate`: per typeable function, k sampled Lean defs, gated, then judged by the kernel on the docstring's
examples (and, with `--run-python`, on differential examples); the best surviving def models the function.

A def is accepted when it elaborates with the derived type and no example fails; candidates are ranked by
examples passed (then sample order). Where none survives, the function stays `opaque`, and the report says why.

**Repair.** While no def is accepted, the failed defs go back to the model, one request each, as the
translation conversation continued: the failed def, then what the kernel found wrong with it (Lean's error
when it does not elaborate; else the examples it could not prove, with Lean's messages, and, with
`--run-python`, the shrunk counterexample in Python and Lean syntax). The corrected defs pass the same gate and
the same kernel checks as first samples, and compete in the same ranking. Each round repairs the previous
round's failures; at most `repair_max_requests` requests per function (the rest are counted as unrepaired).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from autoformal.checking.semantic import SemanticChecker
from autoformal.corpus.models import Declaration
from autoformal.docstrings.differential import SandboxConfig, draw_inputs, run_python, shrink_candidates
from autoformal.docstrings.evidence import (
    DefVerdict,
    ExampleVerdict,
    LeanExample,
    check_candidates,
    printable_examples,
)
from autoformal.docstrings.literals import doc_examples
from autoformal.docstrings.source import PyFunction
from autoformal.docstrings.translate import (
    CandidateDef,
    LeanSignature,
    extract_def,
    function_source,
    lean_signature,
    repair_messages,
    translation_messages,
)
from autoformal.docstrings.types import LeanDeclaration, TypeOptions
from autoformal.errors import AutoformalError, UntypableError
from autoformal.llm.base import LLMBackend
from autoformal.llm.models import ChatMessage, GenerationRequest

SearchDeclarations = Callable[[str], Sequence[Declaration]]


class TranslationConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    samples: PositiveInt = Field(default=4, description="Defs sampled per function (k).")
    temperature: float = Field(default=0.8, ge=0.0)
    max_tokens: PositiveInt = 1024
    repair_rounds: int = Field(
        default=1, ge=0, description="Rounds of repair while no def is accepted (`repair_rounds`); 0: off."
    )
    repair_max_requests: int = Field(
        default=8, ge=0, description="Repair requests per function (`repair_max_requests`)."
    )


class DifferentialConfig(BaseModel):
    """`--run-python`: how many inputs to draw, and the sandbox the Python function runs in."""

    model_config = ConfigDict(frozen=True)

    examples: PositiveInt = Field(default=20, description="Inputs drawn per function (N).")
    shrink_rounds: PositiveInt = Field(default=6, description="Greedy shrinking steps for a counterexample.")
    sandbox: SandboxConfig = SandboxConfig()


class Counterexample(BaseModel):
    """An input where a candidate def and the Python function disagree, shrunk."""

    sample: int = Field(description="The candidate def (sample index) that disagrees.")
    python: str = Field(description="`f(args) == python_result`: what Python computes.")
    lean: str = Field(description="The Lean proposition the kernel could not prove for that def.")
    lean_message: str | None = None


class RepairCause(BaseModel):
    """What a repair request told the model about a failed def."""

    lean_message: str | None = Field(default=None, description="Why the def does not elaborate.")
    failed_examples: list[ExampleVerdict] = Field(
        default_factory=list, description="Examples the kernel could not prove (the smallest few)."
    )
    counterexample: Counterexample | None = None


class DefRepair(BaseModel):
    """One repair request: the failed def it corrects, what was wrong, and what came back."""

    round: int
    parent: int = Field(description="The sample index of the failed def.")
    cause: RepairCause
    sample: int | None = Field(default=None, description="The corrected def's sample index, when one was checked.")
    outcome: str = Field(
        description="`acceptable` (elaborates, no example fails), `rejected` (see the candidate with this sample) "
        "or why nothing was checked."
    )


class FunctionModel(BaseModel):
    """The Lean model of one function, and the evidence for it (the per-function JSON report)."""

    signature: str | None = None
    accepted: str | None = Field(default=None, description="The accepted def(s), one declaration per line.")
    accepted_sample: int | None = None
    why_none: str | None = Field(default=None, description="Why no def was accepted (the function stays opaque).")
    refused: list[str] = Field(default_factory=list, description="Samples the gate or extraction refused, with why.")
    candidates: list[DefVerdict] = Field(default_factory=list, description="Gated samples, best first.")
    doctests_passed: int = 0
    doctests_failed: int = 0
    doctests_skipped: int = Field(default=0, description="Doctests not checked: unreadable or unprintable values.")
    examples_tried: int = Field(default=0, description="Differential examples checked (--run-python).")
    examples_agreed: int = Field(default=0, description="Of those, proved for the chosen def.")
    examples_skipped: int = Field(default=0, description="Inputs where Python raised or the value is unprintable.")
    network_isolated: bool | None = Field(default=None, description="Whether the Python sandbox had no network.")
    python_error: str | None = Field(default=None, description="Why the Python run gave nothing (timeout, crash).")
    counterexample: Counterexample | None = None
    repairs: list[DefRepair] = Field(default_factory=list, description="Repair requests, in order.")
    repairs_unsent: int = Field(default=0, description="Failed defs the repair budget left unrepaired.")
    repair_error: str | None = Field(default=None, description="Why a repair round stopped early (LLM failure).")

    @property
    def defs(self) -> tuple[str, ...]:
        return tuple(self.accepted.split("\n")) if self.accepted else ()


async def model_function(
    function: PyFunction,
    declaration: LeanDeclaration,
    classes: Collection[str],
    *,
    backend: LLMBackend,
    semantic: SemanticChecker,
    header: str,
    options: TypeOptions,
    config: TranslationConfig,
    search: SearchDeclarations | None = None,
    differential: DifferentialConfig | None = None,
) -> FunctionModel:
    try:
        signature = lean_signature(function, declaration, classes, options)
    except UntypableError as exc:
        return FunctionModel(why_none=f"not translated: {exc}")
    model = FunctionModel(signature=signature.text)
    pairs, unread = doc_examples(function)
    examples, unprintable = printable_examples(signature, [(e.args, e.expected) for e in pairs], "docstring")
    model.doctests_skipped = unread + unprintable
    retrieved = await asyncio.to_thread(search, function.docstring) if search is not None else []
    messages = translation_messages(function, function_source(function), signature, retrieved)
    (result,) = await backend.agenerate([_request(config, messages, config.samples)])
    seen: list[CandidateDef] = []
    candidates: list[tuple[int, CandidateDef]] = []
    for sample, completion in enumerate(result.completions):
        admitted = _admit(completion.text, signature.name, seen)
        if isinstance(admitted, CandidateDef):
            candidates.append((sample, admitted))
        elif admitted is not None:
            model.refused.append(f"sample {sample}: {admitted}")
    if differential is not None and candidates:
        examples += await _differential_examples(function, signature, model, differential)
    kernel = _Kernel(function, signature, semantic, header, examples, differential)
    verdicts = await kernel.check(candidates)
    if config.repair_rounds:
        repair = _Repair(model, kernel, backend, config, messages, seen)
        verdicts += await repair.run(verdicts, next_sample=len(result.completions))
    _decide(model, verdicts)
    if differential is not None:
        model.counterexample = await _first_counterexample(model, kernel)
    return model


def _admit(answer: str, name: str, seen: list[CandidateDef]) -> CandidateDef | str | None:
    """The gated def in a model answer, added to `seen`; why the gate or extraction refused it; or None when it
    repeats a def in `seen` (Lean's verdict would be the same)."""
    extracted = extract_def(answer, name)
    if isinstance(extracted, str):
        return extracted
    if any(extracted.defs == c.defs for c in seen):
        return None
    seen.append(extracted)
    return extracted


def _request(config: TranslationConfig, messages: list[ChatMessage], n: int) -> GenerationRequest:
    return GenerationRequest(messages=messages, n=n, temperature=config.temperature, max_tokens=config.max_tokens)


async def _differential_examples(
    function: PyFunction, signature: LeanSignature, model: FunctionModel, config: DifferentialConfig
) -> list[LeanExample]:
    inputs = await asyncio.to_thread(draw_inputs, function, config.examples)
    if not inputs:
        model.python_error = "no hypothesis strategy for a parameter type"
        return []
    run = await asyncio.to_thread(run_python, function, inputs, config.sandbox)
    model.network_isolated, model.python_error = run.network_isolated, run.error
    pairs = [(args, out) for args, out in zip(inputs, run.outputs, strict=True) if out is not None]
    examples, unprintable = printable_examples(signature, pairs, "differential")
    model.examples_tried = len(examples)
    model.examples_skipped = len(inputs) - len(pairs) + unprintable
    return examples


class _Kernel:
    """The kernel's side of one function: candidate defs checked on its examples, and counterexamples shrunk
    (once per candidate: the repair prompt and the report share them)."""

    def __init__(
        self,
        function: PyFunction,
        signature: LeanSignature,
        semantic: SemanticChecker,
        header: str,
        examples: Sequence[LeanExample],
        differential: DifferentialConfig | None,
    ) -> None:
        self.function, self.signature, self.semantic, self.header = function, signature, semantic, header
        self.examples, self.differential = examples, differential
        self._shrunk: dict[int, Counterexample | None] = {}

    async def check(self, candidates: Sequence[tuple[int, CandidateDef]]) -> list[DefVerdict]:
        if not candidates:
            return []
        return await check_candidates(self.semantic, self.header, self.signature, candidates, self.examples)

    async def counterexample(self, verdict: DefVerdict) -> Counterexample | None:
        """The candidate's first differential failure, shrunk: try every one-step smaller input (Python computes
        the expected value, the kernel checks the def), keep a failing one, repeat. None without one."""
        config = self.differential
        failures = [v for v in verdict.failed if v.example.origin == "differential"]
        if config is None or not failures:
            return None
        if verdict.sample in self._shrunk:
            return self._shrunk[verdict.sample]
        candidate = CandidateDef(defs=tuple(verdict.text.split("\n")))
        current = min(failures, key=lambda v: len(v.example.python))
        for _ in range(config.shrink_rounds):
            smaller = shrink_candidates(current.example.args)
            run = await asyncio.to_thread(run_python, self.function, smaller, config.sandbox)
            pairs = [(a, out) for a, out in zip(smaller, run.outputs, strict=True) if out is not None]
            examples, _ = printable_examples(self.signature, pairs, "differential")
            if not examples:
                break
            (checked,) = await check_candidates(
                self.semantic, self.header, self.signature, [(verdict.sample, candidate)], examples
            )
            if not checked.failed:
                break
            current = min(checked.failed, key=lambda v: len(v.example.python))
        found = Counterexample(
            sample=verdict.sample,
            python=current.example.python,
            lean=current.example.prop,
            lean_message=current.lean_message,
        )
        self._shrunk[verdict.sample] = found
        return found


async def _first_counterexample(model: FunctionModel, kernel: _Kernel) -> Counterexample | None:
    """The shrunk counterexample of the best-ranked candidate that has a differential failure."""
    for verdict in model.candidates:
        found = await kernel.counterexample(verdict)
        if found is not None:
            return found
    return None


#: Failing examples shown per repair request (the smallest), and the characters kept of each Lean message.
_EXAMPLES_SHOWN = 3
_MESSAGE_CHARS = 600


class _Repair:
    """Repair rounds for one function (see the module docstring)."""

    def __init__(
        self,
        model: FunctionModel,
        kernel: _Kernel,
        backend: LLMBackend,
        config: TranslationConfig,
        translation: list[ChatMessage],
        seen: list[CandidateDef],
    ) -> None:
        self.model, self.kernel, self.backend, self.config = model, kernel, backend, config
        self.translation = translation
        self.seen = seen

    async def run(self, verdicts: list[DefVerdict], next_sample: int) -> list[DefVerdict]:
        """The checked corrections of every round (the caller ranks them with the first samples)."""
        new: list[DefVerdict] = []
        previous = verdicts
        left = self.config.repair_max_requests
        for number in range(1, self.config.repair_rounds + 1):
            if any(v.acceptable for v in [*verdicts, *new]):
                break
            failed = self._repairable(previous)
            sent, unsent = failed[:left], failed[left:]
            self.model.repairs_unsent += len(unsent)
            if not sent:
                break
            left -= len(sent)
            causes = [await self._cause(v) for v in sent]
            requests = [
                _request(self.config, repair_messages(self.translation, v.text, _feedback(c)), 1)
                for v, c in zip(sent, causes, strict=True)
            ]
            try:
                results = await self.backend.agenerate(requests)
            except AutoformalError as exc:  # the first samples' verdicts stand; say why nothing was repaired
                self.model.repair_error = f"repair round {number}: the LLM request failed ({type(exc).__name__}: {exc})"
                break
            answers = [result.completions[0].text if result.completions else "" for result in results]
            admitted = [_admit(answer, self.kernel.signature.name, self.seen) for answer in answers]
            fresh: list[tuple[int, CandidateDef]] = []
            for candidate in admitted:
                if isinstance(candidate, CandidateDef):
                    fresh.append((next_sample, candidate))
                    next_sample += 1
            checked = await self.kernel.check(fresh)
            corrections = iter(checked)  # one verdict per fresh def, in order
            for parent, cause, candidate in zip(sent, causes, admitted, strict=True):
                if isinstance(candidate, CandidateDef):
                    corrected = next(corrections)
                    corrected.round, corrected.parent = number, parent.sample
                    sample: int | None = corrected.sample
                    outcome = "acceptable" if corrected.acceptable else "rejected"
                else:
                    sample = None
                    outcome = f"refused: {candidate}" if candidate is not None else "repeats a def already checked"
                self.model.repairs.append(
                    DefRepair(round=number, parent=parent.sample, cause=cause, sample=sample, outcome=outcome)
                )
            new += checked
            previous = checked
        return new

    @staticmethod
    def _repairable(verdicts: Sequence[DefVerdict]) -> list[DefVerdict]:
        """The failed defs Lean said something about, the closest to right first (they elaborate, and pass the
        most examples). A def that was not sent, or whose examples only timed out, gives the model nothing."""
        failed = [v for v in verdicts if (v.elaborates and v.failed) or (not v.elaborates and v.lean_message)]
        return sorted(failed, key=lambda v: (not v.elaborates, -v.passed, v.sample))

    async def _cause(self, verdict: DefVerdict) -> RepairCause:
        if not verdict.elaborates:
            return RepairCause(lean_message=verdict.lean_message)
        shown = sorted(verdict.failed, key=lambda v: len(v.example.python))[:_EXAMPLES_SHOWN]
        return RepairCause(failed_examples=shown, counterexample=await self.kernel.counterexample(verdict))


def _feedback(cause: RepairCause) -> str:
    """The repair request's account of what the kernel found (Lean's messages cut to a bounded length)."""
    parts = []
    if cause.lean_message is not None:
        parts.append(f"Lean rejects this def with the required type:\n```\n{_cut(cause.lean_message)}\n```")
    if cause.failed_examples:
        lines = [
            f"- `{v.example.prop}` (Python: `{v.example.python}`)"
            + (f"\n  Lean: {_cut(v.lean_message)}" if v.lean_message else "")
            for v in cause.failed_examples
        ]
        intro = "The kernel could not prove these examples, which the Python function satisfies:"
        parts.append("\n".join([intro, *lines]))
    found = cause.counterexample
    if found is not None:
        parts.append(
            f"The smallest disagreeing input found: Python computes `{found.python}`, but Lean cannot prove "
            f"`{found.lean}`."
        )
    return "\n\n".join(parts)


def _cut(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + " …(cut)"


def _decide(model: FunctionModel, verdicts: list[DefVerdict]) -> None:
    model.candidates = sorted(verdicts, key=lambda v: (not v.acceptable, -v.passed, v.sample))
    best = model.candidates[0] if model.candidates else None
    chosen: DefVerdict | None
    if best is not None and best.acceptable:
        model.accepted, model.accepted_sample = best.text, best.sample
        chosen = best
    else:
        model.why_none = _why_none(model, verdicts)
        chosen = best if best is not None and best.elaborates else None
    if chosen is not None:
        docs = [v for v in chosen.examples if v.example.origin == "docstring"]
        model.doctests_passed = sum(v.status == "passed" for v in docs)
        model.doctests_failed = sum(v.status == "failed" for v in docs)
        model.examples_agreed = sum(v.status == "passed" for v in chosen.examples if v.example.origin == "differential")


def _why_none(model: FunctionModel, verdicts: list[DefVerdict]) -> str:
    if not verdicts:
        return "no sample passed the safety gate" + (f" ({model.refused[0]})" if model.refused else "")
    failing = next((v for v in verdicts if v.elaborates and v.failed), None)
    if failing is not None:
        first = failing.failed[0]
        return f"every def fails an example, e.g. `{first.example.prop}` (Lean: {first.lean_message or 'not proved'})"
    return f"no def elaborates with the derived type (Lean: {verdicts[0].lean_message})"
