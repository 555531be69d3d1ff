"""The semantic stages in the pipeline (stub LLM server + stand-in REPL): a vacuous or refuted candidate ranks
below a clean one even when more samples produced it, flags reach the result with their tactic, and proven-
equivalent spellings count as one cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoformal.checking import ReplCheckerConfig
from autoformal.checking.semantic import SemanticConfig
from autoformal.config import FormalizerConfig
from autoformal.llm import OpenAIBackendConfig
from autoformal.pipeline import STAGE_NAMES, Formalizer
from autoformal.testing.openai_server import OpenAIStubServer
from autoformal.testing.standin_repl import install_standin

INFORMAL = "Let f be a function on the naturals with f 0 = 0. Show that f 1 = f 1."
VACUOUS = "```lean\ntheorem v (f : Nat → Nat) (h : 2 + 2 = 5) : f 1 = f 1 := sorry\n```"
CLEAN = "```lean\ntheorem c (f : Nat → Nat) (h₀ : f 0 = 0) (h : f 0 = f 1) : f 1 = f 0 := sorry\n```"
REORDERED = "```lean\ntheorem r (f : Nat → Nat) (h : f 0 = f 1) (h₀ : f 0 = 0) : f 1 = f 0 := sorry\n```"
REFUTED = "```lean\ntheorem w : 2 + 2 = 5 := sorry\n```"
# The vacuous statement is sampled most often: without the probes it would lead on self-consistency.
SAMPLES = [VACUOUS, VACUOUS, VACUOUS, CLEAN, REORDERED, REFUTED]


def responder(request: dict[str, Any]) -> list[str]:
    return [SAMPLES[i % len(SAMPLES)] for i in range(int(request.get("n") or 1))]


def test_probes_and_equivalence_clusters_in_the_pipeline(tmp_path: Path) -> None:
    install = install_standin(tmp_path / "proj")
    with OpenAIStubServer(responder) as server:
        config = FormalizerConfig(
            backend=OpenAIBackendConfig(base_url=server.base_url, model=server.model),
            checker=ReplCheckerConfig(
                project_dir=install.directory, repl_dir=install.directory, lake_path=install.lake, num_workers=2
            ),
            cache_path=tmp_path / "cache.sqlite",
            samples=6,
            retrieval="off",
            examples=0,
            backtranslation=False,
            header="",
            semantic=SemanticConfig(probes=True, equivalence=True),
        )
        with Formalizer(config) as formalizer:
            result = formalizer.formalize(INFORMAL)
    assert "probed" in STAGE_NAMES and "clustered" in STAGE_NAMES
    assert {"probed", "clustered"} <= set(result.timings)
    by_text = {c.statement.split("(")[0].split(":")[0].strip(): c for c in result.candidates}
    clean, reordered, vacuous, refuted = (by_text[f"theorem {n}"] for n in "crvw")
    assert vacuous.probes is not None and vacuous.probes.flags["vacuous"] == "intros; contradiction"
    assert refuted.probes is not None and refuted.probes.flags == {"refuted": "decide"}
    assert clean.probes is not None and clean.probes.flags == {}
    assert vacuous.scores["probes"] == 0.0 and clean.scores["probes"] == 1.0
    assert vacuous.cluster_size == 3
    assert clean.cluster_size == reordered.cluster_size == 2  # proven equivalent: one cluster
    assert max(clean.rank, reordered.rank) < vacuous.rank and max(clean.rank, reordered.rank) < refuted.rank
