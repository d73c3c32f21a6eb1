"""Home and search: a search box, the status of the connectors the user can see, and results with
highlighted snippets, filters and citations (the record page, "open", the source's own link).

"More results" asks again for a longer list (`pages=2`, 3, ...: 20 more each time, up to the
search's own limit of `MAX_K` hits) and lands on the first new one: ranking is the same for the
same query, so nothing repeats or goes missing between pages, and no cursor needs keeping."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from headwater.api.deps import Caller, StateDep
from headwater.api.state import ApiState
from headwater.services.search import MAX_K, SearchScope, search_as
from headwater.web import record_views, views
from headwater.web.session import PageCaller
from headwater.web.templating import page

router = APIRouter()

RESULTS_PER_PAGE = 20
MAX_PAGES = -(-MAX_K // RESULTS_PER_PAGE)
RECORD_TYPES = record_views.RECORD_TYPES


def _day_ms(text: str) -> tuple[int | None, str | None]:
    """A `YYYY-MM-DD` date as epoch ms (UTC midnight), or an error message naming the format."""
    if not text:
        return None, None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None, f"{text!r} is not a date: use YYYY-MM-DD"
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000), None


def run_search(
    state: ApiState, caller: Caller, query: str, scope: SearchScope, *, pages: int = 1
) -> tuple[list[dict[str, Any]], bool]:
    """The first `pages` pages of hits the caller may read, best first (`search_as`, as
    `POST /api/v1/search` answers), and whether there are more to show."""
    wanted = min(pages * RESULTS_PER_PAGE, MAX_K)
    found = search_as(
        state.search,
        state.store,
        user_key=caller.user_key,
        org_key=caller.org_key,
        query=query,
        k=min(wanted + 1, MAX_K),  # one more than shown says whether a next page exists
        scope=scope,
    )
    hits = list(found["hits"])
    return hits[:wanted], len(hits) > wanted


@router.get("/")
async def home(request: Request, caller: PageCaller, state: StateDep) -> Response:
    connectors = await state.call(views.visible_connectors, state, caller)
    return page(request, caller, "home.html", "search", connectors=connectors[:6], record_types=RECORD_TYPES)


@router.get("/search")
async def search(
    request: Request,
    caller: PageCaller,
    state: StateDep,
    q: str = "",
    connector: str = "",
    type: str = "",  # noqa: A002
    since: str = "",
    pages: str = "1",
) -> Response:
    query = q.strip()[:500]
    shown_pages = min(max(int(pages), 1), MAX_PAGES) if pages.isdigit() else 1
    connectors = await state.call(views.visible_connectors, state, caller)
    since_ms, since_error = _day_ms(since.strip())
    wanted_type = type.strip().upper()
    errors: dict[str, str] = {}
    if since_error:
        errors["since"] = since_error
    if wanted_type and wanted_type not in RECORD_TYPES:
        errors["type"] = f"unknown type {type!r}: choose one from the list"
    if connector and connector not in {c["id"] for c in connectors}:
        errors["connector"] = "that connector is not one you can see: choose one from the list"
    hits: list[dict[str, Any]] = []
    has_more = False
    if query and not errors:
        scope = SearchScope(
            connector_ids=frozenset({connector}) if connector else frozenset(),
            record_types=frozenset({wanted_type}) if wanted_type else frozenset(),
            modified_from=since_ms,
        )
        hits, has_more = await state.call(run_search, state, caller, query, scope, pages=shown_pages)
    icons = {c["id"]: c for c in connectors}
    return page(
        request,
        caller,
        "search.html",
        "search",
        q=query,
        hits=hits,
        more_url=_more_url(query, connector, wanted_type, since.strip(), shown_pages) if has_more else None,
        at_limit=len(hits) >= MAX_K,
        connectors=connectors,
        icons=icons,
        record_types=RECORD_TYPES,
        chosen={"connector": connector, "type": wanted_type, "since": since.strip()},
        errors=errors,
        status_code=422 if errors else 200,
    )


def _more_url(query: str, connector: str, record_type: str, since: str, pages: int) -> str:
    """The same search with one more page, scrolled to the first new hit."""
    params = {"q": query, "connector": connector, "type": record_type, "since": since}
    kept = {name: value for name, value in params.items() if value} | {"pages": str(pages + 1)}
    return f"/search?{urlencode(kept)}#hit-{pages * RESULTS_PER_PAGE + 1}"
