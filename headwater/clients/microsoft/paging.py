"""Walking Graph collections: `@odata.nextLink` pages, and delta rounds that end in an `@odata.deltaLink`.

Links are opaque and absolute: they are followed exactly as Graph hands them out, never built. Query options
($select, $top, ...) go on the first request only; Graph encodes them into the links."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from headwater.clients.microsoft.errors import GraphError
from headwater.clients.microsoft.session import GraphSession, Params

GraphObject = dict[str, Any]

NEXT_LINK = "@odata.nextLink"
DELTA_LINK = "@odata.deltaLink"


@dataclass(frozen=True)
class DeltaPage:
    """One page of a delta round.

    Attributes:
        items: the changed objects, in Graph's order (an object may appear again later: the last one wins).
            Removed ones carry `"@removed": {"reason": ...}` (directory, mail) or a `deleted` facet (drives).
        next_link: where the round continues; store it to resume the round after a crash.
        delta_link: only on the last page: store it for the scope, the next round starts from it.
    """

    items: list[GraphObject]
    next_link: str | None
    delta_link: str | None

    @property
    def is_last(self) -> bool:
        return self.next_link is None


async def iterate_pages(
    session: GraphSession,
    path: str,
    *,
    params: Params | None = None,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[GraphObject]:
    """Every object of a collection, page after page, following `@odata.nextLink` until it is absent."""
    link: str | None = path
    first = True
    while link is not None:
        body = await session.get_json(link, params=params if first else None, headers=headers)
        first = False
        for item in _values(body, link):
            yield item
        link = _link(body, NEXT_LINK)


async def iterate_delta(
    session: GraphSession,
    path_or_link: str,
    *,
    scope: str,
    params: Params | None = None,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[DeltaPage]:
    """The pages of one delta round, from a first request (`path_or_link` a path, with `params`) or from a
    stored next/delta link (used exactly, `params` ignored). The last page carries the new delta link.

    Raises:
        DeltaExpiredError: the stored link expired; it names `scope` (enumerate only that scope again).
    """
    stored = path_or_link.startswith(("http://", "https://"))
    link: str | None = path_or_link
    first = True
    while link is not None:
        body = await session.get_json(
            link, params=params if first and not stored else None, headers=headers, scope=scope
        )
        first = False
        next_link, delta_link = _link(body, NEXT_LINK), _link(body, DELTA_LINK)
        yield DeltaPage(items=_values(body, link), next_link=next_link, delta_link=delta_link)
        link = next_link


async def collect_delta(pages: AsyncIterator[DeltaPage]) -> tuple[list[GraphObject], str | None]:
    """All items of a delta round and its final delta link (for small scopes and tests)."""
    items: list[GraphObject] = []
    delta_link = None
    async for page in pages:
        items.extend(page.items)
        delta_link = page.delta_link or delta_link
    return items, delta_link


def _values(body: Mapping[str, Any], link: str) -> list[GraphObject]:
    values = body.get("value", [])
    if not isinstance(values, list) or not all(isinstance(item, dict) for item in values):
        raise GraphError(f"{link}: expected a collection with a 'value' list of objects")
    return values


def _link(body: Mapping[str, Any], name: str) -> str | None:
    link = body.get(name)
    return link if isinstance(link, str) and link else None
