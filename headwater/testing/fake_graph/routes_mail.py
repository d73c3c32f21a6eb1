"""Outlook: mail folders (+ childFolders), messages, per-folder message delta with `@removed`, attachments.

Ids in paths are taken as returned or in their REST form (see `mail.py`); message ids in answers are the
immutable ones when the request says `Prefer: IdType="ImmutableId"`, as Graph does."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from headwater.testing.fake_graph.changelog import mail_scope
from headwater.testing.fake_graph.mail import rest_id
from headwater.testing.fake_graph.model import Attachment, MailFolder, Message
from headwater.testing.fake_graph.odata import (
    GraphHTTPError,
    Json,
    collection_page,
    graph_of,
    graph_root,
    json_response,
    latest_cursor,
    open_round,
    page_size,
    parse_select,
    reject_unsupported,
    round_links,
    select_fields,
    take_page,
)
from headwater.testing.fake_graph.serialize import attachment_json, mail_folder_json, message_json

OWA = "https://outlook.office365.com/owa/"


def _folder_out(request: Request, folder: MailFolder) -> Json:
    tenant = graph_of(request).tenant
    messages = tenant.folder_messages(folder.user_id, folder.id)
    return mail_folder_json(
        folder,
        child_count=len(tenant.child_folders(folder.user_id, folder.id)),
        total=len(messages),
        unread=sum(not m.is_read for m in messages),
    )


async def list_folders(request: Request) -> Response:
    """GET /users/{id}/mailFolders (top level) and /users/{id}/mailFolders/{id}/childFolders."""
    tenant = graph_of(request).tenant
    user_id = request.path_params["user_id"]
    mailbox = tenant.mailbox(user_id)
    parent = (
        tenant.mail_folder(user_id, request.path_params["folder_id"]).id
        if "folder_id" in request.path_params
        else mailbox.root_id
    )
    hidden = request.query_params.get("includeHiddenFolders", "").lower() == "true"
    select = parse_select(request)
    folders = [
        select_fields(_folder_out(request, f), select)
        for f in tenant.child_folders(user_id, parent)
        if hidden or not f.is_hidden
    ]
    return collection_page(request, folders, entity="mailFolder", context="mailFolders", default_size=10)


async def get_folder(request: Request) -> Response:
    tenant = graph_of(request).tenant
    folder = tenant.mail_folder(request.path_params["user_id"], request.path_params["folder_id"])
    return json_response(
        request, select_fields(_folder_out(request, folder), parse_select(request)), entity="mailFolder"
    )


def wants_immutable_ids(request: Request) -> bool:
    """Whether the request carries `Prefer: IdType="ImmutableId"` (among other Prefer values)."""
    prefer = ",".join(request.headers.getlist("prefer")).replace(" ", "").lower()
    return 'idtype="immutableid"' in prefer


def _message_out(message: Message, select: list[str] | None, immutable: bool = False) -> Json:
    body = select_fields(message_json(message, OWA), select)
    if immutable:
        body["id"] = message.immutable_id
    return {"@odata.type": "#microsoft.graph.message", **body}


async def list_messages(request: Request) -> Response:
    tenant = graph_of(request).tenant
    user_id = request.path_params["user_id"]
    folder = tenant.mail_folder(user_id, request.path_params["folder_id"])
    select = parse_select(request)
    immutable = wants_immutable_ids(request)
    messages = [_message_out(m, select, immutable) for m in tenant.folder_messages(user_id, folder.id)]
    messages.reverse()  # newest first, as Outlook lists them
    return collection_page(
        request, messages, entity="message", context="messages", default_size=10, maximum=1000
    )


async def get_message(request: Request) -> Response:
    tenant = graph_of(request).tenant
    message = tenant.message(request.path_params["user_id"], request.path_params["message_id"])
    out = _message_out(message, parse_select(request), wants_immutable_ids(request))
    return json_response(request, out, entity="message")


def _sync_state_gone() -> GraphHTTPError:
    return GraphHTTPError(
        410,
        "SyncStateNotFound",
        "The sync state generation is not found; the delta token has expired. Restart the sync.",
    )


async def messages_delta(request: Request) -> Response:
    """GET /users/{id}/mailFolders/{id}/messages/delta: messages created or changed since the last
    round, and `{"id", "@removed": {"reason": "deleted"}}` for those deleted or moved away."""
    reject_unsupported(request, "$filter", "$orderby", "$search", "changeType")
    tenant = graph_of(request).tenant
    user_id = request.path_params["user_id"]
    folder = tenant.mail_folder(user_id, request.path_params["folder_id"])
    scope = mail_scope(folder.user_id, folder.id)
    token = request.query_params.get("$skiptoken") or request.query_params.get("$deltatoken")
    page: list[Message | str] = []
    options = {"select": parse_select(request), "size": page_size(request, default=10, maximum=1000)}
    if token == "latest":
        cursor = latest_cursor(request, scope, options)
    else:
        cursor = open_round(request, scope, token, options, gone=_sync_state_gone)
        since = cursor.since
        candidates: list[tuple[int, Message | str]] = [
            (m.seq, m) for m in tenant.folder_messages(user_id, folder.id)
        ]
        if since > 0:
            candidates += [(seq, message_id) for message_id, seq in folder.removed_messages.items()]
        page, cursor = take_page(cursor, candidates, int(cursor.options["size"]))
    select = cursor.options.get("select")
    immutable = wants_immutable_ids(request)
    value = [
        {
            "@odata.type": "#microsoft.graph.message",
            "id": folder.removed_immutable_ids.get(m, m) if immutable else m,
            "@removed": {"reason": "deleted"},
        }
        if isinstance(m, str)
        else _message_out(m, select, immutable)
        for m in page
    ]
    body: Json = {"@odata.context": f"{graph_root(request)}/$metadata#Collection(message)", "value": value}
    body.update(round_links(request, cursor, next_param="$skiptoken", delta_param="$deltatoken"))
    return json_response(request, body, entity="message", collection=True)


async def list_attachments(request: Request) -> Response:
    tenant = graph_of(request).tenant
    message = tenant.message(request.path_params["user_id"], request.path_params["message_id"])
    select = parse_select(request)
    attachments = [select_fields(attachment_json(a), select) for a in message.attachments]
    return collection_page(
        request, attachments, entity="fileAttachment", context="attachments", default_size=100
    )


def _attachment(request: Request) -> Attachment:
    tenant = graph_of(request).tenant
    message = tenant.message(request.path_params["user_id"], request.path_params["message_id"])
    wanted = rest_id(request.path_params["attachment_id"])
    for attachment in message.attachments:
        if rest_id(attachment.id) == wanted:
            return attachment
    raise GraphHTTPError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


async def attachment_value(request: Request) -> Response:
    attachment = _attachment(request)
    return Response(attachment.content, media_type=attachment.content_type)


async def get_attachment(request: Request) -> Response:
    return json_response(request, attachment_json(_attachment(request)), entity="fileAttachment")


ROUTES = [
    Route("/v1.0/users/{user_id}/mailFolders", list_folders),
    Route("/v1.0/users/{user_id}/mailFolders/{folder_id}", get_folder),
    Route("/v1.0/users/{user_id}/mailFolders/{folder_id}/childFolders", list_folders),
    Route("/v1.0/users/{user_id}/mailFolders/{folder_id}/messages", list_messages),
    Route("/v1.0/users/{user_id}/mailFolders/{folder_id}/messages/delta", messages_delta),
    Route("/v1.0/users/{user_id}/messages/{message_id}", get_message),
    Route("/v1.0/users/{user_id}/messages/{message_id}/attachments", list_attachments),
    Route("/v1.0/users/{user_id}/messages/{message_id}/attachments/{attachment_id}", get_attachment),
    Route("/v1.0/users/{user_id}/messages/{message_id}/attachments/{attachment_id}/$value", attachment_value),
]
