"""Records the caller may read: browse, one record, "why can I see this", and its content.

    GET  /api/v1/records                       browse (filters, `limit` + opaque `cursor`)
    GET  /api/v1/records/{key}                 metadata and who has access
    GET  /api/v1/records/{key}/explain?user=   why a user can or cannot read it
    POST /api/v1/records/{key}/content-link    a signed link to the content, valid a few minutes
    GET  /api/v1/content/{token}               the content (no session needed: the token is the key)

A record the caller cannot read is 404 whether it exists or not, for admins too (see
`services/record_access.py`). Everything is scoped to the caller's organisation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from headwater.api.deps import CallerDep, StateDep
from headwater.api.errors import AUTH_ERRORS, error_json, error_responses
from headwater.api.json_types import JsonDateTime
from headwater.api.state import ApiState
from headwater.services.answers import explain_for
from headwater.services.content_links import (
    ContentLinkExpiredError,
    ContentLinks,
    open_content,
)
from headwater.services.record_access import (
    DEFAULT_PAGE,
    MAX_PAGE,
    RecordQuery,
    Sort,
    browse_records,
    record_detail,
)

router = APIRouter(prefix="/api/v1", tags=["records"])

RECORD_ERRORS = AUTH_ERRORS | error_responses(404)


# ---- response models (what the OpenAPI document promises) ---------------------------------------


class RecordSummary(BaseModel):
    key: str
    name: str | None
    recordType: str | None
    connectorId: str
    connectorName: str | None = Field(description="The connector instance's name.")
    connectorType: str | None = Field(description="The kind of connector, e.g. LOCAL_FS.")
    recordGroupId: str | None
    webUrl: str | None
    mimeType: str | None
    sizeInBytes: int | None
    createdAt: int | None = Field(description="Epoch ms (the source's, when it says).")
    modifiedAt: int | None = Field(description="Epoch ms of the source's last change.")
    indexingStatus: str | None


class RecordPage(BaseModel):
    records: list[RecordSummary]
    nextCursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
    total: int = Field(description="Readable records matching the filters.")


class Principal(BaseModel):
    id: str = Field(description="Node id: users/K, groups/K, roles/K, organizations/K, domains/D, anyone/O")
    kind: str
    name: str


class NamedNode(BaseModel):
    id: str
    name: str


class Grant(BaseModel):
    principal: Principal
    role: str
    grantType: str | None
    inheritedFrom: NamedNode | None = Field(description="Null: granted on the record itself.")
    grantsRead: bool = Field(description="READ or better, and not a sharing link.")


class RecordGroupRef(BaseModel):
    id: str
    name: str


class RecordDetail(RecordSummary):
    indexingReason: str | None
    recordGroup: RecordGroupRef | None
    path: str | None
    permissions: list[Grant]
    inheritsFrom: list[NamedNode] = Field(
        description="The record groups (or records) whose access this record inherits, nearest first."
    )


class ContentLink(BaseModel):
    url: str = Field(description="GET it within the expiry, with or without a session.")
    expiresAt: int = Field(description="Epoch ms.")


class AccessPath(BaseModel):
    principal: str
    membership: list[str]
    membershipReason: str
    role: str
    grantType: str | None
    grantedOn: str
    inheritance: list[str]
    grantUpdatedAt: int | None
    lastSyncedAt: int | None = Field(description="When that connector instance last finished a sync (ms).")


class ExplainedUser(BaseModel):
    key: str
    email: str


class Explanation(BaseModel):
    userKey: str
    recordKey: str
    canRead: bool = Field(description="Some grant reaches the user (any role).")
    searchable: bool = Field(description="What search, browsing and content decide (READ or better).")
    paths: list[AccessPath]
    grants: list[dict[str, Any]] = Field(description="When the user cannot read: who can.")
    notes: list[str]
    names: dict[str, str] = Field(description="Node id -> a name people recognise.")
    user: ExplainedUser


# ---- browse and detail ----------------------------------------------------------------------------


def _epoch_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


def _upper(values: list[str] | None) -> frozenset[str]:
    return frozenset(v.strip().upper() for v in values or () if v.strip())


def _plain(values: list[str] | None) -> frozenset[str]:
    return frozenset(v.strip() for v in values or () if v.strip())


@router.get("/records", responses=AUTH_ERRORS)
async def list_records(
    caller: CallerDep,
    state: StateDep,
    connector_id: Annotated[list[str] | None, Query(alias="connectorId", max_length=50)] = None,
    record_type: Annotated[list[str] | None, Query(alias="recordType", max_length=20)] = None,
    record_group_id: Annotated[list[str] | None, Query(alias="recordGroupId", max_length=50)] = None,
    indexing_status: Annotated[list[str] | None, Query(alias="indexingStatus", max_length=20)] = None,
    modified_from: Annotated[
        JsonDateTime | None,
        Query(alias="modifiedFrom", description="Inclusive; ISO 8601 (UTC if no offset)."),
    ] = None,
    modified_to: Annotated[
        JsonDateTime | None,
        Query(
            alias="modifiedTo",
            description="Exclusive. A window that does not end after it starts matches nothing.",
        ),
    ] = None,
    name_contains: Annotated[str | None, Query(alias="nameContains", max_length=200)] = None,
    sort: Annotated[Sort, Query(description="`-modified` (newest first) by default.")] = "-modified",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> RecordPage:
    """The records you can read in your organisation, one page at a time. Repeat a filter to match
    any of several values (`?recordType=FILE&recordType=MAIL`)."""
    query = RecordQuery(
        connector_ids=_plain(connector_id),
        record_types=_upper(record_type),
        record_group_ids=_plain(record_group_id),
        indexing_statuses=_upper(indexing_status),
        modified_from=_epoch_ms(modified_from),
        modified_to=_epoch_ms(modified_to),
        name_contains=name_contains or None,
        sort=sort,
        limit=limit,
        cursor=cursor or None,
    )
    page = await state.call(
        browse_records, state.store, user_key=caller.user_key, org_key=caller.org_key, query=query
    )
    return RecordPage.model_validate(page)


@router.get("/records/{key}", responses=RECORD_ERRORS)
async def get_record(key: str, caller: CallerDep, state: StateDep) -> RecordDetail:
    """A record's metadata and every grant that decides who reads it. 404 unless you can read it
    (admins included: an admin audits access with `explain`)."""
    detail = await state.call(
        record_detail, state.store, user_key=caller.user_key, org_key=caller.org_key, record_key=key
    )
    return RecordDetail.model_validate(detail)


@router.get("/records/{key}/explain", responses=RECORD_ERRORS)
async def explain_record(
    key: str,
    caller: CallerDep,
    state: StateDep,
    user: Annotated[
        str | None,
        Query(max_length=320, description="Whose access to explain (admins only); default: yours."),
    ] = None,
) -> Explanation:
    """Why a user can or cannot read the record: each path (membership hops, the grant, the
    inheritance hops) with when its connector last synced, or who has access and the usual
    reasons for a denial. Members ask about themselves and records they can read; an admin about
    any user and record of the organisation (403 for a member naming someone else)."""
    why = await state.call(
        explain_for,
        state.store,
        caller_user_key=caller.user_key,
        caller_email=caller.email,
        caller_org_key=caller.org_key,
        caller_is_admin=caller.is_admin,
        record_key=key,
        user_email=user or None,
    )
    return Explanation.model_validate(why)


# ---- content --------------------------------------------------------------------------------------


def _links_for(app_state: Any, state: ApiState) -> ContentLinks:
    links = getattr(app_state, "content_links", None)
    if not isinstance(links, ContentLinks):
        links = ContentLinks.from_settings(state.settings)
        app_state.content_links = links
    return links


async def content_links(request: Request, state: StateDep) -> ContentLinks:
    """The app's link signer, made once from the instance secret (tests replace it through
    `app.dependency_overrides` to move its clock)."""
    return await state.call(_links_for, request.app.state, state)


LinksDep = Annotated[ContentLinks, Depends(content_links)]


@router.post("/records/{key}/content-link", responses=RECORD_ERRORS)
async def create_content_link(key: str, caller: CallerDep, state: StateDep, links: LinksDep) -> ContentLink:
    """A link to the record's content for you, valid for `HEADWATER_CONTENT_LINK_SECONDS` (5 minutes
    by default). Whoever holds the link can fetch the content until it expires, without logging in
    (so a browser tab or a download manager can open it): do not share it. Your access is checked
    again when it is fetched."""
    link = await state.call(
        links.issue, state.store, user_key=caller.user_key, org_key=caller.org_key, record_key=key
    )
    return ContentLink.model_validate(link)


CONTENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The record's content, as its source serves it.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    **error_responses(403, 404, 410, 422, 503),
}


@router.get("/content/{token}", response_class=StreamingResponse, responses=CONTENT_RESPONSES)
async def get_content(
    token: str,
    state: StateDep,
    links: LinksDep,
    disposition: Annotated[
        Literal["attachment", "inline"],
        Query(description="`inline` shows PDFs, images and plain text in the browser; others download."),
    ] = "attachment",
) -> Any:
    """The content behind a link from `POST /records/{key}/content-link`. No session needed: the
    token is the permission. 403 when the token was changed or its user can no longer read the
    record (or was deactivated); 410 when it expired; 404 when the source no longer has the file."""
    try:
        claims = links.verify(token)
    except ContentLinkExpiredError as exc:  # 410 is not in the shared error table: answered here
        return error_json(410, "link_expired", str(exc))
    content = await open_content(state.store, state.config, claims)
    return StreamingResponse(
        content.chunks, media_type=content.media_type, headers=content.headers(inline=disposition == "inline")
    )
