"""The records browser, one record's page ("why can I see this"), and opening its content."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from headwater.api.deps import StateDep
from headwater.services.errors import InvalidArgumentError
from headwater.web import record_views, views
from headwater.web.content import content_url
from headwater.web.session import PageCaller
from headwater.web.templating import error_page, page, see_other

router = APIRouter()

NOT_FOUND = "This record does not exist, or you are not allowed to read it."


@router.get("/records")
async def records(
    request: Request,
    caller: PageCaller,
    state: StateDep,
    connector: str = "",
    type: str = "",  # noqa: A002
    name: str = "",
    cursor: str = "",
) -> Response:
    query = {"connector": connector.strip(), "type": type.strip().upper(), "name": name.strip()[:200]}
    try:
        found = await state.call(
            record_views.browse,
            state,
            caller,
            connector=query["connector"],
            record_type=query["type"],
            name=query["name"],
            cursor=cursor or None,
        )
    except InvalidArgumentError as exc:
        return error_page(
            request,
            caller,
            422,
            "Cannot list these records",
            str(exc),
            back="/records",
            back_label="All records",
        )
    connectors = await state.call(views.visible_connectors, state, caller)
    return page(
        request,
        caller,
        "records.html",
        "records",
        found=found,
        query=query,
        paged=bool(cursor),
        connectors=connectors,
        record_types=record_views.RECORD_TYPES,
    )


@router.get("/records/{record_key}")
async def record(request: Request, caller: PageCaller, state: StateDep, record_key: str) -> Response:
    detail = await state.call(record_views.record_page, state, caller, record_key)
    if detail is None:
        return error_page(
            request, caller, 404, "Record not found", NOT_FOUND, back="/records", back_label="All records"
        )
    return page(
        request,
        caller,
        "record.html",
        "records",
        r=detail,
        icon=views.icon_url(detail.get("instanceType") or detail.get("connectorType")),
    )


@router.get("/records/{record_key}/open")
async def open_record(request: Request, caller: PageCaller, state: StateDep, record_key: str) -> Response:
    """The record's content through a short-lived signed URL (303), for the caller only."""
    url = await content_url(request, state, caller, record_key)
    if url is None:
        return error_page(
            request, caller, 404, "Record not found", NOT_FOUND, back="/records", back_label="All records"
        )
    return see_other(url)
