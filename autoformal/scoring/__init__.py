"""Scorers: each judges how faithful a candidate is to the informal input, as a score in [0, 1] with an
explanation. One protocol (`Scorer`); deterministic checks need no model, back-translation needs an LLM and
an embedder, elaboration needs Lean, names need a Mathlib names table, self-consistency needs several samples."""

from autoformal.errors import ScoringError
from autoformal.scoring.backtranslation import BackTranslationScorer
from autoformal.scoring.base import PerCandidateScorer, Score, Scorer, ScoringCandidate
from autoformal.scoring.consistency import (
    DEFAULT_CHECKS,
    AnswerCheck,
    Check,
    CheckScorer,
    ConsistencyScorer,
    DomainsCheck,
    NumbersCheck,
    PitfallsCheck,
    QuantifiersCheck,
    RelationsCheck,
)
from autoformal.scoring.elaboration import ElaborationScorer
from autoformal.scoring.names import NameScorer
from autoformal.scoring.self_consistency import SelfConsistencyScorer, cluster_sizes

__all__ = [
    "DEFAULT_CHECKS",
    "AnswerCheck",
    "BackTranslationScorer",
    "Check",
    "CheckScorer",
    "ConsistencyScorer",
    "DomainsCheck",
    "ElaborationScorer",
    "NameScorer",
    "NumbersCheck",
    "PerCandidateScorer",
    "PitfallsCheck",
    "QuantifiersCheck",
    "RelationsCheck",
    "Score",
    "Scorer",
    "ScoringCandidate",
    "ScoringError",
    "SelfConsistencyScorer",
    "cluster_sizes",
]
