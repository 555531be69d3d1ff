"""Fitting the ranker's weights: a grid search for the weights under which the `Ranker` — the very function
that ranks, elaboration filter included — best separates faithful from unfaithful candidates (AUROC)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np

from autoformal.ranking import Ranker, RankerConfig
from autoformal.scoring.metrics import auroc

#: Scorers whose combination is the reference-free "combined" score.
COMBINABLE = ("consistency", "self_consistency", "back_translation", "elaboration")
_WEIGHT_GRID = (0.0, 0.5, 1.0, 2.0)


def ranked_scores(ranker: Ranker, scores: Mapping[str, np.ndarray]) -> np.ndarray:
    """What `ranker` makes of each row's scores: its combined score, and 0 for a row its elaboration filter
    drops (Lean rejected it, `elaboration` = 0: it is never ranked, so it sits below every ranked one)."""
    names = list(scores)
    rows = len(next(iter(scores.values()))) if scores else 0
    out = np.zeros(rows)
    for i in range(rows):
        row = {name: float(scores[name][i]) for name in names}
        elaboration = row.get("elaboration")
        elaborated = None if elaboration is None or elaboration == 0.5 else elaboration >= 1.0
        out[i] = ranker.combine(row) if ranker.keep(elaborated) else 0.0
    return out


def fit_weights(
    scores: Mapping[str, np.ndarray], labels: np.ndarray, *, config: RankerConfig | None = None
) -> dict[str, float]:
    """Grid search of non-negative weights (over the reference-free combinable scorers present that the ranker
    weighs under `config`, default `RankerConfig()`) maximising the AUROC of `ranked_scores`; ties prefer the
    sparser, then the more uniform weighting."""
    config = config or RankerConfig()
    weighed = Ranker(config.model_copy(update={"weights": dict.fromkeys(COMBINABLE, 1.0)}))
    names = [n for n in COMBINABLE if n in scores and weighed.weighs(n)]
    used = {n: scores[n] for n in names}
    if "elaboration" in scores:  # the filter reads it even when it carries no weight
        used["elaboration"] = scores["elaboration"]
    best: tuple[float, int, float] | None = None
    best_weights: dict[str, float] = {}
    for combo in itertools.product(_WEIGHT_GRID, repeat=len(names)):
        if sum(combo) == 0:
            continue
        weights = dict(zip(names, combo, strict=True))
        ranker = Ranker(config.model_copy(update={"weights": weights}))
        value = auroc(ranked_scores(ranker, used), labels)  # type: ignore[arg-type]
        key = (round(value, 6), -sum(1 for w in combo if w), -float(np.std(combo)))
        if best is None or key > best:
            best, best_weights = key, weights
    return best_weights
