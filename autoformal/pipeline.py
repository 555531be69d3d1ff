"""The `Formalizer`: informal text → ranked Lean 4 statements, by running `STAGES` in order.

    retrieved → generated → extracted → parsed → safe → names → elaborated → repaired → backtranslated → ranked
    → revised

Each stage is a class in `autoformal/stages/` (how to add one: `autoformal.stages.base`); the components they
run on come from `autoformal.assembly`; many inputs at once go through `autoformal.batch`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from autoformal.assembly import Components, Overrides, assemble
from autoformal.batch import BatchInput, Outcome, run_batch
from autoformal.checking.protocol import run_coroutine_sync
from autoformal.config import FormalizerConfig
from autoformal.errors import AutoformalError, InvalidInputError
from autoformal.results import FormalizationResult
from autoformal.stages import (
    BacktranslateStage,
    Candidate,
    EquivalenceStage,
    ExtractStage,
    GenerateStage,
    Job,
    LeanStage,
    NamesStage,
    ParseStage,
    ProbeStage,
    RepairStage,
    RetrieveStage,
    RevisionStage,
    SafetyStage,
    ScoreStage,
    Stage,
    run_stages,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from 3.11; annotations only

    from autoformal.cache import Cache
    from autoformal.checking.protocol import LeanChecker
    from autoformal.llm.base import LLMBackend
    from autoformal.names import NameChecker
    from autoformal.scoring import Scorer

__all__ = ["ADMISSION", "STAGES", "STAGE_NAMES", "Formalizer"]

#: The stages in the order they run: the one definition (results' counts and timings, bulk summaries and the
#: README's diagram follow it). A stage whose `build` returns None under a configuration is left out.
STAGES: tuple[type[Stage], ...] = (
    RetrieveStage,
    GenerateStage,
    ExtractStage,
    ParseStage,
    SafetyStage,
    NamesStage,
    LeanStage,
    RepairStage,
    ProbeStage,
    EquivalenceStage,
    BacktranslateStage,
    ScoreStage,
    RevisionStage,
)
#: Every stage's `name`, in order: the keys of `FormalizationResult.stage_counts` and `timings`.
STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)
#: What new raw model text goes through before it is a candidate like the first samples (`Job.admit`).
ADMISSION: tuple[type[Stage], ...] = STAGES[STAGES.index(ExtractStage) : STAGES.index(LeanStage) + 1]


class Formalizer:
    """Informal statement → `FormalizationResult` (ranked candidates with scores, Lean verdicts, timings).

    >>> with Formalizer(FormalizerConfig(lean=False)) as f:                          # doctest: +SKIP
    ...     print(f.formalize("The sum of two even integers is even.").best.statement)

    Components are assembled from `config` (`autoformal.assembly.assemble`); pass instances to share or
    replace them (tests pass stand-ins). Pass `checker=None` with `config.lean=False` to skip Lean: results
    then say `lean_checked=False`.
    """

    def __init__(self, config: FormalizerConfig | None = None, **overrides: Unpack[Overrides]) -> None:
        self.config = config or FormalizerConfig()
        self._build_stages(assemble(self.config, **overrides))

    def _build_stages(self, parts: Components) -> None:
        self.parts: Components = parts
        built = (stage.build(parts) for stage in STAGES)
        self.stages: list[Stage] = [stage for stage in built if stage is not None]
        self.admission: list[Stage] = [s for s in self.stages if type(s) in ADMISSION]

    def variant(self, **settings: Any) -> Formalizer:
        """This formalizer with some per-run settings changed (`samples`, `temperature`, `repair_rounds`, ...),
        sharing every component: nothing is started or loaded again. Close the original, not the variant (a
        long-running server keeps one Formalizer and serves each request's k from a variant)."""
        config = self.config.model_copy(update=settings)
        twin = object.__new__(Formalizer)
        twin.config = config
        twin._build_stages(dataclasses.replace(self.parts, config=config))
        return twin

    # -- the components, by name (read-only views of `parts`) -------------------------------------------------

    @property
    def backend(self) -> LLMBackend:
        return self.parts.backend

    @property
    def checker(self) -> LeanChecker | None:
        return self.parts.checker

    @property
    def cache(self) -> Cache | None:
        return self.parts.cache

    @property
    def scorers(self) -> list[Scorer]:
        return self.parts.scorers

    @property
    def name_checker(self) -> NameChecker | None:
        return self.parts.name_checker

    @property
    def inputs_in_flight(self) -> int:
        """How many inputs a batch runs at once by default (`limits.inputs`, else `concurrency`)."""
        return self.config.limits.batch(self.config.concurrency)

    @property
    def lean_checked(self) -> bool:
        return self.parts.checker is not None

    def warm_up(self) -> None:
        """Build the statement parser, load the embedder and retrievers and warm up the LLM backend (import its
        client library, connect) now, else the first batch pays for it while no LLM request is in flight.
        `formalize_many` warms the backend up by itself; an unreachable server raises here."""
        self.parts.warm_up()

    # -- one input -------------------------------------------------------------------------------------------

    async def aformalize(
        self, text: str, *, header: str | None = None, context: str | None = None
    ) -> FormalizationResult:
        """Formalize one input. `context`: trusted Lean declarations from *our* code, shown to the model and
        placed before each candidate when checking (never taken from model output)."""
        _check_input(text)
        job = self.new_job(text, header=header, context=context)
        start = time.perf_counter()
        # The first input loads the statement parser (≈0.15 s of CPU from its disk cache) in a worker thread
        # while the retrieval stage loads the encoder, mostly native code that leaves the GIL free, rather than
        # in the extract stage after generation: ≈0.1 s of a one-shot run (benchmarks/startup.py).
        await asyncio.gather(self.parts.load_parser_once(), run_stages(self.stages, job, []))
        job.timings["total"] = time.perf_counter() - start
        return FormalizationResult(
            input=text,
            candidates=job.ranked,
            stage_counts=job.counts,
            timings=job.timings,
            lean_checked=self.lean_checked,
            errors=job.errors,
            model=job.model,
            repair_rounds=job.repair_rounds,
            extra_requests=job.extra_requests,
        )

    def new_job(self, text: str, *, header: str | None = None, context: str | None = None) -> Job:
        """The state one input starts the stages with (header defaults to the configured one); its `admit`
        runs this Formalizer's admission stages."""
        header = header if header is not None else self.config.header
        return Job(text=text, header=header, context=context, admitter=self._admit)

    async def _admit(self, job: Job, outputs: Sequence[str], origin: str) -> list[Candidate]:
        """New raw model texts through the admission stages, as candidates annotated with their origin."""
        candidates = await run_stages(self.admission, job.fork(outputs), [])
        return [c.annotated(origin=origin) for c in candidates]

    def formalize(self, text: str, *, header: str | None = None, context: str | None = None) -> FormalizationResult:
        """Sync `aformalize` (also callable from a notebook's running loop)."""
        return run_coroutine_sync(lambda: self.aformalize(text, header=header, context=context))

    # -- many inputs -----------------------------------------------------------------------------------------

    async def run_batch(self, inputs: Sequence[BatchInput], *, limit: int | None = None) -> AsyncIterator[Outcome]:
        """Yield each input's `Outcome` as it finishes, `limit` (default: the configured inputs limit) in flight, the
        inputs' embeddings prefetched; a fatal error (see `AutoformalError.fatal`) stops the batch."""
        parts = self.parts
        # The LLM client library's first import and connection, before the batch rather than inside its first
        # request, while every server slot would idle.
        await asyncio.to_thread(parts.warm_up_backend_quietly)
        # Build the parser once before many worker threads would each build it concurrently (seconds each).
        await parts.load_parser_once()
        await asyncio.to_thread(parts.retrievers.setup)

        async def run_one(item: BatchInput) -> FormalizationResult:
            return await self.aformalize(item.text, header=item.header, context=item.context)

        memo = parts.embedder if parts.embedder_used else None
        async for outcome in run_batch(run_one, inputs, limit=limit or self.inputs_in_flight, memo=memo):
            yield outcome

    async def aformalize_many(
        self,
        texts: Sequence[str],
        *,
        headers: Sequence[str | None] | None = None,
        contexts: Sequence[str | None] | None = None,
    ) -> AsyncIterator[tuple[int, FormalizationResult]]:
        """Yield `(index, result)` as inputs finish, `config.concurrency` inputs in flight. An input whose
        LLM call or check fails yields a result with the error in `errors`; a fatal error (no endpoint, no
        Lean: every input would fail alike) stops the batch by raising."""
        if headers is not None and len(headers) != len(texts):
            raise ValueError(f"{len(headers)} headers for {len(texts)} texts")
        if contexts is not None and len(contexts) != len(texts):
            raise ValueError(f"{len(contexts)} contexts for {len(texts)} texts")
        inputs = [
            BatchInput(
                text=text,
                header=headers[i] if headers is not None else None,
                context=contexts[i] if contexts is not None else None,
            )
            for i, text in enumerate(texts)
        ]
        async for outcome in self.run_batch(inputs):
            yield outcome.index, outcome.result or self._failed(texts[outcome.index], outcome.error)

    def _failed(self, text: str, error: Exception | None) -> FormalizationResult:
        if isinstance(error, AutoformalError):
            message = f"{type(error).__name__}: {error}"
        else:  # a bug costs this input, never the batch
            message = f"internal error, please report it: {type(error).__name__}: {error}"
        return FormalizationResult(input=text, lean_checked=self.lean_checked, errors=[message])

    def formalize_many(
        self,
        texts: Sequence[str],
        *,
        headers: Sequence[str | None] | None = None,
        contexts: Sequence[str | None] | None = None,
        progress: bool = False,
    ) -> list[FormalizationResult]:
        """Results in input order; `progress` shows a rich progress bar."""

        async def collect() -> list[FormalizationResult]:
            out: list[FormalizationResult | None] = [None] * len(texts)
            if progress:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

                columns = (TextColumn("formalizing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
                with Progress(*columns) as bar:
                    task = bar.add_task("formalizing", total=len(texts))
                    async for i, result in self.aformalize_many(texts, headers=headers, contexts=contexts):
                        out[i] = result
                        bar.advance(task)
            else:
                async for i, result in self.aformalize_many(texts, headers=headers, contexts=contexts):
                    out[i] = result
            return [r for r in out if r is not None]

        return run_coroutine_sync(collect)

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self.parts.aclose()

    def close(self) -> None:
        self.parts.close()

    def __enter__(self) -> Formalizer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> Formalizer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _check_input(text: object) -> None:
    """Reject what no stage can use, before any work: non-strings, blank text, text that is not valid Unicode
    (lone surrogates, e.g. from undecodable bytes) — the tokenizers would fail on it much later, obscurely."""
    if not isinstance(text, str):
        raise InvalidInputError(f"the input must be a string, not {type(text).__name__}")
    if not text.strip():
        raise InvalidInputError("the input is empty")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"the input is not valid Unicode (character {exc.start}); decode bytes as UTF-8 before passing them"
        ) from None
