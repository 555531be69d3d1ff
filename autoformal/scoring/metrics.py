"""Binary-classification metrics for scorer evaluation (numpy only): AUROC, threshold metrics, calibration."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict


class BinaryMetrics(BaseModel):
    """Metrics of `score >= threshold` as the prediction "faithful"."""

    model_config = ConfigDict(frozen=True)

    n: int
    positives: int
    threshold: float
    accuracy: float
    precision: float
    recall: float
    f1: float
    auroc: float
    majority_accuracy: float


def auroc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged); 0.5 when one class is empty."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return 0.5
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=float)
    sorted_scores = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def binary_metrics(scores: npt.ArrayLike, labels: npt.ArrayLike, threshold: float) -> BinaryMetrics:
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    predicted = s >= threshold
    tp = int((predicted & y).sum())
    fp = int((predicted & ~y).sum())
    fn = int((~predicted & y).sum())
    n = len(y)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    positives = int(y.sum())
    return BinaryMetrics(
        n=n,
        positives=positives,
        threshold=threshold,
        accuracy=float((predicted == y).mean()) if n else 0.0,
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        auroc=auroc(s, y),
        majority_accuracy=max(positives, n - positives) / n if n else 0.0,
    )


def best_threshold(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """The threshold maximising accuracy on (scores, labels); fit it on data you do not report on."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    candidates = np.unique(np.concatenate([s, [np.inf]]))
    accuracies = [float(((s >= t) == y).mean()) for t in candidates]
    return float(candidates[int(np.argmax(accuracies))])


def reliability(scores: npt.ArrayLike, labels: npt.ArrayLike, bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean score, fraction faithful, count) per equal-width score bin with data."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(s, edges[1:-1]), 0, bins - 1)
    return [
        (float(s[index == b].mean()), float(y[index == b].mean()), int((index == b).sum()))
        for b in range(bins)
        if (index == b).any()
    ]
