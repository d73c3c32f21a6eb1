"""Permission-filtered search, as the CLI and the API ask for it. Search itself lives in
`headwater.search` (issue 6); this is the one place that calls it, imported lazily so that
everything else works (and says so) where it is missing.

The entry point used is `headwater.search.service.search`:

    def search(settings, query, user_email, *, k=10, mode="hybrid") -> SearchResults

whose result has `as_dict()` -> `{"query", "mode", "tookMs", "hits": [...]}` (a plain list of hit
dicts is accepted too). Wiring another entry point means changing `_entry_point` only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from headwater.settings import Settings

from .errors import InvalidArgumentError, NotBuiltYetError

SEARCH_MODULE = "headwater.search.service"
NOT_BUILT = "search is not built yet (issue 6)"
MODES = ("hybrid", "keyword", "vector")


def _entry_point() -> Callable[..., Any]:
    try:
        module = importlib.import_module(SEARCH_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name and SEARCH_MODULE.startswith(exc.name):
            raise NotBuiltYetError(NOT_BUILT) from None
        raise
    search = getattr(module, "search", None)
    if not callable(search):
        raise NotBuiltYetError(f"{NOT_BUILT}: {SEARCH_MODULE} has no search() function yet")
    return search  # type: ignore[no-any-return]


def search(
    settings: Settings, query: str, user_email: str, *, limit: int = 10, mode: str = "hybrid"
) -> dict[str, Any]:
    """`{"query", "asUser", "mode", "tookMs", "hits"}`: what `user_email` may read that matches
    `query`, best first. Each hit is a dict (`recordName`, `score`, `snippet`, `webUrl`, ...)."""
    if not query.strip():
        raise InvalidArgumentError("the query is empty — say what to search for")
    if limit < 1:
        raise InvalidArgumentError(f"limit must be at least 1, not {limit}")
    if mode not in MODES:
        raise InvalidArgumentError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    result = _entry_point()(settings, query, user_email, k=limit, mode=mode)
    data = result.as_dict() if hasattr(result, "as_dict") else result
    if not isinstance(data, dict):
        data = {"hits": list(data)}
    hits = [dict(hit) for hit in data.get("hits") or []]
    return {
        "query": query,
        "asUser": user_email,
        "mode": data.get("mode", mode),
        "tookMs": data.get("tookMs"),
        "hits": hits,
    }
