"""Scorer quality on the human-labelled faithfulness files in ../shared/data/labeled.

For each file: every deterministic scorer, self-consistency among the candidates of the same problem, the
reference-based scorer (uses the gold; reported separately) and the combined reference-free score, all on
the held-out half of the problems (thresholds and weights fitted on the other half). Also the combined
score under the ranker's default weights and under equal weights, to justify the defaults.

    python benchmarks/scorer_quality.py

The last stdout line is one JSON object with the headline figures. Skips (exit 0, `{"skipped": ...}`)
when the shared data is absent.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _shared import shared_data_dir  # noqa: E402  (the script's own directory, after the path set-up)

FILES = ("rethinking_human_equivalence.jsonl", "proofnet_verified_audit.jsonl")


def main() -> None:
    from autoformal.evaluation import evaluate, fit_weights, load_labelled, ranked_scores, score_pairs
    from autoformal.ranking import DEFAULT_WEIGHTS, Ranker, RankerConfig
    from autoformal.scoring.metrics import auroc

    shared = shared_data_dir() / "labeled"
    if not shared.is_dir():
        print(json.dumps({"skipped": f"no labelled data at {shared}"}))
        return
    headline: dict[str, object] = {}
    loaded = {}
    for name in FILES:
        pairs, dropped = load_labelled(shared / name)
        loaded[name] = (pairs, dropped, asyncio.run(score_pairs(pairs)))
    # The ranker's defaults: weights fitted on the fit halves of both files pooled (never on held-out rows).
    pooled_scores: dict[str, list[float]] = {}
    pooled_labels: list[bool] = []
    for pairs, _, scores in loaded.values():
        fit = [i for i, p in enumerate(pairs) if p.split == "fit"]
        for key in ("consistency", "self_consistency"):
            pooled_scores.setdefault(key, []).extend(scores[key][i] for i in fit)
        pooled_labels.extend(pairs[i].label for i in fit)
    pooled = fit_weights({k: np.asarray(v) for k, v in pooled_scores.items()}, np.asarray(pooled_labels))
    print(f"weights fitted on the pooled fit halves: {pooled} (ranker defaults: {DEFAULT_WEIGHTS})")
    headline["pooled_fit_weights"] = pooled
    for name, (pairs, dropped, scores) in loaded.items():
        report = evaluate(name, pairs, scores, dropped)
        print(f"\n{name}: {report.rows} pairs ({dropped} reference rows dropped), held-out {report.held_out_rows}")
        print(f"  fitted combined weights (fit half): {report.weights}")
        print(f"  {'scorer':<22}{'AUROC':>7}{'acc':>7}{'major':>7}{'prec':>7}{'rec':>7}{'F1':>7}")
        for s in report.scorers:
            m = s.held_out
            tag = " (gold)" if s.uses_reference else ""
            print(
                f"  {s.scorer + tag:<22}{m.auroc:7.3f}{m.accuracy:7.3f}{m.majority_accuracy:7.3f}"
                f"{m.precision:7.3f}{m.recall:7.3f}{m.f1:7.3f}"
            )
        held = np.array([p.split == "held-out" for p in pairs])
        labels = np.array([p.label for p in pairs])[held]
        arrays = {k: np.asarray(v)[held] for k, v in scores.items()}
        present = {k: w for k, w in DEFAULT_WEIGHTS.items() if k in arrays}
        default_auroc = auroc(ranked_scores(Ranker(RankerConfig(weights=present)), arrays), labels)
        equal_auroc = auroc(ranked_scores(Ranker(RankerConfig(weights=dict.fromkeys(present, 1.0))), arrays), labels)
        print(f"  combined with the ranker defaults {present}: AUROC {default_auroc:.3f}")
        print(f"  combined with equal weights: AUROC {equal_auroc:.3f}")
        by_name = {s.scorer: s.held_out for s in report.scorers}
        figures = {
            key: {
                "auroc": round(by_name[key].auroc, 3),
                "accuracy": round(by_name[key].accuracy, 3),
                "precision": round(by_name[key].precision, 3),
            }
            for key in ("consistency", "self_consistency", "combined", "reference", "combined+reference")
        }
        headline[name.split("_")[0]] = {
            "held_out_rows": report.held_out_rows,
            "majority_accuracy": round(by_name["combined"].majority_accuracy, 3),
            **figures,
            "combined_default_weights_auroc": round(default_auroc, 3),
            "combined_equal_weights_auroc": round(equal_auroc, 3),
        }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
