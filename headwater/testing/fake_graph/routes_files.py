"""Drives and driveItems: get, children, delta, permissions, content (302 to a pre-authenticated,
expiring download URL that the fake serves itself, with Range support)."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from headwater.testing.fake_graph.changelog import drive_scope, graph_time
from headwater.testing.fake_graph.model import Drive, DriveItem, UnknownObject
from headwater.testing.fake_graph.odata import (
    GraphHTTPError,
    Json,
    collection_page,
    error_body,
    graph_of,
    graph_root,
    json_response,
    latest_cursor,
    open_round,
    page_size,
    parse_select,
    prefers,
    round_links,
    select_fields,
    take_page,
)
from headwater.testing.fake_graph.serialize import (
    ctag,
    drive_json,
    etag,
    identity_set,
    permission_json,
    quick_xor_hash,
    shared_scope,
)
from headwater.testing.fake_graph.tokens import Cursor, InvalidToken

DOWNLOAD_ANNOTATION = "@microsoft.graph.downloadUrl"
SHARED_CHANGED_ANNOTATION = "@microsoft.graph.sharedChanged"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def resolve_drive(request: Request) -> Drive:
    """The drive named by /drives/{drive_id}, /users/{user_id}/drive or /sites/{site_id}/drive."""
    tenant = graph_of(request).tenant
    params = request.path_params
    if "drive_id" in params:
        return tenant.drive(params["drive_id"])
    if "user_id" in params:
        return tenant.drive_of(params["user_id"])
    site = tenant.site(params["site_id"])
    if not site.drive_ids:
        raise UnknownObject(f"site {site.id!r} has no document library")
    return tenant.drive(site.drive_ids[0])


def _owner(request: Request, drive: Drive) -> Json:
    tenant = graph_of(request).tenant
    if drive.owner_kind == "user":
        return identity_set(tenant.users.get(drive.owner_id), drive.owner_id)
    return {"user": {"displayName": "System Account"}}


def download_url(request: Request, drive: Drive, item: DriveItem) -> str:
    graph = graph_of(request)
    expires = graph.tenant.clock.now().timestamp() + graph.download_lifetime_s
    token = graph.signer.seal({"d": drive.id, "i": item.id, "exp": expires})
    return f"{graph.login_base(request)}/_download/{quote(token, safe='')}"


def item_json(
    request: Request, drive: Drive, item: DriveItem, *, in_delta: bool, shared_changed: bool = False
) -> Json:
    tenant = graph_of(request).tenant
    reference: Json = {"driveType": drive.drive_type, "driveId": drive.id}
    if drive.site_id:
        reference["siteId"] = drive.site_id
    if item.deleted:
        body: Json = {"@odata.type": "#microsoft.graph.driveItem", "id": item.id, "eTag": etag(item)}
        body["parentReference"] = {**reference, "id": item.parent_id}
        body["lastModifiedDateTime"] = graph_time(item.modified)
        body["deleted"] = {"state": "deleted"}
        return body
    ancestors = tenant.ancestors(drive, item)
    if item.parent_id is not None:
        reference["id"] = item.parent_id
        reference["name"] = ancestors[-1].name if len(ancestors) > 1 else "root"
        if not in_delta:  # delta never sends paths: clients track items by id
            reference["path"] = tenant.path_of(drive, item)
    names = [a.name for a in ancestors[1:]] + ([item.name] if item.parent_id else [])
    size = len(item.content) if not item.is_folder else _folder_size(request, drive, item)
    body = {
        "@odata.type": "#microsoft.graph.driveItem",
        "createdDateTime": graph_time(item.created),
        "eTag": etag(item),
        "id": item.id,
        "lastModifiedDateTime": graph_time(item.modified),
        "name": item.name,
        "webUrl": drive.web_url + "".join("/" + quote(n) for n in names),
        "cTag": ctag(item),
        "size": size,
        "createdBy": identity_set(tenant.users.get(item.created_by), item.created_by),
        "lastModifiedBy": identity_set(tenant.users.get(item.modified_by), item.modified_by),
        "parentReference": reference,
        "fileSystemInfo": {
            "createdDateTime": graph_time(item.created),
            "lastModifiedDateTime": graph_time(item.modified),
        },
    }
    if item.description:
        body["description"] = item.description
    if item.is_folder:
        body["folder"] = {"childCount": len(tenant.children(drive, item))}
    else:
        body["file"] = {"mimeType": item.mime_type, "hashes": {"quickXorHash": quick_xor_hash(item.content)}}
        body[DOWNLOAD_ANNOTATION] = download_url(request, drive, item)
    if item.parent_id is None:
        body["root"] = {}
    scope = shared_scope([p for holder in [*ancestors, item] for p in holder.permissions])
    if scope is not None:
        body["shared"] = {"scope": scope}
    if shared_changed:
        body[SHARED_CHANGED_ANNOTATION] = "True"
    return body


def _folder_size(request: Request, drive: Drive, folder: DriveItem) -> int:
    tenant = graph_of(request).tenant
    return sum(
        len(c.content) if not c.is_folder else _folder_size(request, drive, c)
        for c in tenant.children(drive, folder)
    )


def selected_item(body: Json, select: list[str] | None) -> Json:
    if select is None:
        return body
    trimmed = select_fields(body, select)
    if SHARED_CHANGED_ANNOTATION in body:  # an annotation of the delta response, not a selectable property
        trimmed[SHARED_CHANGED_ANNOTATION] = body[SHARED_CHANGED_ANNOTATION]
    if (DOWNLOAD_ANNOTATION in select or "content.downloadUrl" in select) and DOWNLOAD_ANNOTATION in body:
        trimmed[DOWNLOAD_ANNOTATION] = body[DOWNLOAD_ANNOTATION]
    return trimmed


# -- handlers -----------------------------------------------------------------------------------------


async def get_drive(request: Request) -> Response:
    drive = resolve_drive(request)
    body = {
        "@odata.context": f"{graph_root(request)}/$metadata#drives/$entity",
        **drive_json(drive, _owner(request, drive)),
    }
    return json_response(request, body, entity="drive")


async def user_drives(request: Request) -> Response:
    drive = resolve_drive(request)
    drives = [drive_json(drive, _owner(request, drive))]
    return collection_page(request, drives, entity="drive", context="drives", default_size=200)


def _item_from_path(request: Request) -> tuple[Drive, DriveItem]:
    drive = resolve_drive(request)
    item_id = request.path_params.get("item_id", "root")
    return drive, graph_of(request).tenant.item(drive.id, item_id)


async def get_item(request: Request) -> Response:
    drive, item = _item_from_path(request)
    body = selected_item(item_json(request, drive, item, in_delta=False), parse_select(request))
    body = {"@odata.context": f"{graph_root(request)}/$metadata#drives('{drive.id}')/items/$entity", **body}
    return json_response(request, body, entity="driveItem")


async def list_children(request: Request) -> Response:
    drive, folder = _item_from_path(request)
    select = parse_select(request)
    tenant = graph_of(request).tenant
    children = [
        selected_item(item_json(request, drive, c, in_delta=False), select)
        for c in tenant.children(drive, folder)
    ]
    return collection_page(request, children, entity="driveItem", context="driveItems", default_size=200)


def _resync_required(request: Request, drive: Drive) -> GraphHTTPError:
    restart = f"{graph_root(request)}/drives/{quote(drive.id, safe='!')}/root/delta"
    return GraphHTTPError(
        410,
        "resyncRequired",
        "Resync required. Replace any local items with the server's version (including deletes) "
        "if you're sure that the service was up to date with your local changes when you last "
        "sync'd. Upload any local changes that the server doesn't know about.",
        inner_code="resyncChangesApplyDifferences",
        headers={"Location": restart},
    )


def _timestamp_token(token: str) -> datetime | None:
    try:
        return datetime.fromisoformat(token.replace("Z", "+00:00"))
    except ValueError:
        return None


async def drive_delta(request: Request) -> Response:
    """GET .../root/delta: the latest state of each changed item (deleted ones with the `deleted`
    facet), each preceded by the folders above it, in pages until a deltaLink."""
    graph = graph_of(request)
    tenant = graph.tenant
    drive = resolve_drive(request)
    scope = drive_scope(drive.id)
    token = request.query_params.get("token")
    options = {
        "select": parse_select(request),
        "size": page_size(request, default=200, maximum=999),
        "sharing": prefers(request, "deltashowsharingchanges"),
        "parents": not prefers(request, "deltaExcludeParent"),
    }
    moment = _timestamp_token(token) if token else None
    if token == "latest":
        cursor = latest_cursor(request, scope, options)
        page: list[DriveItem] = []
        since = cursor.since
    else:
        if moment is not None:
            since = tenant.log.position_at(moment)
            now = tenant.clock.now().timestamp()
            epoch = tenant.log.epoch(scope)
            cursor = Cursor("page", scope, since, tenant.log.seq, since, epoch, now, options)
        else:
            cursor = open_round(request, scope, token, options, gone=lambda: _resync_required(request, drive))
        sharing = bool(cursor.options["sharing"])
        since = cursor.since
        # without the sharing Prefer header, a sharing-only change is not a change (as in OneDrive)
        candidates = [
            (i.seq if sharing else i.meta_seq, i)
            for i in drive.items.values()
            if not (since == 0 and i.deleted)
        ]
        page, cursor = take_page(cursor, candidates, int(cursor.options["size"]))
    value = _with_parents(request, drive, page, cursor, since)
    body: Json = {"@odata.context": f"{graph_root(request)}/$metadata#Collection(driveItem)", "value": value}
    body.update(round_links(request, cursor, next_param="token", delta_param="token"))
    return json_response(request, body, entity="driveItem", collection=True)


def _with_parents(
    request: Request, drive: Drive, page: list[DriveItem], cursor: Cursor, since: int
) -> list[Json]:
    tenant = graph_of(request).tenant
    sharing = bool(cursor.options.get("sharing"))
    select = cursor.options.get("select")
    emitted: set[str] = set()
    value: list[Json] = []
    for item in page:
        chain = (
            tenant.ancestors(drive, item) if cursor.options.get("parents", True) and not item.deleted else []
        )
        for holder in [*chain, item]:
            if holder.id in emitted and holder is not item:
                continue
            emitted.add(holder.id)
            changed = sharing and holder is item and item.shared_changed_seq > since
            value.append(
                selected_item(
                    item_json(request, drive, holder, in_delta=True, shared_changed=changed), select
                )
            )
    return value


async def list_permissions(request: Request) -> Response:
    drive, item = _item_from_path(request)
    select = parse_select(request)
    tenant = graph_of(request).tenant
    permissions = [
        select_fields(permission_json(p), select) for p in tenant.effective_permissions(drive, item)
    ]
    return collection_page(request, permissions, entity="permission", context="permissions", default_size=200)


async def get_content(request: Request) -> Response:
    drive, item = _item_from_path(request)
    if item.is_folder:
        raise GraphHTTPError(404, "itemNotFound", "The item is a folder; only files have content.")
    match = request.headers.get("if-none-match")
    if match in (etag(item), ctag(item)):
        return Response(status_code=304)
    return RedirectResponse(download_url(request, drive, item), status_code=302)


async def download(request: Request) -> Response:
    """The pre-authenticated download URL: no Authorization needed, valid for an hour of fake time."""
    graph = graph_of(request)
    try:
        claims = graph.signer.unseal(request.path_params["token"])
    except InvalidToken:
        return json_response(
            request, error_body("unauthenticated", "Invalid download token."), entity="error", status=401
        )
    if graph.tenant.clock.now().timestamp() > float(claims["exp"]):
        return json_response(
            request,
            error_body("unauthenticated", "The download URL has expired."),
            entity="error",
            status=401,
        )
    try:
        item = graph.tenant.item(str(claims["d"]), str(claims["i"]))
    except KeyError:
        return json_response(
            request, error_body("itemNotFound", "The item was deleted."), entity="error", status=404
        )
    data = item.content
    headers = {"ETag": etag(item), "Accept-Ranges": "bytes"}
    requested = _RANGE.match(request.headers.get("range", ""))
    if requested and data:
        start_text, end_text = requested.groups()
        if start_text:
            start, end = int(start_text), min(int(end_text) if end_text else len(data) - 1, len(data) - 1)
        else:
            start, end = max(0, len(data) - int(end_text or 0)), len(data) - 1
        if start > end:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{len(data)}"})
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Response(data[start : end + 1], status_code=206, headers=headers, media_type=item.mime_type)
    return Response(data, headers=headers, media_type=item.mime_type)


def _drive_routes(prefix: str) -> list[Route]:
    return [
        Route(f"{prefix}", get_drive),
        Route(f"{prefix}/root", get_item),
        Route(f"{prefix}/root/children", list_children),
        Route(f"{prefix}/root/delta", drive_delta),
        Route(f"{prefix}/root/permissions", list_permissions),
        Route(f"{prefix}/items/{{item_id}}", get_item),
        Route(f"{prefix}/items/{{item_id}}/children", list_children),
        Route(f"{prefix}/items/{{item_id}}/permissions", list_permissions),
        Route(f"{prefix}/items/{{item_id}}/content", get_content),
    ]


ROUTES = [
    *_drive_routes("/v1.0/drives/{drive_id}"),
    *_drive_routes("/v1.0/users/{user_id}/drive"),
    *_drive_routes("/v1.0/sites/{site_id}/drive"),
    Route("/v1.0/users/{user_id}/drives", user_drives),
]
