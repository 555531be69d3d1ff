"""The `Formalizer`: informal text → ranked Lean 4 statements.

Stages per input: retrieve (Mathlib declarations, few-shot examples) → generate k samples (one LLM request
with `n=k`) → extract statements → parse and canonicalise → safety gate → elaborate with Lean → back-translate
one representative per canonical-form cluster → score → rank. `formalize_many` runs many inputs at once, so
LLM requests overlap and Lean checks keep the worker pool busy; LLM completions and Lean verdicts go through
the SQLite cache, so re-runs are free and interrupted batches resume.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from autoformal.cache import Cache, CachedBackend, CachedChecker
from autoformal.checking.models import CheckResult
from autoformal.checking.protocol import LeanChecker, run_coroutine_sync
from autoformal.config import FormalizerConfig
from autoformal.errors import AutoformalError, InvalidInputError
from autoformal.llm.base import LLMBackend, SupportsWarmUp
from autoformal.llm.grammar import generation_grammar
from autoformal.llm.models import ChatMessage, GenerationRequest
from autoformal.names import NameChecker, NameTable
from autoformal.names.table import INDEX_NAMES_FILE, read_names_info
from autoformal.prompts import build_formalization_messages, token_counter_for
from autoformal.provenance import Provenance
from autoformal.ranking import Ranker
from autoformal.repair import Admit, Admitted, RepairLoop, RepairOutcome, RepairSettings
from autoformal.results import FormalizationResult, RankedCandidate
from autoformal.scoring import (
    BackTranslationScorer,
    ConsistencyScorer,
    ElaborationScorer,
    NameScorer,
    Score,
    Scorer,
    ScoringCandidate,
    SelfConsistencyScorer,
    cluster_sizes,
)
from autoformal.syntax import SafetyVerdict, check_safe, extract_statements, parse_document

if TYPE_CHECKING:
    from autoformal.corpus.models import Declaration, Example
    from autoformal.retrieval.base import Retriever
    from autoformal.retrieval.embedder import Embedder

#: Separates trusted context from the candidate in the text sent to Lean.
CONTEXT_SEPARATOR = "\n\n"
_WARM_UP_STATEMENT = "theorem warm_up : True := sorry"


logger = logging.getLogger(__name__)


class InputVectorMemo:
    """Wraps an `Embedder`, remembering vectors of the texts it was primed with (the batch's inputs, which
    retrieval and back-translation scoring each encode again). Other texts are encoded as usual."""

    def __init__(self, embedder: Embedder, max_entries: int = 100_000) -> None:
        self.embedder = embedder
        self.max_entries = max_entries
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def prime(self, texts: Sequence[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if not missing:
            return
        vectors = self.embedder.encode(missing)
        with self._lock:
            if len(self._vectors) + len(missing) > self.max_entries:
                self._vectors.clear()
            self._vectors.update(zip(missing, vectors, strict=True))

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; wrap a single text in a list")
        with self._lock:
            known = {i: self._vectors[t] for i, t in enumerate(texts) if t in self._vectors}
        if len(known) == len(texts) and texts:
            return np.stack([known[i] for i in range(len(texts))])
        rest = [i for i in range(len(texts)) if i not in known]
        encoded = self.embedder.encode([texts[i] for i in rest], progress=progress)
        out = np.zeros((len(texts), encoded.shape[1]), dtype=np.float32)
        out[rest] = encoded
        for i, vector in known.items():
            out[i] = vector
        return out

    def __getattr__(self, name: str) -> Any:  # dimension, model_name, config, ... of the wrapped embedder
        return getattr(self.embedder, name)


class TrustedContextGate:
    """The safety gate for statements preceded by *trusted* context (declarations our own code generated,
    e.g. `opaque` stand-ins for Python functions). Registered contexts are stripped before `check_safe`
    judges the candidate; everything else goes through `check_safe` unchanged, so model output can never
    smuggle a command in."""

    def __init__(self) -> None:
        self._contexts: set[str] = set()
        self._lock = threading.Lock()

    def register(self, context: str) -> None:
        with self._lock:
            self._contexts.add(context)

    def __call__(self, text: str) -> SafetyVerdict:
        with self._lock:
            contexts = sorted(self._contexts, key=len, reverse=True)
        for context in contexts:
            prefix = context + CONTEXT_SEPARATOR
            if text.startswith(prefix):
                return check_safe(text[len(prefix) :])
        return check_safe(text)


def names_source_of(config: FormalizerConfig) -> Path | None:
    """Where the static name check reads known names: the configured source, or with `auto` the names file
    `autoformal index build` writes into the retrieval index (no index, no check: without a corpus every
    Mathlib name would look unknown)."""
    if config.names != "auto":
        return config.names
    file = config.retrieval_config.index_dir / INDEX_NAMES_FILE
    if not file.is_file():
        return None
    # An index of a corpus fragment (a test or benchmark subset) would make real Mathlib names look unknown
    # and drop good candidates; `auto` only trusts a table that looks like all of Mathlib.
    if not read_names_info(file).looks_complete:
        logger.info("names check off: %s does not look like a full Mathlib table (set `names` to use it)", file)
        return None
    return file


def lean_environment_id(config: FormalizerConfig) -> str:
    """What a Lean verdict depends on besides header and statement: the checker kind, the project and its
    toolchain (so the cache never mixes Mathlib versions)."""
    checker = config.checker
    if checker.kind == "kimina":
        return f"kimina:{checker.url}"
    project = checker.project_dir
    toolchain = ""
    if project is not None:
        file = Path(project) / "lean-toolchain"
        toolchain = file.read_text(encoding="utf-8").strip() if file.is_file() else ""
    return f"repl:{project}:{toolchain}:{checker.temp_mathlib_version}"


class Formalizer:
    """Informal statement → `FormalizationResult` (ranked candidates with scores, Lean verdicts, timings).

    >>> with Formalizer(FormalizerConfig(lean=False)) as f:                          # doctest: +SKIP
    ...     print(f.formalize("The sum of two even integers is even.").best.statement)

    Components default from `config`; pass instances to share or replace them (tests pass stand-ins).
    Pass `checker=None` with `config.lean=False` to skip Lean: results then say `lean_checked=False`.
    """

    def __init__(
        self,
        config: FormalizerConfig | None = None,
        *,
        backend: LLMBackend | None = None,
        checker: LeanChecker | None = None,
        retriever: Retriever[Declaration] | None = None,
        example_retriever: Retriever[Example] | None = None,
        scorers: Sequence[Scorer] | None = None,
        cache: Cache | None = None,
        embedder: Embedder | None = None,
        safety_gate: TrustedContextGate | None = None,
        name_checker: NameChecker | None = None,
    ) -> None:
        self.config = config or FormalizerConfig()
        cfg = self.config
        self.safety_gate = safety_gate or TrustedContextGate()
        self._owned_cache = cache is None and cfg.cache
        self.cache = cache if cache is not None else (Cache(cfg.cache_path) if cfg.cache else None)
        if backend is None:
            from autoformal.llm.factory import build_backend

            backend = build_backend(cfg.backend)
        self.raw_backend = backend
        self.backend: LLMBackend = CachedBackend(backend, self.cache) if self.cache is not None else backend
        # exact prompt budgeting with the model's own tokenizer when the backend has one
        self._count_tokens = token_counter_for(backend)
        self._grammar = generation_grammar() if cfg.grammar_constrained else None
        if checker is None and cfg.lean:
            from autoformal.checking.factory import build_checker

            checker = build_checker(cfg.checker, safety_gate=self.safety_gate)
        self.raw_checker = checker if cfg.lean else None
        self.checker: LeanChecker | None = self.raw_checker
        if self.checker is not None and self.cache is not None:
            self.checker = CachedChecker(self.checker, self.cache, environment=lean_environment_id(cfg))
        self._embedder = embedder
        self._retriever = retriever
        self._example_retriever = example_retriever
        self._retrievers_ready = retriever is not None and (example_retriever is not None or cfg.examples == 0)
        self._setup_lock = threading.Lock()
        self._backend_warm = False
        self.ranker = Ranker(cfg.ranker)
        names_source = names_source_of(cfg)
        if name_checker is None and names_source is not None:
            name_checker = NameChecker(NameTable.load(names_source))
        self.name_checker = name_checker
        self.backtranslator: BackTranslationScorer | None = None
        self._judge_backend: LLMBackend | None = None  # only when `judge_model` needs a backend of its own
        if scorers is None:
            scorers = [ConsistencyScorer(), SelfConsistencyScorer()]
            if cfg.backtranslation:
                self.backtranslator = BackTranslationScorer(
                    self.backend,
                    embedder,
                    max_tokens=cfg.backtranslation_max_tokens,
                    judge=self._judge(),
                    # the generation prompt's context, with room for a verdict instead of a formalization
                    judge_budget=cfg.prompt_budget.for_answer(cfg.backtranslation_max_tokens, cfg.max_tokens),
                    count_tokens=self._count_tokens,
                )
                scorers.append(self.backtranslator)
            if self.checker is not None:
                scorers.append(ElaborationScorer())
            if name_checker is not None:
                scorers.append(NameScorer(name_checker, cfg.header))
        else:
            self.backtranslator = next((s for s in scorers if isinstance(s, BackTranslationScorer)), None)
        self.scorers = list(scorers)
        self.repair_loop = self._repair_loop()

    def _generation_request(self, messages: list[ChatMessage], *, n: int) -> GenerationRequest:
        """`n` samples of `messages` under the configured sampling settings (first samples and repairs alike)."""
        cfg = self.config
        return GenerationRequest(
            messages=messages,
            n=n,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            max_tokens=cfg.max_tokens,
            seed=cfg.seed,
            grammar=self._grammar,
            reasoning_effort=cfg.reasoning_effort,
        )

    def _repair_loop(self) -> RepairLoop | None:
        """The refinement loop over the cached backend (a resumed run gets its repairs from the cache); None when
        it can do nothing: no repair rounds and no judge revision, or no request budget."""
        cfg = self.config
        if (cfg.repair_rounds == 0 and not cfg.judge_revision) or cfg.repair_max_requests == 0:
            return None

        def request(messages: list[ChatMessage]) -> GenerationRequest:
            return self._generation_request(messages, n=1)

        settings = RepairSettings(
            rounds=cfg.repair_rounds,
            min_elaborated=cfg.min_elaborated,
            max_requests=cfg.repair_max_requests,
            judge_revision=cfg.judge_revision,
        )
        return RepairLoop(self.backend, settings, request, budget=cfg.prompt_budget, count_tokens=self._count_tokens)

    def _judge(self) -> LLMBackend | None:
        """The judge's backend: none, the generation backend, or (`judge_model`) the configured backend kind
        serving that model, behind the same cache."""
        cfg = self.config
        if not cfg.judge:
            return None
        if cfg.judge_model is None:
            return self.backend
        from autoformal.llm.factory import build_backend

        judge = build_backend(cfg.backend.model_copy(update={"model": cfg.judge_model}))
        self._judge_backend = CachedBackend(judge, self.cache) if self.cache is not None else judge
        return self._judge_backend

    # -- components built on first use (they load models) --------------------------------------------------

    @property
    def lean_checked(self) -> bool:
        return self.checker is not None

    def embedder(self) -> Embedder:
        """The sentence encoder shared by retrieval and back-translation scoring, behind a memo of the
        inputs' vectors (`formalize_many` encodes all inputs in one batch up front)."""
        with self._setup_lock:
            if self._embedder is None and self.backtranslator is not None:
                self._embedder = self.backtranslator._embedder
            if self._embedder is None:
                from autoformal.retrieval.embedder import Embedder

                self._embedder = Embedder(self.config.embedder)
            if not isinstance(self._embedder, InputVectorMemo):
                self._embedder = cast("Embedder", InputVectorMemo(self._embedder))
            if self.backtranslator is not None:
                self.backtranslator._embedder = self._embedder
            return self._embedder

    def _setup_retrievers(self) -> None:
        if self._retrievers_ready:
            return
        cfg = self.config
        embedder = self.embedder() if (cfg.examples or cfg.retrieval != "off") else None
        with self._setup_lock:
            if self._retrievers_ready:
                return
            from autoformal.retrieval.config import build_example_retriever, build_retriever

            index_exists = (cfg.retrieval_config.index_dir / "manifest.json").is_file() or (
                cfg.retrieval_config.index_dir.is_dir() and any(cfg.retrieval_config.index_dir.iterdir())
            )
            if self._retriever is None and (cfg.retrieval == "on" or (cfg.retrieval == "auto" and index_exists)):
                self._retriever = build_retriever(cfg.retrieval_config, embedder=embedder)
            if self._example_retriever is None and cfg.examples:
                self._example_retriever = build_example_retriever(cfg.retrieval_config, embedder=embedder)
            self._retrievers_ready = True

    def warm_up(self) -> None:
        """Build the statement parser, load the embedder and retrievers and warm up the LLM backend (import its
        client library, connect) now, else the first batch pays for it while no LLM request is in flight.
        `formalize_many` warms the backend up by itself; an unreachable server raises here."""
        self._warm_up_backend()
        # Jinja compiles a template on its first render (milliseconds, while no request is out yet).
        build_formalization_messages("warm up", count_tokens=self._count_tokens)
        if self.backtranslator is not None:
            self.backtranslator.request(_WARM_UP_STATEMENT)
        _build_parser()
        self._setup_retrievers()
        if self.backtranslator is not None:
            self.embedder()

    def _warm_up_backend(self) -> None:
        if isinstance(self.raw_backend, SupportsWarmUp):
            self.raw_backend.warm_up()
        _ = self.backend.model_name  # resolved once (the cache keys on it), else in a thread on the first request
        self._backend_warm = True

    def _warm_up_backend_quietly(self) -> None:
        """Warm-up before a batch: a failure is logged, not raised. Each input then reports what is wrong
        with the server on its own, and inputs the cache answers need no server at all."""
        if self._backend_warm:
            return
        try:
            self._warm_up_backend()
        except AutoformalError as exc:
            logger.warning("LLM backend warm-up failed (%s); inputs will report it if they need the server", exc)
            self._backend_warm = True  # once per Formalizer: a down server must not cost a timeout per batch

    # -- one input -------------------------------------------------------------------------------------------

    async def aformalize(
        self, text: str, *, header: str | None = None, context: str | None = None
    ) -> FormalizationResult:
        """Formalize one input. `context`: trusted Lean declarations from *our* code, shown to the model and
        placed before each candidate when checking (never taken from model output)."""
        _check_input(text)
        cfg = self.config
        timings: dict[str, float] = {}
        errors: list[str] = []
        header = header if header is not None else cfg.header
        start = time.perf_counter()

        declarations, examples = await asyncio.to_thread(self._retrieve, text)
        timings["retrieve"] = time.perf_counter() - start

        mark = time.perf_counter()
        prompt_input = text if not context else f"{text}\n\nThese Lean declarations are in scope:\n{context}"
        messages = build_formalization_messages(
            prompt_input, declarations, examples, cfg.prompt_budget, count_tokens=self._count_tokens
        )
        generation = (await self.backend.agenerate([self._generation_request(messages, n=cfg.samples)]))[0]
        timings["generate"] = time.perf_counter() - mark

        mark = time.perf_counter()
        candidates, counts = await asyncio.to_thread(self._extract_and_parse, [c.text for c in generation.completions])
        truncated = sum(1 for c in generation.completions if c.finish_reason == "length")
        if truncated:
            errors.append(f"{truncated} of {len(generation.completions)} samples hit max_tokens={cfg.max_tokens}")
        timings["extract_parse"] = time.perf_counter() - mark

        mark = time.perf_counter()
        admitted = await self._admit(candidates, header, context, errors, counts)
        safe = admitted.kept
        if self.checker is not None and safe:
            counts["elaborated"] = sum(1 for c in safe if c.lean is not None and c.lean.ok)
            if not counts["elaborated"]:
                errors.append(f"none of the {len(safe)} safe candidates elaborated; first: {_first_error(safe)}")
        else:
            counts["elaborated"] = 0
        timings["lean"] = time.perf_counter() - mark

        # The refinement loop (autoformal.repair): one separate call, off with repair_rounds=0.
        mark = time.perf_counter()
        repair = await self._repair(prompt_input, admitted, declarations, header, context, errors)
        safe = safe + repair.candidates
        timings["repair"] = time.perf_counter() - mark

        kept = [c for c in safe if self.ranker.keep(c.lean.ok if c.lean is not None else None)]

        mark = time.perf_counter()
        if self.backtranslator is not None and kept:
            kept = await self._back_translate(text, kept)
        timings["backtranslate"] = time.perf_counter() - mark

        mark = time.perf_counter()
        ranked = await self._score_and_rank(text, kept)
        timings["score"] = time.perf_counter() - mark
        extra_requests = repair.requests
        if self.repair_loop is not None and ranked:
            mark = time.perf_counter()
            top = next(c for c in kept if c.statement == ranked[0].statement)
            if self.repair_loop.wants_revision(top, self.config.repair_max_requests - extra_requests):
                extra_requests += 1
                revised = await self.repair_loop.revise(
                    text, top, self._admitter(header, context, errors), existing=safe
                )
                if revised:
                    if self.backtranslator is not None:
                        revised = await self._back_translate(text, revised)
                    kept = kept + [c for c in revised if self.ranker.keep(c.lean.ok if c.lean is not None else None)]
                    ranked = await self._score_and_rank(text, kept)
            timings["revision"] = time.perf_counter() - mark
        counts["ranked"] = len(ranked)
        timings["total"] = time.perf_counter() - start
        return FormalizationResult(
            input=text,
            candidates=ranked,
            stage_counts=counts,
            timings=timings,
            lean_checked=self.lean_checked,
            errors=errors,
            model=generation.model,
            repair_rounds=repair.rounds,
            extra_requests=extra_requests,
        )

    async def _admit(
        self,
        candidates: list[ScoringCandidate],
        header: str,
        context: str | None,
        errors: list[str],
        counts: dict[str, int] | None = None,
    ) -> Admitted:
        """Safety gate → names → Lean on parsed candidates: those that go on (Lean's verdicts attached) and those
        the name check refused. `counts` (the first round's) records the `safe` and `names` stages."""
        safe = [c for c in candidates if c.document is not None and check_safe(c.statement).ok]
        refused: list[ScoringCandidate] = []
        if counts is not None:
            counts["safe"] = len(safe)
        if self.name_checker is not None:  # the static name check (stage "names"), before Lean
            safe, refused = await asyncio.to_thread(self._check_names, safe, f"{header}\n{context or ''}", errors)
            if counts is not None:
                counts["names"] = len(safe)
        if self.checker is not None and safe:
            if context:
                self.safety_gate.register(context)
            sent = [f"{context}{CONTEXT_SEPARATOR}{c.statement}" if context else c.statement for c in safe]
            verdicts = await self.checker.check(sent, header)
            safe = [c.model_copy(update={"lean": v}) for c, v in zip(safe, verdicts, strict=True)]
        return Admitted(kept=safe, refused=refused)

    def _admitter(self, header: str, context: str | None, errors: list[str]) -> Admit:
        """Admission for the refinement loop's statements: parsed like the first samples, then `_admit`."""

        async def admit(statements: list[str]) -> Admitted:
            candidates, _ = await asyncio.to_thread(self._extract_and_parse, statements)
            return await self._admit(candidates, header, context, errors)

        return admit

    async def _repair(
        self,
        text: str,
        admitted: Admitted,
        declarations: list[Declaration],
        header: str,
        context: str | None,
        errors: list[str],
    ) -> RepairOutcome:
        if self.repair_loop is None:
            return RepairOutcome()
        outcome = await self.repair_loop.repair(
            text,
            admitted.kept + admitted.refused,
            self._admitter(header, context, errors),
            declarations=declarations,
            # Lean counted the trusted context's lines too (it was sent before the statement).
            line_offset=context.count("\n") + CONTEXT_SEPARATOR.count("\n") if context else 0,
        )
        errors.extend(outcome.errors)
        return outcome

    def _retrieve(self, text: str) -> tuple[list[Declaration], list[Example]]:
        self._setup_retrievers()
        declarations = (
            [h.item for h in self._retriever.search(text, self.config.retrieval_config.k)]
            if self._retriever is not None
            else []
        )
        examples = (
            [h.item for h in self._example_retriever.search(text, self.config.examples)]
            if self._example_retriever is not None and self.config.examples
            else []
        )
        return declarations, examples

    @staticmethod
    def _extract_and_parse(outputs: list[str]) -> tuple[list[ScoringCandidate], dict[str, int]]:
        """Distinct statements across the samples (with how many samples produced each, and the first that
        did), parsed."""
        multiplicity: dict[str, int] = {}
        first_sample: dict[str, int] = {}
        for index, output in enumerate(outputs):
            for statement in extract_statements(output):
                multiplicity[statement] = multiplicity.get(statement, 0) + 1
                first_sample.setdefault(statement, index)
        candidates = [
            ScoringCandidate.from_statement(s, multiplicity=m, provenance=Provenance(sample=first_sample[s]))
            for s, m in multiplicity.items()
        ]
        counts = {
            "generated": len(outputs),
            "extracted": len(candidates),
            "parsed": sum(1 for c in candidates if c.document is not None),
        }
        return candidates, counts

    def _check_names(
        self, candidates: list[ScoringCandidate], header: str, errors: list[str]
    ) -> tuple[list[ScoringCandidate], list[ScoringCandidate]]:
        """The candidates with their name-check verdicts attached (the `names` scorer reads them); with
        `names_filter="drop"` only those whose names all exist, or might, each dropped one reported (and
        returned second, for the repair loop)."""
        assert self.name_checker is not None
        kept, dropped = [], []
        for c in candidates:
            assert c.document is not None
            verdict = self.name_checker.check_document(c.document, header)
            if verdict.ok or self.config.names_filter == "annotate":
                kept.append(c.model_copy(update={"names": verdict}))
            else:
                errors.append(f"not sent to Lean, {verdict.describe()}: {c.statement[:200]}")
                dropped.append(c.model_copy(update={"names": verdict}))
        return kept, dropped

    async def _back_translate(self, text: str, candidates: list[ScoringCandidate]) -> list[ScoringCandidate]:
        """One translation (and judge verdict, when configured) per canonical-form cluster (its members say
        the same thing)."""
        assert self.backtranslator is not None
        representatives: dict[str, int] = {}
        for i, c in enumerate(candidates):
            representatives.setdefault(c.canonical_form or c.statement, i)
        order = list(representatives.values())
        statements = [candidates[i].statement for i in order]
        translations = await self.backtranslator.translate(statements)
        judgements = await self.backtranslator.judge(text, statements, translations)
        by_cluster = {
            candidates[i].canonical_form or candidates[i].statement: {"back_translation": t, "judgement": j}
            for i, t, j in zip(order, translations, judgements, strict=True)
        }
        return [c.model_copy(update=by_cluster[c.canonical_form or c.statement]) for c in candidates]

    async def _score_and_rank(self, text: str, candidates: list[ScoringCandidate]) -> list[RankedCandidate]:
        if not candidates:
            return []
        if self.backtranslator is not None:
            await asyncio.to_thread(self.embedder)
        per_scorer: dict[str, list[Score]] = {}
        for scorer in self.scorers:
            per_scorer[scorer.name] = await scorer.score(text, candidates)
        sizes = cluster_sizes(candidates)
        scores = [{name: s[i].value for name, s in per_scorer.items()} for i in range(len(candidates))]
        combined = [self.ranker.combine(s) for s in scores]
        ranked = []
        for rank, i in enumerate(self.ranker.order(combined, sizes), start=1):
            c = candidates[i]
            ranked.append(
                RankedCandidate(
                    rank=rank,
                    statement=c.statement,
                    canonical_form=c.canonical_form,
                    score=combined[i],
                    scores=scores[i],
                    explanations={name: s[i].explanation for name, s in per_scorer.items()},
                    lean=c.lean,
                    back_translation=c.back_translation,
                    judgement=c.judgement,
                    cluster_size=sizes[i],
                    provenance=c.provenance,
                )
            )
        return ranked

    def formalize(self, text: str, *, header: str | None = None, context: str | None = None) -> FormalizationResult:
        """Sync `aformalize` (also callable from a notebook's running loop)."""
        return run_coroutine_sync(lambda: self.aformalize(text, header=header, context=context))

    # -- many inputs -----------------------------------------------------------------------------------------

    async def aformalize_many(
        self,
        texts: Sequence[str],
        *,
        headers: Sequence[str | None] | None = None,
        contexts: Sequence[str | None] | None = None,
    ) -> AsyncIterator[tuple[int, FormalizationResult]]:
        """Yield `(index, result)` as inputs finish, `config.concurrency` inputs in flight. An input whose
        LLM call or check fails yields a result with the error in `errors` instead of stopping the batch."""
        if headers is not None and len(headers) != len(texts):
            raise ValueError(f"{len(headers)} headers for {len(texts)} texts")
        if contexts is not None and len(contexts) != len(texts):
            raise ValueError(f"{len(contexts)} contexts for {len(texts)} texts")
        # The LLM client library's first import and connection, before the batch rather than inside its first
        # request, while every server slot would idle.
        await asyncio.to_thread(self._warm_up_backend_quietly)
        # Build the parser once before many worker threads would each build it concurrently (seconds each).
        await asyncio.to_thread(_build_parser)
        await asyncio.to_thread(self._setup_retrievers)
        # Inputs are encoded in batches, in input order, while earlier inputs already generate: one batched
        # encode per chunk instead of one small encode per input competing for the thread pool. Chunks grow
        # from one input, so the first request waits for one text's encoding rather than a full batch's.
        chunks = growing_chunks(len(texts), largest=16)
        primed = [asyncio.Event() for _ in chunks]
        chunk_of = [n for n, (start, end) in enumerate(chunks) for _ in range(start, end)]
        memo = self.embedder() if self._embedder is not None or self.backtranslator is not None else None

        async def prime() -> None:
            try:
                for n, (start, end) in enumerate(chunks):
                    if isinstance(memo, InputVectorMemo):
                        await asyncio.to_thread(memo.prime, [t.strip() for t in texts[start:end]])
                    primed[n].set()
            except Exception:  # each input then encodes on its own and, if that fails too, fails on its own
                logger.warning("batch encoding of the inputs failed; encoding them one by one", exc_info=True)
            finally:  # a worker waiting on an event nobody sets would hang the batch
                for event in primed:
                    event.set()

        queue: asyncio.Queue[tuple[int, FormalizationResult]] = asyncio.Queue()
        next_index = iter(range(len(texts)))

        async def worker() -> None:
            for i in next_index:
                await primed[chunk_of[i]].wait()
                try:
                    result = await self.aformalize(
                        texts[i],
                        header=headers[i] if headers is not None else None,
                        context=contexts[i] if contexts is not None else None,
                    )
                except AutoformalError as exc:
                    result = self._failed(texts[i], f"{type(exc).__name__}: {exc}")
                except Exception as exc:  # a bug costs this input, never the batch (a dead worker hung it)
                    logger.exception("input %d failed with an unexpected error", i)
                    result = self._failed(texts[i], f"internal error, please report it: {type(exc).__name__}: {exc}")
                await queue.put((i, result))

        workers = [asyncio.create_task(prime())]
        workers += [asyncio.create_task(worker()) for _ in range(min(self.config.concurrency, len(texts)))]
        try:
            for _ in range(len(texts)):
                item = await queue.get()
                yield item
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def _failed(self, text: str, error: str) -> FormalizationResult:
        return FormalizationResult(input=text, lean_checked=self.lean_checked, errors=[error])

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
        await self.backend.aclose()
        if self._judge_backend is not None:
            await self._judge_backend.aclose()
        if self.checker is not None:
            await self.checker.aclose()
        if self.cache is not None and self._owned_cache:
            self.cache.close()

    def close(self) -> None:
        self.backend.close()
        if self._judge_backend is not None:
            self._judge_backend.close()
        if self.checker is not None:
            self.checker.close()
        if self.cache is not None and self._owned_cache:
            self.cache.close()

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


def _build_parser() -> None:
    """Parse a trivial statement: the grammar's parser is built on first use and cached."""
    parse_document(_WARM_UP_STATEMENT)


def growing_chunks(total: int, *, largest: int) -> list[tuple[int, int]]:
    """`(start, end)` of consecutive chunks covering `range(total)`, of 1, 2, 4, … items, then `largest` each."""
    chunks: list[tuple[int, int]] = []
    start, size = 0, 1
    while start < total:
        end = min(start + size, total)
        chunks.append((start, end))
        start, size = end, min(size * 2, largest)
    return chunks


def _first_error(candidates: Sequence[ScoringCandidate]) -> str:
    for c in candidates:
        lean: CheckResult | None = c.lean
        if lean is not None and not lean.ok:
            text = next((m.text for m in lean.messages if m.is_error), None) or lean.detail or lean.status.value
            return text.splitlines()[0][:200] if text else lean.status.value
    return "no Lean verdict"


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
