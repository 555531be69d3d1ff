"""Measuring scorers against human faithfulness labels (files shaped like `../shared/data/labeled/`).

Rules that keep the numbers honest:
- Fields that leak the label (`error_type`, `comment`, `faithfulness`, ...) are dropped when a row is read;
  scorers only ever see the informal text, the candidate and its header.
- Rows are split by *problem* (a hash of the problem id) into a fit half and a held-out half. Thresholds
  and ranker weights are fitted on the fit half; every reported metric is on the held-out half.
- The reference (gold) formalization is used only by the `reference` scorer, reported separately and
  marked as reference-based; the combined score is reference-free.
- Rows whose candidate *is* the reference (`variant == "proofnet_verified"`) are dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from autoformal.checking.protocol import LeanChecker
from autoformal.corpus.jsonl import describe_json_error
from autoformal.errors import AutoformalError
from autoformal.results import FormalizationResult
from autoformal.scoring.backtranslation import BackTranslationScorer
from autoformal.scoring.base import ScoringCandidate
from autoformal.scoring.consistency import ConsistencyScorer
from autoformal.scoring.elaboration import ElaborationScorer
from autoformal.scoring.metrics import BinaryMetrics, auroc, best_threshold, binary_metrics
from autoformal.scoring.reference import reference_score
from autoformal.scoring.self_consistency import SelfConsistencyScorer

#: Fields that reveal the label; never read.
LEAKING_FIELDS = frozenset(
    {"error_type", "comment", "faithfulness", "provability", "reasoning", "same_as_gold", "truncated_candidate"}
)
#: Scorers whose combination is the reference-free "combined" score.
COMBINABLE = ("consistency", "self_consistency", "back_translation", "elaboration")
_WEIGHT_GRID = (0.0, 0.5, 1.0, 2.0)

Split = Literal["fit", "held-out"]


class EvaluationError(AutoformalError):
    """A labelled file is missing or malformed."""


class LabelledPair(BaseModel):
    """One labelled row, reduced to what a scorer may see (plus the label and the reference)."""

    model_config = ConfigDict(frozen=True)

    id: str
    informal: str
    candidate: str
    label: bool
    header: str | None = None
    problem: str = Field(description="Problem key used for grouping and for the fit/held-out split.")
    gold: str | None = Field(default=None, description="Reference formalization (reference scorer only).")

    @property
    def split(self) -> Split:
        return split_of(self.problem)


def split_of(problem: str) -> Split:
    """Deterministic 50/50 split by problem (so one problem's candidates never straddle the split)."""
    return "held-out" if int(hashlib.sha256(problem.encode()).hexdigest(), 16) % 2 else "fit"


def _problem_key(row: dict[str, object]) -> str:
    # ProofNet ids are spelled `Rudin.exercise_1_17` in one source and `Rudin_exercise_1_17` in another;
    # normalise so one problem lands in one half across files. `problem_index` disambiguates reused ids.
    key = str(row.get("problem_id") or row.get("id")).replace(".", "_")
    return f"{key}#{row['problem_index']}" if row.get("problem_index") is not None else key


def _json_object(file: Path, number: int, line: str) -> dict[str, Any]:
    """One JSONL line as an object, or an `EvaluationError` naming the file and line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"{file}:{number}: not JSON ({describe_json_error(exc)})") from None
    if not isinstance(row, dict):
        raise EvaluationError(f"{file}:{number}: not a JSON object; each line must be one object")
    return row


def load_labelled(path: str | Path) -> tuple[list[LabelledPair], int]:
    """Rows of a labelled JSONL file (label-leaking fields dropped) and how many reference rows were dropped."""
    file = Path(path)
    if not file.is_file():
        raise EvaluationError(f"{file}: no such file; pass a JSONL file with informal, candidate and label fields")
    pairs: list[LabelledPair] = []
    dropped = 0
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = _json_object(file, number, line)
        for name in LEAKING_FIELDS:
            row.pop(name, None)
        if row.get("variant") == "proofnet_verified":
            dropped += 1
            continue
        missing = [f for f in ("informal", "candidate", "label") if f not in row]
        if missing:
            raise EvaluationError(f"{file}:{number}: missing field(s) {', '.join(missing)}")
        pairs.append(
            LabelledPair(
                id=str(row.get("id", number)),
                informal=row["informal"],
                candidate=row["candidate"],
                label=bool(row["label"]),
                header=row.get("header"),
                problem=_problem_key(row),
                gold=row.get("gold"),
            )
        )
    return pairs, dropped


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
        scores["reference"] = [
            reference_score(p.candidate, p.gold).value if p.gold else 0.5 for p in pairs
        ]
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


def checkable_header(header: str | None) -> str:
    """The header's lines the checker accepts (`noncomputable section` and the like are dropped: they do
    not change whether a `sorry`-proved statement elaborates); the default header when none is left."""
    from autoformal.checking.errors import UnsafeHeaderError
    from autoformal.checking.header import DEFAULT_HEADER, validate_header

    kept: list[str] = []
    for line in (header or "").splitlines():
        try:
            kept.append(validate_header("\n".join([*kept, line])).splitlines()[-1] if line.strip() else "")
        except (UnsafeHeaderError, IndexError):
            continue
    text = "\n".join(k for k in kept if k)
    return text or DEFAULT_HEADER


async def _by_input(scorer: object, pairs: Sequence[LabelledPair], candidates: list[ScoringCandidate]) -> list:
    from autoformal.scoring.base import Scorer

    assert isinstance(scorer, Scorer)
    results = await asyncio.gather(*(scorer.score(p.informal, [c]) for p, c in zip(pairs, candidates, strict=True)))
    return [r[0] for r in results]


async def _by_problem(scorer: SelfConsistencyScorer, pairs: Sequence[LabelledPair], candidates: list) -> list:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        groups[pair.problem].append(i)
    out: list = [None] * len(pairs)
    for indices in groups.values():
        scored = await scorer.score(pairs[indices[0]].informal, [candidates[i] for i in indices])
        for i, score in zip(indices, scored, strict=True):
            out[i] = score
    return out


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
    weights: dict[str, float] = Field(description="Combined-score weights fitted on the fit half.")
    scorers: list[ScorerReport]
    held_out_scores: dict[str, list[float]] = Field(default_factory=dict, exclude=True)
    held_out_labels: list[bool] = Field(default_factory=list, exclude=True)


def fit_weights(scores: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, float]:
    """Grid search of non-negative weights (over the reference-free combinable scorers present) that
    maximises AUROC of the weighted mean; ties prefer the sparser, then the more uniform weighting."""
    names = [n for n in COMBINABLE if n in scores]
    best: tuple[float, int, float] | None = None
    best_weights: dict[str, float] = {}
    for combo in itertools.product(_WEIGHT_GRID, repeat=len(names)):
        if sum(combo) == 0:
            continue
        combined = sum(w * scores[n] for w, n in zip(combo, names, strict=True)) / sum(combo)
        value = auroc(combined, labels)  # type: ignore[arg-type]
        key = (round(value, 6), -sum(1 for w in combo if w), -float(np.std(combo)))
        if best is None or key > best:
            best, best_weights = key, dict(zip(names, combo, strict=True))
    return best_weights


def combine(scores: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    total = sum(weights.values())
    return sum(w * scores[n] for n, w in weights.items() if w) / total  # type: ignore[return-value]


def evaluate(
    file: str, pairs: Sequence[LabelledPair], scores: dict[str, list[float]], dropped: int
) -> EvaluationReport:
    """Fit thresholds and combined weights on the fit half, report every scorer on the held-out half."""
    labels = np.array([p.label for p in pairs], dtype=bool)
    fit = np.array([p.split == "fit" for p in pairs])
    held = ~fit
    arrays = {name: np.asarray(values, dtype=float) for name, values in scores.items()}
    weights = fit_weights({n: a[fit] for n, a in arrays.items()}, labels[fit])
    arrays["combined"] = combine(arrays, weights)
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


class BenchmarkProblem(BaseModel):
    """One benchmark row: the informal statement, its gold formal statement and the header."""

    model_config = ConfigDict(frozen=True)

    id: str
    informal: str
    formal: str
    header: str


def load_benchmark(path: str | Path, *, split: str | None = None, limit: int | None = None) -> list[BenchmarkProblem]:
    """Rows of a benchmark JSONL (`informal`, `formal`, `header`), optionally one split, at most `limit`."""
    file = Path(path)
    problems: list[BenchmarkProblem] = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = _json_object(file, number, line)
        if split is not None and row.get("split") != split:
            continue
        if not row.get("informal") or not row.get("formal"):
            raise EvaluationError(f"{file}:{number}: a benchmark row needs `informal` and `formal`")
        problems.append(
            BenchmarkProblem(
                id=str(row.get("id", number)),
                informal=row["informal"],
                formal=row["formal"],
                header=checkable_header(row.get("header")),
            )
        )
        if limit is not None and len(problems) >= limit:
            break
    return problems


def benchmark_metrics(
    problems: Sequence[BenchmarkProblem], results: Sequence[FormalizationResult], *, samples: int
) -> dict[str, object]:
    """Typecheck rate@1/@k, canonical agreement with the gold@1/@k, reference similarity of the top
    candidate, and the distribution of its back-translation similarity."""
    from autoformal.syntax import canonical_form

    n = len(problems)
    lean_checked = all(r.lean_checked for r in results)
    typecheck_1 = typecheck_k = agree_1 = agree_k = 0
    reference_1: list[float] = []
    similarity_1: list[float] = []
    for problem, result in zip(problems, results, strict=True):
        try:
            gold = canonical_form(problem.formal)
        except Exception:  # a gold the grammar cannot read: agreement is unmeasurable, count it as a miss
            gold = None
        ranked = result.candidates
        if ranked:
            best = ranked[0]
            typecheck_1 += bool(best.lean is not None and best.lean.ok)
            agree_1 += gold is not None and best.canonical_form == gold
            reference_1.append(reference_score(best.statement, problem.formal).value)
            if "back_translation" in best.scores:
                similarity_1.append(best.scores["back_translation"])
        typecheck_k += any(c.lean is not None and c.lean.ok for c in ranked)
        agree_k += gold is not None and any(c.canonical_form == gold for c in ranked)

    def quantiles(values: list[float]) -> dict[str, float] | None:
        if not values:
            return None
        q = np.quantile(values, [0.1, 0.5, 0.9])
        return {"mean": float(np.mean(values)), "p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}

    return {
        "problems": n,
        "samples": samples,
        "lean_checked": lean_checked,
        "typecheck_rate@1": typecheck_1 / n if lean_checked else None,
        f"typecheck_rate@{samples}": typecheck_k / n if lean_checked else None,
        "gold_agreement@1": agree_1 / n,
        f"gold_agreement@{samples}": agree_k / n,
        "reference_similarity@1": float(np.mean(reference_1)) if reference_1 else None,
        "backtranslation_similarity@1": quantiles(similarity_1),
        "problems_without_candidates": sum(1 for r in results if not r.candidates),
        "errors": sum(len(r.errors) for r in results),
    }
