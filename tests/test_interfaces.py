"""Every stage, scorer, checker and backend meets its interface (in the spirit of scikit-learn's
`check_estimator`): one shared battery of checks per kind, run on each implementation against the real
protocols (the loopback OpenAI stub server, the stand-in REPL, a loopback Kimina stand-in, a tiny local model)."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_checking_kimina import KiminaStandin

from autoformal.assembly import Components, assemble
from autoformal.cache import Cache, CachedBackend, CachedChecker
from autoformal.checking import KiminaCheckerConfig, ReplCheckerConfig
from autoformal.checking.kimina import KiminaChecker
from autoformal.checking.models import CheckResult, CheckStatus
from autoformal.checking.protocol import LeanChecker
from autoformal.checking.repl import ReplChecker
from autoformal.checking.semantic import SemanticConfig
from autoformal.config import FormalizerConfig
from autoformal.llm import GenerationRequest, OpenAIBackendConfig, OpenAICompatibleBackend
from autoformal.llm.base import LLMBackend
from autoformal.llm.models import ChatMessage, GenerationResult
from autoformal.names import NameChecker, NameTable
from autoformal.pipeline import ADMISSION, STAGE_NAMES, STAGES, Formalizer
from autoformal.retrieval.embedder import Embedder
from autoformal.scoring import (
    DEFAULT_CHECKS,
    BackTranslationScorer,
    CheckScorer,
    ConsistencyScorer,
    ElaborationScorer,
    NameScorer,
    Score,
    Scorer,
    ScoringCandidate,
    SelfConsistencyScorer,
)
from autoformal.stages import Candidate, Job, Stage, run_stages
from autoformal.testing.openai_server import OpenAIStubServer
from autoformal.testing.standin_repl import StandinInstall, install_standin

INFORMAL = "Show that for every natural number n, n + 0 = n."
GOOD = "theorem t (n : ℕ) : n + 0 = n := sorry"
OTHER = "theorem u (n : ℕ) : n + 1 = n := sorry"
REJECTED = 'theorem b (n : Nat) :\n  n + "a" = n := sorry'
UNPARSED = "theorem broken (n : ℕ) : n + 0 ="
UNSAFE = '#eval IO.println "hi"\ntheorem t : True := sorry'
HEADER = "import Mathlib"


def responder(request: dict[str, Any]) -> list[str]:
    prompt = request["messages"][-1]["content"]
    if "<lean_statement>" in prompt:
        return ["For every natural number n, n plus zero is n."] * int(request.get("n") or 1)
    return [f"```lean\n{GOOD}\n```", f"```lean\n{OTHER}\n```", "no statement here"][: int(request.get("n") or 1)]


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAIStubServer]:
    with OpenAIStubServer(responder) as stub:
        yield stub


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> StandinInstall:
    return install_standin(tmp_path_factory.mktemp("standin") / "proj")


def repl_config(standin: StandinInstall) -> ReplCheckerConfig:
    return ReplCheckerConfig(
        project_dir=standin.directory, repl_dir=standin.directory, lake_path=standin.lake, num_workers=1
    )


# -- stages ---------------------------------------------------------------------------------------------------


def test_the_stage_list_is_defined_once_and_names_are_unique() -> None:
    assert all(inspect.isclass(s) and issubclass(s, Stage) for s in STAGES)
    assert len(set(STAGE_NAMES)) == len(STAGE_NAMES) == len(STAGES)
    assert all(re.fullmatch(r"[a-z_]+", name) and name != "total" for name in STAGE_NAMES)
    assert list(ADMISSION) == [s for s in STAGES if s in ADMISSION]  # a contiguous run, in order


@pytest.fixture(scope="module")
def parts(
    server: OpenAIStubServer, standin: StandinInstall, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Components]:
    table = tmp_path_factory.mktemp("names") / "names.tsv"
    NameTable.from_names(["Nat", "Nat.add"]).save(table)
    config = FormalizerConfig(
        backend=OpenAIBackendConfig(base_url=server.base_url, model=server.model),
        checker=repl_config(standin),
        cache=False,
        samples=3,
        retrieval="off",
        examples=0,
        names=table,
        names_filter="annotate",
        judge=True,
        judge_revision=True,  # every stage is built, the revision stage included
        semantic=SemanticConfig(probes=True, equivalence=True),
    )
    components = assemble(config, embedder=embedder)
    yield components
    components.close()


@pytest.mark.parametrize("stage_class", STAGES, ids=[s.name for s in STAGES])
def test_every_stage_meets_the_stage_interface(stage_class: type[Stage], parts: Components) -> None:
    assert isinstance(stage_class.name, str)
    assert inspect.iscoroutinefunction(stage_class.run)
    stage = stage_class.build(parts)
    assert stage is not None, "every stage runs under this configuration (all components present)"
    assert isinstance(stage, Stage) and stage.name == stage_class.name

    async def run() -> tuple[Job, list[Candidate]]:
        job = Job(text=INFORMAL, header=HEADER)
        earlier = list(STAGES[: STAGES.index(stage_class)])
        before = await run_stages([s for s in (c.build(parts) for c in earlier) if s is not None], job, [])
        job.counts.clear()
        job.timings.clear()
        out = await run_stages([stage], job, before)
        return job, out

    job, out = asyncio.run(run())
    assert isinstance(out, list) and all(isinstance(c, Candidate) for c in out)
    # the run records the stage's timing (and its count, when it counts) under its name, nothing else
    assert set(job.timings) == {stage.name}
    assert set(job.counts) <= {stage.name}
    assert all(line.split(":")[0] in STAGE_NAMES for line in job.errors)
    if stage_class in ADMISSION:  # from here on, a candidate carries its parse
        assert all(c.document is not None for c in out) or stage_class.name == "extracted"


def test_a_stage_may_admit_new_raw_texts_through_the_admission_stages(parts: Components) -> None:
    formalizer = Formalizer(parts.config, backend=parts.raw_backend, checker=None, embedder=parts.embedder)
    try:
        job = formalizer.new_job(INFORMAL, header=HEADER)
        new = asyncio.run(job.admit([f"```lean\n{OTHER}\n```", "prose", UNSAFE], origin="repair"))
    finally:
        formalizer.close()
    assert [c.statement for c in new] == [OTHER, "theorem t : True := sorry"]  # the command is not extracted
    assert all(c.annotations == {"origin": "repair"} and c.document is not None for c in new)
    assert all(c.lean is not None and c.lean.ok for c in new)
    assert not job.counts  # a re-entry records in its own job, never over the first pass


# -- scorers --------------------------------------------------------------------------------------------------


def _candidates(checked: bool) -> list[ScoringCandidate]:
    candidates = [ScoringCandidate.from_statement(s) for s in (GOOD, GOOD.replace("t (", "t2 ("), OTHER, UNPARSED)]
    if not checked:
        return candidates
    ok = CheckResult(statement=GOOD, status=CheckStatus.OK, ok=True)
    verdict = [ok, CheckResult.failure(OTHER, CheckStatus.ERROR, "x")]
    return [c.model_copy(update={"lean": verdict[i % 2]}) for i, c in enumerate(candidates)]


def _scorers(server: OpenAIStubServer, embedder: Embedder) -> list[Scorer]:
    backend = OpenAICompatibleBackend(OpenAIBackendConfig(base_url=server.base_url, model=server.model))
    return [
        ConsistencyScorer(),
        SelfConsistencyScorer(),
        ElaborationScorer(),
        NameScorer(NameChecker(NameTable.from_names(["Nat"])), HEADER),
        BackTranslationScorer(backend, embedder),
        BackTranslationScorer(backend, embedder, judge=backend),
        *(CheckScorer(check) for check in DEFAULT_CHECKS),
    ]


@pytest.mark.parametrize("checked", [False, True], ids=["unchecked", "lean-checked"])
def test_every_scorer_meets_the_scorer_interface(server: OpenAIStubServer, embedder: Embedder, checked: bool) -> None:
    names = set()
    for scorer in _scorers(server, embedder):
        assert isinstance(scorer, Scorer), type(scorer).__name__
        assert isinstance(scorer.name, str) and scorer.name
        names.add(scorer.name)
        candidates = _candidates(checked)
        scores = asyncio.run(scorer.score(INFORMAL, candidates))
        assert len(scores) == len(candidates), scorer.name
        assert all(isinstance(s, Score) and 0.0 <= s.value <= 1.0 and s.explanation for s in scores), scorer.name
        assert asyncio.run(scorer.score(INFORMAL, [])) == [], scorer.name  # no candidates, no scores
        # deterministic: the same candidates score the same (the stub server answers greedily alike)
        assert [s.value for s in asyncio.run(scorer.score(INFORMAL, candidates))] == [s.value for s in scores]
    assert len(names) >= 6


# -- checkers -------------------------------------------------------------------------------------------------


def _check_checker(checker: LeanChecker) -> None:
    assert isinstance(checker, LeanChecker)
    statements = [GOOD, UNSAFE, REJECTED, GOOD]
    results = asyncio.run(checker.check(statements, HEADER))
    assert [r.statement for r in results] == statements  # one result each, in input order
    assert results[0].ok and results[3].ok
    assert results[1].status == CheckStatus.REJECTED_UNSAFE  # the gate runs inside every checker
    assert not results[2].ok and results[2].status != CheckStatus.REJECTED_UNSAFE
    assert asyncio.run(checker.check([], HEADER)) == []
    assert [r.ok for r in checker.check_sync([GOOD], HEADER)] == [True]


def test_the_repl_checker_meets_the_checker_interface(standin: StandinInstall) -> None:
    with ReplChecker(repl_config(standin)) as checker:
        _check_checker(checker)


def test_the_kimina_checker_meets_the_checker_interface() -> None:
    with KiminaStandin() as kimina, KiminaChecker(KiminaCheckerConfig(url=kimina.url)) as checker:
        _check_checker(checker)


def test_the_cached_checker_meets_the_checker_interface(standin: StandinInstall, tmp_path: Path) -> None:
    with Cache(tmp_path / "c.sqlite") as cache:
        checker = CachedChecker(ReplChecker(repl_config(standin)), cache, environment="test")
        try:
            _check_checker(checker)
            _check_checker(checker)  # answered from the cache the second time, alike
        finally:
            checker.close()


# -- backends -------------------------------------------------------------------------------------------------


def _check_backend(backend: LLMBackend) -> None:
    assert isinstance(backend, LLMBackend)
    assert isinstance(backend.model_name, str) and backend.model_name
    requests = [
        GenerationRequest(messages=[ChatMessage(role="user", content=f"say {i}")], n=n, max_tokens=16, temperature=0)
        for i, n in enumerate((2, 1))
    ]
    results = asyncio.run(backend.agenerate(requests))
    assert len(results) == 2 and all(isinstance(r, GenerationResult) for r in results)
    assert [len(r.completions) for r in results] == [2, 1]  # all n samples of a request, in request order
    assert asyncio.run(backend.agenerate([])) == []
    assert len(backend.generate(requests[1:])[0].completions) == 1


def test_the_openai_backend_meets_the_backend_interface(server: OpenAIStubServer) -> None:
    backend = OpenAICompatibleBackend(OpenAIBackendConfig(base_url=server.base_url, model=server.model))
    try:
        _check_backend(backend)
    finally:
        backend.close()


def test_the_cached_backend_meets_the_backend_interface(server: OpenAIStubServer, tmp_path: Path) -> None:
    with Cache(tmp_path / "c.sqlite") as cache:
        backend = CachedBackend(
            OpenAICompatibleBackend(OpenAIBackendConfig(base_url=server.base_url, model=server.model)), cache
        )
        try:
            _check_backend(backend)
        finally:
            backend.close()


def test_the_transformers_backend_meets_the_backend_interface() -> None:
    pytest.importorskip("transformers")
    from test_llm_transformers import _tiny_backend

    backend = _tiny_backend()
    try:
        _check_backend(backend)
    finally:
        backend.close()
