"""The scorer harness: every available scorer on labelled pairs, thresholds and ranker weights fitted on the
fit half (`fitting`), every metric reported on the held-out half."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from autoformal.checking.protocol import LeanChecker
from autoformal.evaluation.fitting import fit_weights, ranked_scores
from autoformal.evaluation.labelled import LabelledPair, checkable_header
from autoformal.ranking import Ranker, RankerConfig
from autoformal.scoring.backtranslation import BackTranslationScorer
from autoformal.scoring.base import Score, Scorer, ScoringCandidate
from autoformal.scoring.consistency import ConsistencyScorer
from autoformal.scoring.elaboration import ElaborationScorer
from autoformal.scoring.metrics import BinaryMetrics, auroc, best_threshold, binary_metrics
from autoformal.scoring.reference import reference_score
from autoformal.scoring.self_consistency import SelfConsistencyScorer


async def score_pairs(
    pairs: Sequence[LabelledPair],
    *,
    backtranslation: BackTranslationScorer | None = None,
    checker: LeanChecker | None = None,
) -> dict[str, list[float]]:
    """Every available scorer's score per pair: the deterministic checks (each, and `consistency`),
    `self_consistency` among the candidates of the same problem, `reference` (uses the gold),
    `back_translation` when a scorer is given, `elaboration` when a checker is given."""
    candidates = [ScoringCandidate.from_statement(p.candidate) for p in pairs]
    scores: dict[str, list[float]] = defaultdict(list)
    consistency = ConsistencyScorer()
    for pair, candidate in zip(pairs, candidates, strict=True):
        parts = consistency.score_with_parts(pair.informal, candidate)
        for name, score in parts.items():
            scores[name].append(score.value)
    scores["consistency"] = [s.value for s in await _by_input(consistency, pairs, candidates)]
    if checker is not None:
        candidates = await _check(checker, pairs, candidates)
        scores["elaboration"] = [s.value for s in await _by_input(ElaborationScorer(), pairs, candidates)]
    scores["self_consistency"] = [s.value for s in await _by_problem(SelfConsistencyScorer(), pairs, candidates)]
    if backtranslation is not None:
        scores["back_translation"] = [s.value for s in await _by_input(backtranslation, pairs, candidates)]
    if any(p.gold for p in pairs):
        scores["reference"] = [reference_score(p.candidate, p.gold).value if p.gold else 0.5 for p in pairs]
    return dict(scores)


async def _check(
    checker: LeanChecker, pairs: Sequence[LabelledPair], candidates: list[ScoringCandidate]
) -> list[ScoringCandidate]:
    by_header: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        by_header[checkable_header(pair.header)].append(i)
    out = list(candidates)
    for header, indices in by_header.items():
        results = await checker.check([pairs[i].candidate for i in indices], header)
        for i, result in zip(indices, results, strict=True):
            out[i] = out[i].model_copy(update={"lean": result})
    return out


async def _by_input(scorer: Scorer, pairs: Sequence[LabelledPair], candidates: list[ScoringCandidate]) -> list[Score]:
    results = await asyncio.gather(*(scorer.score(p.informal, [c]) for p, c in zip(pairs, candidates, strict=True)))
    return [r[0] for r in results]


async def _by_problem(
    scorer: Scorer, pairs: Sequence[LabelledPair], candidates: list[ScoringCandidate]
) -> list[Score]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        groups[pair.problem].append(i)
    out: list[Score | None] = [None] * len(pairs)
    for indices in groups.values():
        scored = await scorer.score(pairs[indices[0]].informal, [candidates[i] for i in indices])
        for i, score in zip(indices, scored, strict=True):
            out[i] = score
    return [s for s in out if s is not None]


class ScorerReport(BaseModel):
    """Held-out metrics of one scorer; the threshold was fitted on the fit half."""

    model_config = ConfigDict(frozen=True)

    scorer: str
    uses_reference: bool
    held_out: BinaryMetrics
    fit_auroc: float


class EvaluationReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    rows: int
    dropped_reference_rows: int
    fit_rows: int
    held_out_rows: int
    weights: dict[str, float] = Field(description="Ranker weights fitted on the fit half.")
    scorers: list[ScorerReport]
    held_out_scores: dict[str, list[float]] = Field(default_factory=dict, exclude=True)
    held_out_labels: list[bool] = Field(default_factory=list, exclude=True)


def evaluate(
    file: str,
    pairs: Sequence[LabelledPair],
    scores: dict[str, list[float]],
    dropped: int,
    *,
    ranker: RankerConfig | None = None,
) -> EvaluationReport:
    """Fit thresholds and the ranker's weights on the fit half, report every scorer, and the ranker's
    `combined` score, on the held-out half."""
    config = ranker or RankerConfig()
    labels = np.array([p.label for p in pairs], dtype=bool)
    fit = np.array([p.split == "fit" for p in pairs])
    held = ~fit
    arrays = {name: np.asarray(values, dtype=float) for name, values in scores.items()}
    weights = fit_weights({n: a[fit] for n, a in arrays.items()}, labels[fit], config=config)
    arrays["combined"] = ranked_scores(Ranker(config.model_copy(update={"weights": weights})), arrays)
    if "reference" in arrays:
        arrays["combined+reference"] = (arrays["combined"] + arrays["reference"]) / 2
    reports = []
    for name, values in arrays.items():
        threshold = best_threshold(values[fit], labels[fit])
        reports.append(
            ScorerReport(
                scorer=name,
                uses_reference=name in ("reference", "combined+reference"),
                held_out=binary_metrics(values[held], labels[held], threshold),
                fit_auroc=auroc(values[fit], labels[fit]),  # type: ignore[arg-type]
            )
        )
    return EvaluationReport(
        file=file,
        rows=len(pairs),
        dropped_reference_rows=dropped,
        fit_rows=int(fit.sum()),
        held_out_rows=int(held.sum()),
        weights=weights,
        scorers=reports,
        held_out_scores={n: a[held].tolist() for n, a in arrays.items()},
        held_out_labels=labels[held].tolist(),
    )
