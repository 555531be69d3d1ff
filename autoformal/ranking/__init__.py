"""Ranking: combine the scorers' scores into one and order the candidates."""

from autoformal.ranking.ranker import DEFAULT_WEIGHTS, Ranker, RankerConfig

__all__ = ["DEFAULT_WEIGHTS", "Ranker", "RankerConfig"]
