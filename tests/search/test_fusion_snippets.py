"""Reciprocal rank fusion and snippets."""

from __future__ import annotations

import pytest

from headwater.search.fusion import reciprocal_rank_fusion
from headwater.search.snippets import make_snippet, query_terms


def test_rrf_rewards_agreement_between_lists() -> None:
    keyword = ["a", "b", "c"]
    vector = ["c", "d", "a"]
    fused = reciprocal_rank_fusion([keyword, vector], k=60)
    scores = dict(fused)
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 63)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)


def test_rrf_ties_keep_first_appearance_and_empty_lists_are_fine() -> None:
    assert reciprocal_rank_fusion([["x"], ["y"]]) == [("x", 1 / 61), ("y", 1 / 61)]
    assert reciprocal_rank_fusion([[], []]) == []


def test_snippet_centres_on_the_query_terms_and_marks_them() -> None:
    filler = "lorem ipsum dolor sit amet " * 30
    text = filler + "The expense limit for travel is 250 euros per night. " + filler
    snippet = make_snippet(text, "travel expense limit", width=120)
    assert "[[expense]] [[limit]] for [[travel]]" in snippet
    assert snippet.startswith("…")
    assert snippet.endswith("…")
    assert len(snippet) < 200


def test_snippet_without_a_match_starts_at_the_beginning_and_ignores_stop_words() -> None:
    assert query_terms("What is the policy for VPN?") == {"what", "policy", "vpn"}
    snippet = make_snippet("Short text about something else.", "the of and")
    assert snippet == "Short text about something else."
