"""`Ranker`: a weighted mean of the scorers' scores, with elaboration as a hard filter by default."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autoformal.errors import ConfigurationError

#: Default weights per scorer name; scorers absent from a candidate's scores are left out of the mean.
#: consistency 1.0 / self_consistency 0.5: fitted (grid search for AUROC of this Ranker, `evaluation.fit_weights`)
#: on the pooled fit halves of both human-labelled files in ../shared/data/labeled; on the held-out halves they
#: score AUROC 0.558 (rethinking) and 0.673 (ProofNet audit), equal weights 0.571 / 0.680
#: (benchmarks/scorer_quality.py). Those files have 1-2 candidates per problem, so they say little about
#: self-consistency's weight among k samples. back_translation and elaboration could not be measured there
#: (no LLM endpoint here; every labelled candidate type-checks), so they keep the neutral weight 1.
DEFAULT_WEIGHTS: dict[str, float] = {
    "consistency": 1.0,
    "self_consistency": 0.5,
    "back_translation": 1.0,
    "elaboration": 1.0,
    # Not fitted (no labelled data with probe verdicts). Probes run on elaborated candidates only, so the
    # others' elaboration scores are equal; 3.0 × 0.9 exceeds the 2.5 the other defaults can add up to, so a
    # vacuous/refuted candidate (0) ranks below any unflagged one (0.9 trivial, 1 clean).
    "probes": 3.0,
}


class RankerConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    weights_file: Path | None = Field(
        default=None,
        description="Weights fitted by `autoformal eval LABELS --save-weights FILE` (e.g. on a reviewer's labels "
        "from `autoformal review`); they replace the defaults for the scorers the file names.",
    )
    elaboration: Literal["filter", "score"] = Field(
        default="filter",
        description="filter: candidates Lean rejected are dropped (when Lean checked them); "
        "score: they stay, and `elaboration` is one weighted score among the others.",
    )


    @model_validator(mode="before")
    @classmethod
    def _load_weights_file(cls, data: Any) -> Any:
        """The file's weights over the given (or default) ones, read once when the config is made."""
        if isinstance(data, dict) and data.get("weights_file"):
            given = data.get("weights") or DEFAULT_WEIGHTS
            data = {**data, "weights": {**given, **read_weights(Path(data["weights_file"]))}}
        return data


def read_weights(path: Path) -> dict[str, float]:
    """The weights in a file written by `autoformal eval --save-weights` (`{"weights": {scorer: w}}`)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        weights = payload["weights"] if isinstance(payload, dict) and "weights" in payload else payload
        parsed = {str(k): float(v) for k, v in weights.items()}
    except OSError as exc:
        raise ConfigurationError(f"ranker weights file {path}: {exc.strerror}") from None
    except (ValueError, TypeError, AttributeError, KeyError):
        raise ConfigurationError(
            f"ranker weights file {path} is not a JSON object of scorer weights; write it with "
            "`autoformal eval LABELS --save-weights FILE`"
        ) from None
    if any(w < 0 for w in parsed.values()):
        raise ConfigurationError(f"ranker weights file {path}: weights must be non-negative")
    return parsed


class Ranker:
    """Orders candidates by combined score (ties: larger canonical-form cluster, then generation order)."""

    def __init__(self, config: RankerConfig | None = None) -> None:
        self.config = config or RankerConfig()
        if any(w < 0 for w in self.config.weights.values()):
            raise ValueError("ranker weights must be non-negative")

    def weighs(self, name: str) -> bool:
        """Whether the score `name` counts in the mean (under `filter`, elaboration filters instead)."""
        return self.config.weights.get(name, 0.0) > 0 and not (
            name == "elaboration" and self.config.elaboration == "filter"
        )

    def combine(self, scores: Mapping[str, float]) -> float:
        """Weighted mean over the present scores the ranker weighs (`weighs`); 0 when there are none. This is
        the project's one weighted mean: weight fitting (`autoformal.evaluation.fitting`) scores through it."""
        used = [(self.config.weights[name], value) for name, value in scores.items() if self.weighs(name)]
        total = sum(w for w, _ in used)
        return min(max(sum(w * v for w, v in used) / total, 0.0), 1.0) if total else 0.0

    def keep(self, elaborated: bool | None) -> bool:
        """Whether a candidate survives the elaboration filter (`None`: not checked, always kept)."""
        return self.config.elaboration != "filter" or elaborated is not False

    def order(self, combined: Sequence[float], cluster_sizes: Sequence[int]) -> list[int]:
        """Indices best first."""
        return sorted(range(len(combined)), key=lambda i: (-combined[i], -cluster_sizes[i], i))
