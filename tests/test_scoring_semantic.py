"""Probe verdicts as a score and proven-equivalence clusters in self-consistency (stand-in REPL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from autoformal.checking import ReplChecker, ReplCheckerConfig
from autoformal.checking.models import CheckResult, CheckStatus
from autoformal.checking.portfolio import TRIVIAL_SCRIPTS
from autoformal.checking.probes import ProbeFlag, ProbeReport
from autoformal.checking.semantic import SemanticChecker
from autoformal.ranking.ranker import Ranker
from autoformal.scoring import SelfConsistencyScorer, cluster_sizes
from autoformal.scoring.base import ScoringCandidate
from autoformal.scoring.semantic import ProbeScorer, attach_probes, merge_equivalent
from autoformal.testing.standin_repl import install_standin, read_log

OK = CheckResult(statement="", status=CheckStatus.OK, ok=True)
BASE = "theorem base (n m : Nat) (h₁ : n < m) (h₂ : m < 10) : n < 10 := sorry"
REORDERED = "theorem swapped (n m : Nat) (h₂ : m < 10) (h₁ : n < m) : n < 10 := sorry"
OTHER = "theorem other (f : Nat → Nat) : f 0 = f 1 := sorry"


def _candidate(text: str, multiplicity: int = 1, **fields: object) -> ScoringCandidate:
    return ScoringCandidate.from_statement(text, lean=OK, multiplicity=multiplicity, **fields)


def _semantic(tmp_path: Path) -> tuple[ReplChecker, Path]:
    install = install_standin(tmp_path / "proj", log_path=tmp_path / "log.jsonl")
    config = ReplCheckerConfig(
        project_dir=install.directory, repl_dir=install.directory, lake_path=install.lake, num_workers=2
    )
    return ReplChecker(config), tmp_path / "log.jsonl"


def test_flagged_candidate_ranks_below_an_unflagged_one_whatever_else() -> None:
    """Vacuous/refuted loses to clean or trivial under the default weights, even with every other score
    against the clean one."""
    tactic = TRIVIAL_SCRIPTS[0].text
    vacuous = ProbeReport(vacuous=ProbeFlag(found=True, tactic="intros; contradiction"))
    trivial = ProbeReport(trivial=ProbeFlag(found=True, tactic=tactic))
    scorer = ProbeScorer()
    flagged, easy, clean, unprobed = (
        scorer._one(vacuous),
        scorer._one(trivial),
        scorer._one(ProbeReport()),
        scorer._one(None),
    )
    assert (flagged.value, easy.value, clean.value, unprobed.value) == (0.0, 0.9, 1.0, 0.5)
    assert "vacuous" in flagged.explanation and "intros; contradiction" in flagged.explanation
    ranker = Ranker()
    best_otherwise = {"consistency": 1.0, "self_consistency": 1.0, "back_translation": 1.0}
    worst_otherwise = {"consistency": 0.0, "self_consistency": 0.0, "back_translation": 0.0}
    for good in (easy, clean):
        assert ranker.combine({**best_otherwise, "probes": flagged.value}) < ranker.combine(
            {**worst_otherwise, "probes": good.value}
        )


def test_probes_attached_once_per_canonical_form(tmp_path: Path) -> None:
    checker, log = _semantic(tmp_path)
    candidates = [
        _candidate("theorem f : 2 + 2 = 5 := sorry"),
        _candidate("theorem g : 2 + 2 = 5 := sorry"),  # same canonical form: probed once
        _candidate("theorem v (n : Nat) (h : 2 + 2 = 5) : n = 7 := sorry"),
        ScoringCandidate.from_statement(BASE, lean=CheckResult(statement="", status=CheckStatus.ERROR, ok=False)),
    ]
    with checker:
        semantic = SemanticChecker(checker)
        probed = asyncio.run(attach_probes(semantic, candidates, ""))
    assert probed[0].probes is not None and probed[0].probes.flags == {"refuted": "decide"}
    assert probed[1].probes == probed[0].probes
    assert probed[2].probes is not None and "vacuous" in probed[2].probes.flags
    assert probed[3].probes is None  # Lean rejected it: not probed
    scores = asyncio.run(ProbeScorer().score("", probed))
    assert [s.value for s in scores] == [0.0, 0.0, 0.0, 0.5]
    sent = [e["request"]["cmd"] for e in read_log(log) if "request" in e]
    assert sum("theorem goal : ¬2 + 2 = 5 := by\n  decide" in cmd for cmd in sent) == 1


def test_proven_equivalent_clusters_merge_for_self_consistency(tmp_path: Path) -> None:
    checker, _ = _semantic(tmp_path)
    candidates = [_candidate(BASE, 2), _candidate(REORDERED), _candidate(OTHER, 2)]
    before = cluster_sizes(candidates)
    with checker:
        merged = asyncio.run(merge_equivalent(SemanticChecker(checker), candidates, "", max_pairs=6))
    assert before == [2, 1, 2]
    assert merged[0].equivalence_class == merged[1].equivalence_class == candidates[0].canonical_form
    assert merged[2].equivalence_class == candidates[2].canonical_form
    assert cluster_sizes(merged) == [3, 3, 2]
    scores = asyncio.run(SelfConsistencyScorer().score("", merged))
    plain = asyncio.run(SelfConsistencyScorer().score("", candidates))
    # the reordered one now counts the BASE pair as agreeing samples (before: only as similar ones)
    assert scores[1].explanation.startswith("2 of the 4 other") and plain[1].explanation.startswith("0 of the 4")
    assert scores[1].value >= plain[1].value


def test_pairs_per_input_are_capped(tmp_path: Path) -> None:
    checker, log = _semantic(tmp_path)
    texts = [f"theorem t{i} (f : Nat → Nat) : f {i} = f {i + 1} := sorry" for i in range(5)]
    with checker:
        merged = asyncio.run(
            merge_equivalent(SemanticChecker(checker), [_candidate(t) for t in texts], "", max_pairs=2)
        )
    assert len({c.equivalence_class for c in merged}) == 5
    sent = [e["request"]["cmd"] for e in read_log(log) if "request" in e]
    contexts = [c for c in sent if c.startswith("namespace autoformal_hyp")]
    assert len(contexts) == 4  # 2 pairs × 2 directions


def test_proven_agreement_counts_equivalent_spellings_canonical_agreement_misses(tmp_path: Path) -> None:
    from autoformal.evaluation import BenchmarkProblem, benchmark_metrics, proven_agreement
    from autoformal.results import FormalizationResult, RankedCandidate

    def result(*statements: str) -> FormalizationResult:
        ranked = [
            RankedCandidate(
                rank=i, statement=s, canonical_form=ScoringCandidate.from_statement(s).canonical_form, score=0.5
            )
            for i, s in enumerate(statements, start=1)
        ]
        return FormalizationResult(input="x", candidates=ranked, lean_checked=True)

    problems = [
        BenchmarkProblem(id="reordered", informal="x", formal=BASE, header=""),
        BenchmarkProblem(id="second", informal="x", formal=OTHER, header=""),
        BenchmarkProblem(id="missed", informal="x", formal=OTHER, header=""),
    ]
    results = [result(REORDERED), result(BASE, OTHER), result("theorem z (l : List Nat) : l.length = 3 := sorry")]
    checker, _ = _semantic(tmp_path)
    with checker:
        proven = asyncio.run(proven_agreement(SemanticChecker(checker), problems, results, samples=2))
    canonical = benchmark_metrics(problems, results, samples=2)
    assert canonical["gold_agreement@1"] == 0.0 and canonical["gold_agreement@2"] == 1 / 3
    assert proven == {"proven_agreement@1": 1 / 3, "proven_agreement@2": 2 / 3, "proven_errors": 0}
