"""`Ranker`: weighted combination, the elaboration filter, ordering and tie-breaking."""

from __future__ import annotations

import pytest

from autoformal.ranking import DEFAULT_WEIGHTS, Ranker, RankerConfig


def test_weighted_mean_over_present_scores() -> None:
    ranker = Ranker(RankerConfig(weights={"a": 1.0, "b": 3.0, "elaboration": 5.0}, elaboration="score"))
    assert ranker.combine({"a": 1.0, "b": 0.0}) == pytest.approx(0.25)
    assert ranker.combine({"a": 1.0}) == 1.0  # a missing scorer is left out, not counted as 0
    assert ranker.combine({"a": 0.0, "b": 0.0, "elaboration": 1.0}) == pytest.approx(5 / 9)
    assert ranker.combine({"unknown": 1.0}) == 0.0


def test_filter_mode_drops_rejected_candidates_and_ignores_the_elaboration_weight() -> None:
    ranker = Ranker(RankerConfig(weights={"a": 1.0, "elaboration": 10.0}))
    assert ranker.combine({"a": 0.5, "elaboration": 1.0}) == 0.5
    assert ranker.keep(True) and ranker.keep(None) and not ranker.keep(False)
    assert Ranker(RankerConfig(elaboration="score")).keep(False)


def test_order_breaks_ties_by_cluster_size_then_generation_order() -> None:
    ranker = Ranker()
    assert ranker.order([0.5, 0.9, 0.5, 0.5], [1, 1, 3, 1]) == [1, 2, 0, 3]


def test_negative_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        Ranker(RankerConfig(weights={"a": -1.0}))


def test_defaults_cover_every_pipeline_scorer() -> None:
    assert set(DEFAULT_WEIGHTS) == {"consistency", "self_consistency", "back_translation", "elaboration", "probes"}
