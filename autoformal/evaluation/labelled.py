"""Human faithfulness labels (files shaped like `../shared/data/labeled/`), read so the numbers stay honest:

- Fields that leak the label (`error_type`, `comment`, `faithfulness`, ...) are dropped when a row is read;
  scorers only ever see the informal text, the candidate and its header.
- Rows are split by *problem* (a hash of the problem id) into a fit half and a held-out half. Thresholds
  and ranker weights are fitted on the fit half; every reported metric is on the held-out half.
- The reference (gold) formalization is used only by the `reference` scorer, reported separately and
  marked as reference-based; the combined score is reference-free.
- Rows whose candidate *is* the reference (`variant == "proofnet_verified"`) are dropped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from autoformal.errors import EvaluationError

#: Fields that reveal the label; never read.
LEAKING_FIELDS = frozenset(
    {"error_type", "comment", "faithfulness", "provability", "reasoning", "same_as_gold", "truncated_candidate", "note"}
)

Split = Literal["fit", "held-out"]


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


def json_object(file: Path, number: int, line: str) -> dict[str, Any]:
    """One JSONL line as an object, or an `EvaluationError` naming the file and line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"{file}:{number}: not JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise EvaluationError(f"{file}:{number}: not a JSON object; each line must be one object")
    return row


def load_labelled(path: str | Path) -> tuple[list[LabelledPair], int]:
    """Rows of a labelled JSONL file (label-leaking fields dropped) and how many reference rows were dropped."""
    file = Path(path)
    if not file.is_file():
        raise EvaluationError(f"{file}: no such file; pass a JSONL file with informal, candidate and label fields")
    # Review decisions (`autoformal review`) carry a `key` per candidate; a later decision replaces an earlier one.
    pairs: dict[str | int, LabelledPair] = {}
    dropped = 0
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json_object(file, number, line)
        for name in LEAKING_FIELDS:
            row.pop(name, None)
        if row.get("variant") == "proofnet_verified":
            dropped += 1
            continue
        missing = [f for f in ("informal", "candidate", "label") if f not in row]
        if missing:
            raise EvaluationError(f"{file}:{number}: missing field(s) {', '.join(missing)}")
        pairs[row.get("key") or number] = LabelledPair(
            id=str(row.get("id", number)),
            informal=row["informal"],
            candidate=row["candidate"],
            label=bool(row["label"]),
            header=row.get("header"),
            problem=_problem_key(row),
            gold=row.get("gold"),
        )
    return list(pairs.values()), dropped


def checkable_header(header: str | None) -> str:
    """A row's header reduced to the lines the checker accepts (`noncomputable section` and the like are
    dropped: they do not change whether a `sorry`-proved statement elaborates); the default header when none
    is left."""
    from autoformal.checking.header import DEFAULT_HEADER, validate_header
    from autoformal.errors import UnsafeHeaderError

    kept: list[str] = []
    for line in (header or "").splitlines():
        try:
            kept.append(validate_header("\n".join([*kept, line])).splitlines()[-1] if line.strip() else "")
        except (UnsafeHeaderError, IndexError):
            continue
    text = "\n".join(k for k in kept if k)
    return text or DEFAULT_HEADER
