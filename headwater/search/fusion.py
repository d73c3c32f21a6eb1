"""Reciprocal rank fusion: combine ranked lists without comparing their incomparable scores.

A document's fused score is the sum over lists of 1 / (k + rank), rank starting at 1. k = 60 is the
constant from the original RRF paper; it keeps one list's top hit from drowning the other list.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

DEFAULT_RRF_K = 60


def reciprocal_rank_fusion(rankings: Sequence[Sequence[K]], k: int = DEFAULT_RRF_K) -> list[tuple[K, float]]:
    """Fused (item, score) best first. Ties keep the order of first appearance, so results are stable."""
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))
