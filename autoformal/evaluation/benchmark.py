"""Whole-pipeline metrics on a benchmark with gold statements: typecheck rate@1/@k, canonical agreement with
the gold@1/@k, reference similarity and back-translation similarity of the top candidate; with Lean, the
BEq+-style proven agreement with the gold@1/@k (`proven_agreement`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from autoformal.checking.equivalence import Verdict, equivalent_many
from autoformal.checking.semantic import SemanticChecker
from autoformal.errors import EvaluationError
from autoformal.evaluation.labelled import checkable_header, json_object
from autoformal.results import FormalizationResult
from autoformal.scoring.reference import reference_score


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
        row = json_object(file, number, line)
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


async def proven_agreement(
    semantic: SemanticChecker,
    problems: Sequence[BenchmarkProblem],
    results: Sequence[FormalizationResult],
    *,
    samples: int,
) -> dict[str, object]:
    """BEq+-style agreement with the gold: the top candidate (@1), or any of the distinct candidates (@k),
    *proven* equivalent to the gold statement by the portfolio, next to which canonical agreement only
    counts identical spellings. `proven_errors` counts pairs Lean could not judge (a statement that does
    not elaborate, a gold with a tactic block): they count as misses."""
    # One pair per distinct candidate (by canonical form, best first), at most `samples` per problem.
    by_header: dict[str, list[tuple[int, bool, str, str]]] = {}
    for index, (problem, result) in enumerate(zip(problems, results, strict=True)):
        forms: dict[str, str] = {}
        for c in result.candidates:
            forms.setdefault(c.canonical_form or c.statement, c.statement)
        for rank, statement in enumerate(list(forms.values())[:samples]):
            by_header.setdefault(problem.header, []).append((index, rank == 0, statement, problem.formal))
    top = [False] * len(problems)
    any_k = [False] * len(problems)
    errors = 0
    for header, rows in by_header.items():
        verdicts = await equivalent_many(semantic, [(statement, gold) for _, _, statement, gold in rows], header)
        for (index, is_best, _, _), verdict in zip(rows, verdicts, strict=True):
            errors += verdict.verdict is Verdict.ERROR
            any_k[index] = any_k[index] or verdict.equivalent
            top[index] = top[index] or (is_best and verdict.equivalent)
    n = len(problems)
    return {
        "proven_agreement@1": sum(top) / n,
        f"proven_agreement@{samples}": sum(any_k) / n,
        "proven_errors": errors,
    }
