"""Assembly: the one place that turns a `FormalizerConfig` into ready components — the cache and what it
wraps, the generation and judge backends, the Lean checker behind the safety gate, the names checker, the
lazily loaded embedder and retrievers, the scorers and the ranker. The pipeline and its stages receive these;
they never build a component themselves.

Pass instances to `assemble` to share or replace components (tests pass stand-ins); everything not passed is
built from the config.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, TypeGuard, cast

from autoformal.cache import Cache, CachedBackend, CachedChecker
from autoformal.checking.gate import TrustedContextGate
from autoformal.checking.protocol import BaseChecker, LeanChecker
from autoformal.checking.semantic import SemanticChecker
from autoformal.checking.trusted import TrustedProver
from autoformal.config import FormalizerConfig
from autoformal.errors import AutoformalError
from autoformal.llm.base import LLMBackend, SupportsWarmUp
from autoformal.llm.grammar import generation_grammar
from autoformal.names import NameChecker, NameTable
from autoformal.names.table import INDEX_NAMES_FILE, read_names_info
from autoformal.prompts import TokenCounter, build_formalization_messages, token_counter_for
from autoformal.ranking import Ranker
from autoformal.retrieval.handles import InputVectorMemo, LazyRetrievers
from autoformal.scoring import (
    BackTranslationScorer,
    ConsistencyScorer,
    ElaborationScorer,
    NameScorer,
    Scorer,
    SelfConsistencyScorer,
)
from autoformal.scoring.semantic import ProbeScorer
from autoformal.syntax import parse_document

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from 3.11; annotations only

    from autoformal.corpus.models import Declaration, Example
    from autoformal.retrieval.base import Retriever
    from autoformal.retrieval.embedder import Embedder

logger = logging.getLogger(__name__)

WARM_UP_STATEMENT = "theorem warm_up : True := sorry"


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


@dataclass
class Components:
    """Everything a `Formalizer`'s stages run on, ready to use (models load on first use)."""

    config: FormalizerConfig
    cache: Cache | None
    owns_cache: bool
    raw_backend: LLMBackend
    backend: LLMBackend  # behind the cache when there is one
    count_tokens: TokenCounter
    grammar: str | None
    safety_gate: TrustedContextGate
    checker: LeanChecker | None  # behind the cache when there is one; None = Lean off
    embedder: InputVectorMemo
    #: Whether a stage encodes text with `embedder` (then a batch primes it with the inputs' vectors).
    embedder_used: bool
    retrievers: LazyRetrievers
    ranker: Ranker
    name_checker: NameChecker | None
    backtranslator: BackTranslationScorer | None
    scorers: list[Scorer]
    #: Lean as a semantic judge (probes, proven equivalence); None without Lean or with a checker that
    #: cannot run proof jobs.
    semantic: SemanticChecker | None = None
    #: Backends built only for the judge (closed with the rest).
    judge_backend: LLMBackend | None = None
    _backend_warm: bool = field(default=False, repr=False)
    _parser_loading: bool = field(default=False, repr=False)

    def warm_up(self) -> None:
        """Warm up the backend, compile the prompt template, build the statement parser, load the retrievers
        and the embedder now; an unreachable server raises here."""
        self.warm_up_backend()
        # Jinja compiles a template on its first render (milliseconds, while no request is out yet).
        build_formalization_messages("warm up", count_tokens=self.count_tokens)
        if self.backtranslator is not None:
            self.backtranslator.request(WARM_UP_STATEMENT)
        build_parser()
        self.retrievers.setup()
        if self.backtranslator is not None:
            _ = self.embedder.embedder

    async def load_parser_once(self) -> None:
        """Build the statement parser in a worker thread, the first time only (later calls return at once; an
        input that needs it before it is ready waits for it in the parser's own lock)."""
        if self._parser_loading:
            return
        self._parser_loading = True
        await asyncio.to_thread(build_parser)

    def warm_up_backend(self) -> None:
        if isinstance(self.raw_backend, SupportsWarmUp):
            self.raw_backend.warm_up()
        _ = self.backend.model_name  # resolved once (the cache keys on it), else in a thread on the first request
        self._backend_warm = True

    def warm_up_backend_quietly(self) -> None:
        """Warm-up before a batch: a failure is logged, not raised. Each input then reports what is wrong
        with the server on its own, and inputs the cache answers need no server at all."""
        if self._backend_warm:
            return
        try:
            self.warm_up_backend()
        except AutoformalError as exc:
            logger.warning("LLM backend warm-up failed (%s); inputs will report it if they need the server", exc)
            self._backend_warm = True  # once per Formalizer: a down server must not cost a timeout per batch

    async def aclose(self) -> None:
        await self.backend.aclose()
        if self.judge_backend is not None:
            await self.judge_backend.aclose()
        if self.checker is not None:
            await self.checker.aclose()
        if self.cache is not None and self.owns_cache:
            self.cache.close()

    def close(self) -> None:
        self.backend.close()
        if self.judge_backend is not None:
            self.judge_backend.close()
        if self.checker is not None:
            self.checker.close()
        if self.cache is not None and self.owns_cache:
            self.cache.close()


