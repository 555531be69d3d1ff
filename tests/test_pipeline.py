"""End-to-end tests of the `Formalizer` against the loopback OpenAI-compatible server (with a responder that
answers like a formalization model) and the stand-in Lean REPL, with the real embedder."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from autoformal.batch import growing_chunks
from autoformal.cache import Cache, CachedBackend
from autoformal.checking import ReplCheckerConfig
from autoformal.config import FormalizerConfig
from autoformal.llm import GenerationRequest, OpenAIBackendConfig, OpenAICompatibleBackend
from autoformal.llm.models import ChatMessage
from autoformal.pipeline import Formalizer
from autoformal.retrieval.embedder import Embedder
from autoformal.testing.openai_server import OpenAIStubServer
from autoformal.testing.standin_repl import StandinInstall, install_standin, read_log

INFORMAL = "Show that for every natural number n, n + 0 = n."
# What a formalization model might sample: three spellings of the faithful statement, an unfaithful one,
# one that Lean rejects (a definition declared twice), one cut off mid-term (not extracted), prose.
SAMPLES = [
    "Here is the formalization:\n```lean\ntheorem add_zero' (n : ℕ) : n + 0 = n := by simp\n```",
    "```lean\ntheorem t (m : ℕ) : m + 0 = m := by sorry\n```",
    "```lean\ntheorem t2 (n : ℕ) : n + 1 = n := by sorry\n```",
    "```lean\ndef c : ℕ := 0\ndef c : ℕ := 0\ntheorem t3 (n : ℕ) : n + c = n := by sorry\n```",
    "```lean\ntheorem broken (n : ℕ) : n + 0 =",
    "```lean\ntheorem t4 (n : ℕ) : n + 0 = n := by\n  simp\n```",
]
BACK_TRANSLATIONS = {
    "n + 0 = n": "For every natural number n, n plus zero equals n.",
    "n + 1 = n": "Every natural number is equal to its successor.",
}


def model_responder(request: dict[str, Any]) -> list[str]:
    """Formalization prompts get `SAMPLES` (cycled); back-translation prompts get an English rendering."""
    prompt = request["messages"][-1]["content"]
    n = int(request.get("n") or 1)
    if "<lean_statement>" in prompt:
        statement = prompt.split("<lean_statement>")[1]
        text = next((v for k, v in BACK_TRANSLATIONS.items() if k in statement.replace("m", "n")), "Something.")
        return [text] * n
    return [SAMPLES[i % len(SAMPLES)] for i in range(n)]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def standin(tmp_path: Path) -> StandinInstall:
    return install_standin(tmp_path / "proj", log_path=tmp_path / "lean.jsonl")


@pytest.fixture
def server():
    with OpenAIStubServer(model_responder) as stub:
        yield stub


def make_config(server: OpenAIStubServer, standin: StandinInstall | None, tmp_path: Path, **overrides: Any):
    checker = (
        ReplCheckerConfig(
            project_dir=standin.directory,
            repl_dir=standin.directory,
            lake_path=standin.lake,
            num_workers=2,
            timeout_s=10.0,
            header_timeout_s=20.0,
        )
        if standin is not None
        else ReplCheckerConfig()
    )
    settings: dict[str, Any] = {
        "backend": OpenAIBackendConfig(base_url=server.base_url, model=server.model),
        "checker": checker,
        "lean": standin is not None,
        "cache_path": tmp_path / "cache.sqlite",
        "samples": 6,
        "retrieval": "off",
        **overrides,
    }
    return FormalizerConfig(**settings)


def lean_requests(standin: StandinInstall) -> list[dict[str, Any]]:
    assert standin.log_path is not None
    return [e["request"] for e in read_log(standin.log_path) if "request" in e and "env" in e["request"]]


def test_ranked_output_with_lean(server, standin, tmp_path, embedder) -> None:
    with Formalizer(make_config(server, standin, tmp_path), embedder=embedder) as formalizer:
        result = formalizer.formalize(INFORMAL)
    assert result.lean_checked
    assert result.model == server.model
    # 6 samples; `broken` is cut off mid-term, so 5 distinct statements are extracted.
    assert result.stage_counts["generated"] == 6
    assert result.stage_counts["extracted"] == 5
    assert result.stage_counts["parsed"] == 5
    assert result.stage_counts["safe"] == 5
    assert result.stage_counts["elaborated"] == 4  # Lean rejects the duplicate `def c`
    assert result.stage_counts["ranked"] == 4  # hard filter: the rejected one is dropped
    best = result.best
    assert best is not None and best.rank == 1
    assert re.search(r"[nm] \+ 0 = [nm]", best.statement)
    assert best.statement.endswith(":= sorry")  # proofs replaced by sorry
    assert best.lean is not None and best.lean.ok
    assert best.cluster_size == 3  # three samples share the canonical form `∀ x₀ : ℕ, x₀ + 0 = x₀`
    assert set(best.scores) == {"consistency", "self_consistency", "back_translation", "elaboration"}
    assert all(0.0 <= v <= 1.0 for v in best.scores.values())
    assert best.back_translation == BACK_TRANSLATIONS["n + 0 = n"]
    worst = result.candidates[-1]
    assert "n + 1 = n" in worst.statement
    assert worst.score < best.score
    assert worst.scores["self_consistency"] < best.scores["self_consistency"]
    assert worst.scores["back_translation"] < best.scores["back_translation"]
    assert [c.rank for c in result.candidates] == [1, 2, 3, 4]
    assert sorted((c.score for c in result.candidates), reverse=True) == [c.score for c in result.candidates]
    assert set(result.timings) >= {"retrieved", "generated", "elaborated", "backtranslated", "ranked", "total"}
    # One back-translation per canonical cluster (2 clusters), not per candidate (4).
    backtranslations = [r for r in server.chat_requests if "<lean_statement>" in r["messages"][-1]["content"]]
    assert len(backtranslations) == 2
    assert len(lean_requests(standin)) == 5  # every parsed, safe candidate went to Lean


def test_second_run_is_served_from_the_cache(server, standin, tmp_path, embedder) -> None:
    config = make_config(server, standin, tmp_path)
    with Formalizer(config, embedder=embedder) as formalizer:
        first = formalizer.formalize(INFORMAL)
    llm_calls, lean_calls = len(server.chat_requests), len(lean_requests(standin))
    assert llm_calls == 3 and lean_calls == 5
    # A new Formalizer (as a re-run would be) on the same cache file: no LLM request, no Lean check.
    with Formalizer(config, embedder=embedder) as formalizer:
        second = formalizer.formalize(INFORMAL)
    assert len(server.chat_requests) == llm_calls
    assert len(lean_requests(standin)) == lean_calls
    assert [c.statement for c in second.candidates] == [c.statement for c in first.candidates]
    assert [c.score for c in second.candidates] == pytest.approx([c.score for c in first.candidates])
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        counts = dict(db.execute("SELECT namespace, COUNT(*) FROM entries GROUP BY namespace").fetchall())
    assert counts == {"llm": 3, "lean": 5}


def test_no_lean_is_labelled_and_keeps_every_parsed_candidate(server, tmp_path, embedder) -> None:
    with Formalizer(make_config(server, None, tmp_path), embedder=embedder) as formalizer:
        assert formalizer.checker is None
        result = formalizer.formalize(INFORMAL)
    assert result.lean_checked is False
    assert "elaboration" not in result.candidates[0].scores
    assert all(c.lean is None for c in result.candidates)
    assert result.stage_counts["elaborated"] == 0
    assert result.stage_counts["ranked"] == 5  # nothing filtered: no Lean verdict to filter on


def test_the_parser_is_loaded_alongside_the_first_input_only(
    server, tmp_path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import autoformal.assembly

    loads: list[str] = []
    original = autoformal.assembly.build_parser
    monkeypatch.setattr(autoformal.assembly, "build_parser", lambda: (loads.append("load"), original())[1])
    with Formalizer(make_config(server, None, tmp_path), embedder=embedder) as formalizer:
        first = formalizer.formalize(INFORMAL)
        second = formalizer.variant(samples=2).formalize("n + 0 = n")  # a variant shares the components
        batch = formalizer.formalize_many(["0 + n = n"])
    assert loads == ["load"]
    assert first.stage_counts["parsed"] == 5 and second.candidates and batch[0].candidates


def test_formalize_many_runs_inputs_concurrently_and_keeps_order(standin, tmp_path, embedder) -> None:
    texts = [f"Show that for every natural number n, n + {i} = {i} + n." for i in range(6)]

    def responder(request: dict[str, Any]) -> list[str]:
        prompt = request["messages"][-1]["content"]
        if "<lean_statement>" in prompt:
            return ["For all n, n plus a constant is commutative."]
        i = int(re.findall(r"n \+ (\d+) = ", prompt)[-1])
        return [f"theorem c{j} (n : ℕ) : n + {i} = {i} + n := by sorry" for j in range(request["n"])]

    with OpenAIStubServer(responder, latency_s=0.3) as server:
        config = make_config(server, standin, tmp_path, samples=3, concurrency=6)
        with Formalizer(config, embedder=embedder) as formalizer:
            formalizer.warm_up()
            import time

            start = time.perf_counter()
            results = formalizer.formalize_many(texts)
            elapsed = time.perf_counter() - start
    assert [r.input for r in results] == texts
    for i, result in enumerate(results):
        assert result.best is not None and f"n + {i} = {i} + n" in result.best.statement
        assert result.best.cluster_size == 3
    # Sequentially this would take 6 inputs x 2 LLM round trips x 0.3 s = 3.6 s.
    assert elapsed < 3.0


def test_inputs_are_encoded_in_chunks_growing_from_one() -> None:
    assert growing_chunks(40, largest=16) == [(0, 1), (1, 3), (3, 7), (7, 15), (15, 31), (31, 40)]
    assert growing_chunks(2, largest=16) == [(0, 1), (1, 2)]
    assert growing_chunks(0, largest=16) == []
    chunks = growing_chunks(1000, largest=16)
    assert [i for start, end in chunks for i in range(start, end)] == list(range(1000))
    assert max(end - start for start, end in chunks) == 16


def test_warm_up_connects_to_the_llm_server_before_any_input(server, standin, tmp_path, embedder) -> None:
    with Formalizer(make_config(server, standin, tmp_path), embedder=embedder) as formalizer:
        formalizer.warm_up()
        assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1/models")]
        assert formalizer.formalize(INFORMAL).best is not None


async def test_aformalize_many_yields_as_completed_and_records_failures(standin, tmp_path, embedder) -> None:
    def responder(request: dict[str, Any]) -> list[str]:
        if "FAIL" in request["messages"][-1]["content"]:
            raise RuntimeError("model crashed")
        return ["theorem t (n : ℕ) : n = n := sorry"] * request["n"]

    with OpenAIStubServer(responder) as server:
        config = make_config(server, standin, tmp_path, samples=2, backtranslation=False)
        async with Formalizer(config, embedder=embedder) as formalizer:
            seen = {i: r async for i, r in formalizer.aformalize_many(["n equals n", "FAIL please", "n = n"])}
    assert sorted(seen) == [0, 1, 2]
    assert seen[0].best is not None and seen[2].best is not None
    assert seen[1].candidates == [] and "500" in seen[1].errors[0]


def test_formalize_many_warms_up_and_a_down_server_does_not_stop_cached_inputs(tmp_path, embedder) -> None:
    with OpenAIStubServer(model_responder) as server:
        config = make_config(server, None, tmp_path, samples=2, backtranslation=False)
        with Formalizer(config, embedder=embedder) as formalizer:
            first = formalizer.formalize_many([INFORMAL])
        assert (server.requests[0].method, server.requests[0].path) == ("GET", "/v1/models")  # warm-up first
    # The server is gone; the model is configured, so the cache answers without it.
    with Formalizer(config, embedder=embedder) as formalizer:
        again = formalizer.formalize_many([INFORMAL])
    assert not again[0].errors and [c.statement for c in again[0].candidates] == [
        c.statement for c in first[0].candidates
    ]


class _ExplodingScorer:
    """A scorer with a bug that only shows on some inputs."""

    name = "exploding"

    async def score(self, informal: str, candidates: Any) -> list[Any]:
        if "explode" in informal:
            raise ValueError("bug in a scorer")
        from autoformal.scoring import Score

        return [Score(value=1.0, explanation="fine") for _ in candidates]


class _BrokenEmbedder(Embedder):
    def __init__(self) -> None:  # no model: every encode fails
        pass

    def encode(self, texts: Any, *, progress: bool = False) -> Any:
        raise RuntimeError("embedding backend crashed")


async def test_an_unexpected_error_costs_one_input_not_the_batch(server, tmp_path, embedder) -> None:
    config = make_config(server, None, tmp_path, samples=2, backtranslation=False, cache=False)
    async with Formalizer(config, embedder=embedder, scorers=[_ExplodingScorer()]) as formalizer:
        seen = dict(
            await asyncio.wait_for(
                _collect(formalizer.aformalize_many(["n + 0 = n", "please explode", "n = n"])), timeout=60
            )
        )
    assert sorted(seen) == [0, 1, 2]
    assert seen[0].best is not None and seen[2].best is not None
    assert seen[1].candidates == [] and "internal error" in seen[1].errors[0] and "ValueError" in seen[1].errors[0]


async def test_a_failing_embedder_fails_inputs_without_hanging_the_batch(server, tmp_path) -> None:
    # No few-shot examples (their setup would encode, and fail fast); back-translation needs the embedder.
    config = make_config(server, None, tmp_path, samples=2, cache=False, examples=0)
    async with Formalizer(config, embedder=_BrokenEmbedder()) as formalizer:
        seen = dict(await asyncio.wait_for(_collect(formalizer.aformalize_many(["n + 0 = n", "n = n"])), timeout=60))
    assert sorted(seen) == [0, 1]
    assert all(r.errors and "embedding backend crashed" in r.errors[0] for r in seen.values())


async def _collect(items: Any) -> list[Any]:
    return [item async for item in items]


def test_context_is_shown_to_the_model_and_checked_before_the_candidate(server, standin, tmp_path, embedder) -> None:
    context = "opaque double : ℕ → ℕ"
    with Formalizer(make_config(server, standin, tmp_path), embedder=embedder) as formalizer:
        result = formalizer.formalize(INFORMAL, context=context)
    assert context in server.chat_requests[0]["messages"][-1]["content"]
    sent = [r["cmd"] for r in lean_requests(standin)]
    assert sent and all(cmd.startswith(context + "\n\n") for cmd in sent)
    # The trusted context passes the gate; the candidates are still judged by check_safe.
    assert result.stage_counts["elaborated"] == 4
    assert result.best is not None and not result.best.statement.startswith("opaque")


def test_model_output_cannot_smuggle_commands_past_the_gate(standin, tmp_path, embedder) -> None:
    evil = "```lean\n#eval IO.println \"hi\"\ntheorem t (n : ℕ) : n = n := sorry\n```"
    with OpenAIStubServer(lambda r: [evil] * r["n"]) as server:
        config = make_config(server, standin, tmp_path, samples=2, backtranslation=False)
        with Formalizer(config, embedder=embedder) as formalizer:
            result = formalizer.formalize("n equals n", context="opaque f : ℕ → ℕ")
    assert all("#eval" not in r["cmd"] for r in lean_requests(standin))
    assert all("#eval" not in c.statement for c in result.candidates)


def test_config_from_environment_and_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "autoformal.toml"
    toml.write_text(
        'samples = 5\nlean = false\n[backend]\nkind = "openai"\nbase_url = "http://h:1/v1"\n'
        '[ranker]\nelaboration = "score"\n[ranker.weights]\nconsistency = 2.0\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("AUTOFORMAL_CONFIG", str(toml))
    config = FormalizerConfig()
    assert config.samples == 5 and config.lean is False
    assert config.backend.kind == "openai" and config.backend.base_url == "http://h:1/v1"
    assert config.ranker.elaboration == "score" and config.ranker.weights == {"consistency": 2.0}
    monkeypatch.setenv("AUTOFORMAL_SAMPLES", "3")  # environment beats the file
    monkeypatch.setenv("AUTOFORMAL_RANKER__ELABORATION", "filter")
    config = FormalizerConfig()
    assert config.samples == 3 and config.ranker.elaboration == "filter"
    assert FormalizerConfig(samples=9).samples == 9  # arguments beat both


def test_cache_is_shared_safely_by_threads(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c.sqlite")
    other = Cache(tmp_path / "c.sqlite")  # a second connection, as a second process would open

    def write(c: Cache, start: int) -> None:
        for i in range(start, start + 200):
            c.put_many("llm", {f"k{i}": f"v{i}"})

    threads = [threading.Thread(target=write, args=(c, s)) for c, s in ((cache, 0), (other, 200), (cache, 400))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.count("llm") == 600
    assert other.get_many("llm", ["k0", "k599", "missing"]) == {"k0": "v0", "k599": "v599"}
    cache.close()
    other.close()


def test_cached_backend_forwards_only_misses(server, tmp_path) -> None:
    backend = OpenAICompatibleBackend(OpenAIBackendConfig(base_url=server.base_url, model=server.model))
    cached = CachedBackend(backend, Cache(tmp_path / "c.sqlite"))

    def request(text: str, seed: int | None = None) -> GenerationRequest:
        return GenerationRequest(messages=[ChatMessage(role="user", content=text)], n=2, seed=seed)

    first = cached.generate([request("a"), request("b")])
    assert len(server.chat_requests) == 2
    again = cached.generate([request("b"), request("c"), request("a", seed=1)])
    assert len(server.chat_requests) == 4  # `c` and the re-seeded `a` are new; `b` came from the cache
    assert again[0] == first[1]
    cached.close()
