"""`--translate`: per typeable function, k sampled Lean defs, gated, then judged by the kernel on the docstring's
examples (and, with `--run-python`, on differential examples); the best surviving def models the function.

A def is accepted when it elaborates with the derived type and no example fails; candidates are ranked by
examples passed (then sample order). Where none survives, the function stays `opaque`, and the report says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from autoformal.checking.semantic import SemanticChecker
from autoformal.corpus.models import Declaration
from autoformal.docstrings.differential import SandboxConfig, draw_inputs, run_python, shrink_candidates
from autoformal.docstrings.evidence import DefVerdict, LeanExample, check_candidates, printable_examples
from autoformal.docstrings.literals import doc_examples
from autoformal.docstrings.source import PyFunction
from autoformal.docstrings.translate import (
    CandidateDef,
    LeanSignature,
    extract_def,
    function_source,
    lean_signature,
    translation_messages,
)
from autoformal.docstrings.types import LeanDeclaration, TypeOptions
from autoformal.errors import UntypableError
from autoformal.llm.base import LLMBackend
from autoformal.llm.models import GenerationRequest

SearchDeclarations = Callable[[str], Sequence[Declaration]]


class TranslationConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    samples: PositiveInt = Field(default=4, description="Defs sampled per function (k).")
    temperature: float = Field(default=0.8, ge=0.0)
    max_tokens: PositiveInt = 1024


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
    request = GenerationRequest(
        messages=messages, n=config.samples, temperature=config.temperature, max_tokens=config.max_tokens
    )
    (result,) = await backend.agenerate([request])
    candidates: list[tuple[int, CandidateDef]] = []
    for sample, completion in enumerate(result.completions):
        extracted = extract_def(completion.text, signature.name)
        if isinstance(extracted, str):
            model.refused.append(f"sample {sample}: {extracted}")
        elif all(extracted.defs != c.defs for _, c in candidates):
            candidates.append((sample, extracted))
    if differential is not None and candidates:
        examples += await _differential_examples(function, signature, model, differential)
    verdicts = await check_candidates(semantic, header, signature, candidates, examples) if candidates else []
    _decide(model, verdicts)
    if differential is not None:
        model.counterexample = await _counterexample(function, signature, model, semantic, header, differential)
    return model


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


async def _counterexample(
    function: PyFunction,
    signature: LeanSignature,
    model: FunctionModel,
    semantic: SemanticChecker,
    header: str,
    config: DifferentialConfig,
) -> Counterexample | None:
    """Shrink the first differential failure of the best-ranked candidate that has one: try every one-step
    smaller input (Python computes the expected value, the kernel checks the def), keep a failing one, repeat."""
    for verdict in model.candidates:
        failures = [v for v in verdict.failed if v.example.origin == "differential"]
        if failures:
            break
    else:
        return None
    candidate = CandidateDef(defs=tuple(verdict.text.split("\n")))
    current = min(failures, key=lambda v: len(v.example.python))
    for _ in range(config.shrink_rounds):
        smaller = shrink_candidates(current.example.args)
        run = await asyncio.to_thread(run_python, function, smaller, config.sandbox)
        pairs = [(a, out) for a, out in zip(smaller, run.outputs, strict=True) if out is not None]
        examples, _ = printable_examples(signature, pairs, "differential")
        if not examples:
            break
        (checked,) = await check_candidates(semantic, header, signature, [(verdict.sample, candidate)], examples)
        if not checked.failed:
            break
        current = min(checked.failed, key=lambda v: len(v.example.python))
    return Counterexample(
        sample=verdict.sample,
        python=current.example.python,
        lean=current.example.prop,
        lean_message=current.lean_message,
    )


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
