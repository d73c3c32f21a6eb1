"""Snippets: the part of a chunk around the query's words, with those words marked.

Markers are plain text (`[[` and `]]` by default) so that every front end decides how to render
them (the CLI makes them bold, HTML escapes the text first and then turns markers into <mark>).
"""

from __future__ import annotations

import re

WORD = re.compile(r"\w+", re.UNICODE)
OPEN, CLOSE = "[[", "]]"

# Words too common to be worth highlighting (the keyword index ranks them low anyway).
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
    ]
)


def query_terms(query: str) -> set[str]:
    return {w.lower() for w in WORD.findall(query) if w.lower() not in _STOP}


def make_snippet(text: str, query: str, *, width: int = 240, open_: str = OPEN, close: str = CLOSE) -> str:
    """About `width` characters of `text` around its densest cluster of query terms, terms marked.

    Without any matching term the snippet is the chunk's beginning (a vector hit can match by meaning
    only)."""
    terms = query_terms(query)
    flat = " ".join(text.split())
    matches = [m for m in WORD.finditer(flat) if m.group().lower() in terms] if terms else []
    if not matches:
        start = 0
    else:
        # the window that holds the most matches, starting at a match
        best_start, best_count = matches[0].start(), 0
        for i, m in enumerate(matches):
            count = sum(1 for n in matches[i:] if n.end() <= m.start() + width)
            if count > best_count:
                best_start, best_count = m.start(), count
        start = max(0, best_start - width // 4)
    end = min(len(flat), start + width)
    if start > 0:  # do not cut a word in half
        space = flat.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    piece = flat[start:end]
    if end < len(flat):
        space = piece.rfind(" ")
        if space > width // 2:
            piece = piece[:space]
    marked = WORD.sub(
        lambda m: f"{open_}{m.group()}{close}" if m.group().lower() in terms else m.group(), piece
    )
    return ("…" if start > 0 else "") + marked + ("…" if start + len(piece) < len(flat) else "")
