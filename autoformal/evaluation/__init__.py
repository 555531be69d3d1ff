"""Measuring the pipeline against labels and benchmarks: labelled pairs (`labelled`), the scorer harness that
scores them and reports held-out metrics (`harness`), weight fitting through the `Ranker` (`fitting`), and
benchmark metrics for whole-pipeline runs (`benchmark`). Nothing below this package imports it."""

from autoformal.evaluation.benchmark import BenchmarkProblem, benchmark_metrics, load_benchmark, proven_agreement
from autoformal.evaluation.fitting import COMBINABLE, fit_weights, ranked_scores
from autoformal.evaluation.harness import EvaluationReport, ScorerReport, evaluate, score_pairs
from autoformal.evaluation.labelled import LEAKING_FIELDS, LabelledPair, Split, load_labelled, split_of

__all__ = [
    "COMBINABLE",
    "LEAKING_FIELDS",
    "BenchmarkProblem",
    "EvaluationReport",
    "LabelledPair",
    "ScorerReport",
    "Split",
    "benchmark_metrics",
    "evaluate",
    "fit_weights",
    "load_benchmark",
    "load_labelled",
    "proven_agreement",
    "ranked_scores",
    "score_pairs",
    "split_of",
]