def build_parser() -> None:
    """Parse a trivial statement: the grammar's parser is built on first use and cached."""
    parse_document(WARM_UP_STATEMENT)


class Overrides(TypedDict, total=False):
    """Ready instances to use instead of building them from the config (`assemble`, `Formalizer`)."""

    backend: LLMBackend
    checker: LeanChecker
    retriever: Retriever[Declaration]
    example_retriever: Retriever[Example]
    scorers: Sequence[Scorer]
    cache: Cache
    embedder: Embedder
    safety_gate: TrustedContextGate
    name_checker: NameChecker


def assemble(config: FormalizerConfig, **overrides: Unpack[Overrides]) -> Components:
    """The components `config` describes, with any passed instance (`Overrides`) used instead of building
    one. With `config.lean=False` there is no checker."""
    cfg = config
    backend = overrides.get("backend")
    checker = overrides.get("checker")
    scorers = overrides.get("scorers")
    cache = overrides.get("cache")
    embedder = overrides.get("embedder")
    name_checker = overrides.get("name_checker")
    safety_gate = overrides.get("safety_gate") or TrustedContextGate()
    owns_cache = cache is None and cfg.cache
    if cache is None and cfg.cache:
        cache = Cache(cfg.cache_path)
    if backend is None:
        backend = _backend(cfg)
    cached_backend: LLMBackend = CachedBackend(backend, cache) if cache is not None else backend
    # exact prompt budgeting with the model's own tokenizer when the backend has one
    count_tokens = token_counter_for(backend)
    lean_checker = _lean_checker(cfg, checker, safety_gate, cache)
    memo = InputVectorMemo(embedder) if embedder is not None else InputVectorMemo(load=_embedder_loader(cfg))
    retrievers = LazyRetrievers(
        cfg.retrieval_config,
        retrieval=cfg.retrieval,
        examples=cfg.examples,
        # InputVectorMemo is an Embedder by delegation (`__getattr__`), which the type checker cannot see
        embedder=cast("Embedder", memo) if (cfg.examples or cfg.retrieval != "off") else None,
        retriever=overrides.get("retriever"),
        example_retriever=overrides.get("example_retriever"),
    )
    if name_checker is None:
        names_source = names_source_of(cfg)
        if names_source is not None:
            name_checker = NameChecker(NameTable.load(names_source))

    judge_backend = _judge_backend(cfg, cache) if cfg.judge and cfg.judge_model is not None else None
    semantic = (
        SemanticChecker(lean_checker, config=cfg.semantic, cache=cache, environment=lean_environment_id(cfg))
        if lean_checker is not None
        and runs_proof_jobs(lean_checker)
        and (cfg.semantic.probes or cfg.semantic.equivalence)
        else None
    )
    backtranslator: BackTranslationScorer | None = None
    if scorers is None:
        scorers = [ConsistencyScorer(), SelfConsistencyScorer()]
        if cfg.backtranslation:
            backtranslator = _backtranslator(cfg, cached_backend, memo, judge_backend, count_tokens)
            scorers.append(backtranslator)
        if lean_checker is not None:
            scorers.append(ElaborationScorer())
        if name_checker is not None:
            scorers.append(NameScorer(name_checker, cfg.header))
        if semantic is not None and cfg.semantic.probes:
            scorers.append(ProbeScorer())
    else:
        backtranslator = next((s for s in scorers if isinstance(s, BackTranslationScorer)), None)
    return Components(
        config=cfg,
        cache=cache,
        owns_cache=owns_cache,
        raw_backend=backend,
        backend=cached_backend,
        count_tokens=count_tokens,
        grammar=generation_grammar() if cfg.grammar_constrained else None,
        safety_gate=safety_gate,
        checker=lean_checker,
        embedder=memo,
        embedder_used=embedder is not None or backtranslator is not None or retrievers.embedder is not None,
        retrievers=retrievers,
        ranker=Ranker(cfg.ranker),
        name_checker=name_checker,
        backtranslator=backtranslator,
        scorers=list(scorers),
        semantic=semantic,
        judge_backend=judge_backend,
    )


