"""Permission-filtered search, as the CLI and the API ask for it.

`search` is the CLI's (a user named by email, the instance opened for one query). `search_as` is the
API's and the web pages': always on behalf of the authenticated caller (there is no "as another
user", for admins either), over the process's shared `SearchService`. Its hits are checked once more
against the graph as it is now (`record_access.readable_among`): the index learns of a removed grant
from an event a moment later, and in that moment the hit is dropped here rather than shown.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, replace
from typing import Any

from headwater.indexing.types import SearchFilters
from headwater.search import service as search_module
from headwater.search.service import Mode, SearchHit, SearchService
from headwater.settings import Settings
from headwater.store.base import GraphStore, Transaction

from .errors import InvalidArgumentError
from .record_access import RECORDS, readable_among

MODES: tuple[Mode, ...] = ("hybrid", "keyword", "vector")
MAX_K = 50
MAX_QUERY_CHARS = 1000
RECHECK_SLACK = 5  # extra hits asked for, so that a dropped stale hit does not shorten the page


def search(
    settings: Settings, query: str, user_email: str, *, limit: int = 10, mode: str = "hybrid"
) -> dict[str, Any]:
    """`{"query", "asUser", "mode", "tookMs", "hits"}`: what `user_email` may read that matches
    `query`, best first. Each hit is a dict (`recordName`, `score`, `snippet`, `webUrl`, ...)."""
    checked_mode = _check(query, limit, mode)
    with search_module.open_search_service(settings, with_embedder=checked_mode != "keyword") as service:
        user_key = service.user_key_for_email(user_email)
        result = service.search(query, user_key=user_key, k=limit, mode=checked_mode)
        with service.store.read() as tx:
            result.hits = without_hidden_web_urls(tx, result.hits)
    data = result.as_dict()
    return {
        "query": query,
        "asUser": user_email,
        "mode": data.get("mode", mode),
        "tookMs": data.get("tookMs"),
        "hits": [dict(hit) for hit in data.get("hits") or []],
    }


def _check(query: str, k: int, mode: str) -> Mode:
    if not query.strip():
        raise InvalidArgumentError("the query is empty — say what to search for")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidArgumentError(f"the query is longer than {MAX_QUERY_CHARS} characters — shorten it")
    if k < 1:
        raise InvalidArgumentError(f"limit must be at least 1, not {k}")
    for known in MODES:
        if mode == known:
            return known
    raise InvalidArgumentError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")


@dataclass(frozen=True)
class SearchScope:
    """Optional narrowing of a search; lists match any of their values. `modified_from` is
    inclusive, `modified_to` exclusive (epoch ms of the source's last change); a window that does
    not end after it starts matches nothing (an empty result, as for browsing, not an error)."""

    connector_ids: frozenset[str] = frozenset()
    record_types: frozenset[str] = frozenset()
    record_group_ids: frozenset[str] = frozenset()
    modified_from: int | None = None
    modified_to: int | None = None

    @property
    def is_empty_window(self) -> bool:
        start, end = self.modified_from, self.modified_to
        return start is not None and end is not None and start >= end

    def as_filters(self) -> SearchFilters | None:
        filters = SearchFilters(
            connector_ids=self.connector_ids or None,
            record_types=frozenset(t.upper() for t in self.record_types) or None,
            record_group_ids=self.record_group_ids or None,
            updated_after=self.modified_from,
            updated_before=self.modified_to,
        )
        return None if filters == SearchFilters() else filters


def readable_hits(
    service: SearchService,
    store: GraphStore,
    *,
    user_key: str,
    org_key: str,
    query: str,
    k: int = 10,
    mode: str = "hybrid",
    scope: SearchScope | None = None,
) -> tuple[list[SearchHit], float]:
    """The caller's hits (best first, at most `k`, each readable by them now) and the time taken
    in ms. The raw `SearchHit`s keep the whole passage (`text`), which answers are built from."""
    checked_mode = _check(query, k, mode)
    if k > MAX_K:
        raise InvalidArgumentError(f"k must be at most {MAX_K}, not {k}")
    scope = scope or SearchScope()
    if scope.is_empty_window:
        return [], 0.0
    filters = scope.as_filters()
    started = time.perf_counter()
    results = service.search(
        query, user_key=user_key, k=k + RECHECK_SLACK, filters=filters, mode=checked_mode
    )
    with store.read() as tx:
        allowed = readable_among(tx, user_key, org_key, [h.record_key for h in results.hits])
        hits = without_hidden_web_urls(tx, [h for h in results.hits if h.record_key in allowed][:k])
    return hits, (time.perf_counter() - started) * 1000


def without_hidden_web_urls(tx: Transaction, hits: list[SearchHit]) -> list[SearchHit]:
    """`hits` with no `web_url` for records whose source asked not to show one (`hideWeburl`: a
    link that would not open for the reader, or would reveal more than the record), as records
    browsing does. The index keeps the URL; the graph decides, as it is now."""
    hidden = {
        key
        for key, doc in tx.get_nodes(RECORDS, sorted({h.record_key for h in hits if h.web_url})).items()
        if doc.get("hideWeburl")
    }
    return [replace(h, web_url=None) if h.record_key in hidden else h for h in hits]


def search_as(
    service: SearchService,
    store: GraphStore,
    *,
    user_key: str,
    org_key: str,
    query: str,
    k: int = 10,
    mode: str = "hybrid",
    scope: SearchScope | None = None,
) -> dict[str, Any]:
    """`{"query", "mode", "tookMs", "hits": [hit_view...]}` for the caller (see `hit_view`)."""
    hits, took_ms = readable_hits(
        service, store, user_key=user_key, org_key=org_key, query=query, k=k, mode=mode, scope=scope
    )
    with store.read() as tx:
        instances = tx.get_nodes("apps", sorted({h.connector_id for h in hits}))
    names = {key: str(doc.get("name") or key) for key, doc in instances.items()}
    return {
        "query": query,
        "mode": mode,
        "tookMs": round(took_ms, 2),
        "hits": [hit_view(h, names) for h in hits],
    }


def hit_view(hit: SearchHit, connector_names: dict[str, str]) -> dict[str, Any]:
    """One hit as the API returns it. `snippet` marks the query's words as `[[word]]`;
    `snippetHtml` is the same text HTML-escaped with `<mark>` around them, safe to insert in a page.
    `location` says where in the record the passage is (page, slide, sheet and row, heading, line)."""
    return {
        "recordKey": hit.record_key,
        "recordName": hit.record_name,
        "recordType": hit.record_type,
        "connector": {
            "id": hit.connector_id,
            "name": connector_names.get(hit.connector_id),
            "type": hit.connector_name,
        },
        "webUrl": hit.web_url,
        "score": round(hit.score, 6),
        "snippet": hit.snippet,
        "snippetHtml": snippet_html(hit.snippet),
        "location": hit.location,
        "more": hit.more,
    }


def snippet_html(snippet: str) -> str:
    return html.escape(snippet).replace("[[", "<mark>").replace("]]", "</mark>")
