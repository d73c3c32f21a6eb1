"""Where "open" sends the browser: a short-lived signed link to the record's content, made by the
same signer as `POST /api/v1/records/{key}/content-link` (and checked again when fetched)."""

from __future__ import annotations

from fastapi import Request

from headwater.api.deps import Caller
from headwater.api.routes.records import content_links
from headwater.api.state import ApiState
from headwater.services.record_access import RecordNotFoundError


async def content_url(request: Request, state: ApiState, caller: Caller, record_key: str) -> str | None:
    """A signed URL for the caller to fetch the record's content; None when they may not read it."""
    links = await content_links(request, state)
    try:
        issued = await state.call(
            links.issue, state.store, user_key=caller.user_key, org_key=caller.org_key, record_key=record_key
        )
    except RecordNotFoundError:
        return None
    return str(issued["url"])