@dataclass
class ScoringComponents:
    """What the scorer harness (`autoformal eval`) runs on: the back-translation scorer (with the judge, when
    configured) and the Lean checker, each None when the configuration leaves it out."""

    backtranslator: BackTranslationScorer | None
    checker: LeanChecker | None
    cache: Cache | None
    backends: list[LLMBackend] = field(default_factory=list)

    def close(self) -> None:
        for backend in self.backends:
            backend.close()
        if self.checker is not None:
            self.checker.close()
        if self.cache is not None:
            self.cache.close()


def assemble_scoring(config: FormalizerConfig) -> ScoringComponents:
    """The scorers `config` asks for that need a model or Lean, built as `assemble` builds them (same
    backend settings, cache, judge, limits); with `backtranslation` off no LLM backend is built at all."""
    cache = Cache(config.cache_path) if config.cache else None
    backtranslator = None
    backends: list[LLMBackend] = []
    if config.backtranslation:
        backend = _backend(config)
        cached: LLMBackend = CachedBackend(backend, cache) if cache is not None else backend
        judge = _judge_backend(config, cache) if config.judge and config.judge_model is not None else None
        memo = InputVectorMemo(load=_embedder_loader(config))
        backtranslator = _backtranslator(config, cached, memo, judge, token_counter_for(backend))
        backends = [cached, *([judge] if judge is not None else [])]
    checker = _lean_checker(config, None, TrustedContextGate(), cache)
    return ScoringComponents(backtranslator=backtranslator, checker=checker, cache=cache, backends=backends)


def _backend(cfg: FormalizerConfig) -> LLMBackend:
    from autoformal.llm.factory import build_backend

    return build_backend(cfg.limits.backend(cfg.backend))


def runs_proof_jobs(checker: LeanChecker) -> TypeGuard[TrustedProver]:
    """Whether `checker` (or the checker behind the cache) can run trusted proof jobs."""
    inner = checker.checker if isinstance(checker, CachedChecker) else checker
    if isinstance(inner, BaseChecker):
        return type(inner)._run_trusted_jobs is not BaseChecker._run_trusted_jobs
    return isinstance(inner, TrustedProver)


def _lean_checker(
    cfg: FormalizerConfig, checker: LeanChecker | None, gate: TrustedContextGate, cache: Cache | None
) -> LeanChecker | None:
    """The given or configured checker behind the cache (keyed by the Lean environment); None with Lean off."""
    if not cfg.lean:
        return None
    if checker is None:
        from autoformal.checking.factory import build_checker

        checker = build_checker(cfg.limits.checker(cfg.checker), safety_gate=gate)
    return CachedChecker(checker, cache, environment=lean_environment_id(cfg)) if cache is not None else checker


def _backtranslator(
    cfg: FormalizerConfig,
    backend: LLMBackend,
    embedder: InputVectorMemo,
    judge_backend: LLMBackend | None,
    count_tokens: TokenCounter,
) -> BackTranslationScorer:
    return BackTranslationScorer(
        backend,
        cast("Embedder", embedder),  # an Embedder by delegation, loaded on first use
        max_tokens=cfg.backtranslation_max_tokens,
        judge=(judge_backend or backend) if cfg.judge else None,
        # the generation prompt's context, with room for a verdict instead of a formalization
        judge_budget=cfg.prompt_budget.for_answer(cfg.backtranslation_max_tokens, cfg.max_tokens),
        count_tokens=count_tokens,
    )


def _judge_backend(cfg: FormalizerConfig, cache: Cache | None) -> LLMBackend:
    """The configured backend kind serving `judge_model`, behind the same cache."""
    judge = _backend(cfg.model_copy(update={"backend": cfg.backend.model_copy(update={"model": cfg.judge_model})}))
    return CachedBackend(judge, cache) if cache is not None else judge


def _embedder_loader(cfg: FormalizerConfig) -> Callable[[], Embedder]:
    def load() -> Embedder:
        from autoformal.retrieval.embedder import Embedder

        return Embedder(cfg.embedder)

    return load
