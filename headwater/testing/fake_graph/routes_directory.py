"""Users and groups: lists, delta (with `@removed` and `members@delta`), direct and transitive members."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from headwater.testing.fake_graph.changelog import GROUPS, USERS
from headwater.testing.fake_graph.model import Group, User
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
from headwater.testing.fake_graph.serialize import USER_DEFAULT, group_json, user_json

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
USER_FIELDS = tuple(user_json(User("", "", "", None, None, None, None, _EPOCH, 0)))
GROUP_FIELDS = (*group_json(Group("", "", None, None, False, False, [], None, _EPOCH, 0)), "members")
GROUP_DEFAULT = tuple(f for f in GROUP_FIELDS if f != "members")


def _directory_gone() -> GraphHTTPError:
    return GraphHTTPError(
        410,
        "SyncStateNotFound",
        "The sync state generation is not found; the delta token has expired. "
        "Restart the sync without a token.",
    )


def _user_out(user: User, select: list[str] | None) -> Json:
    return select_fields(user_json(user), select, USER_DEFAULT)


def _member_out(request: Request, member_id: str, select: list[str] | None) -> Json:
    tenant = graph_of(request).tenant
    if member_id in tenant.users:
        body = _user_out(tenant.users[member_id], select)
        return {"@odata.type": "#microsoft.graph.user", **body}
    body = select_fields(group_json(tenant.groups[member_id]), select, GROUP_DEFAULT)
    return {"@odata.type": "#microsoft.graph.group", **body}


async def list_users(request: Request) -> Response:
    reject_unsupported(request, "$filter", "$search", "$orderby")
    select = parse_select(request, USER_FIELDS, "user")
    users = [_user_out(u, select) for u in graph_of(request).tenant.active_users()]
    return collection_page(request, users, entity="user", context="users", default_size=100)


async def get_user(request: Request) -> Response:
    select = parse_select(request, USER_FIELDS, "user")
    user = graph_of(request).tenant.user(request.path_params["user_id"])
    body = {"@odata.context": f"{graph_root(request)}/$metadata#users/$entity", **_user_out(user, select)}
    return json_response(request, body, entity="user")


async def users_delta(request: Request) -> Response:
    reject_unsupported(request, "$top", "$orderby", "$filter", "$search")
    tenant = graph_of(request).tenant
    token = request.query_params.get("$skiptoken") or request.query_params.get("$deltatoken")
    options = {
        "select": parse_select(request, USER_FIELDS, "user"),
        "size": page_size(request, default=100, maximum=999),
    }
    if token == "latest":
        cursor = latest_cursor(request, USERS, options)
        page: list[User] = []
    else:
        cursor = open_round(request, USERS, token, options, gone=_directory_gone)
        candidates = [(u.seq, u) for u in tenant.users.values() if not (cursor.since == 0 and u.removed)]
        page, cursor = take_page(cursor, candidates, int(cursor.options["size"]))
    value = [
        {"id": u.id, "@removed": {"reason": u.removed}}
        if u.removed
        else _user_out(u, cursor.options.get("select"))
        for u in page
    ]
    body: Json = {"@odata.context": f"{graph_root(request)}/$metadata#users", "value": value}
    body.update(round_links(request, cursor, next_param="$skiptoken", delta_param="$deltatoken"))
    return json_response(request, body, entity="user", collection=True)


async def list_groups(request: Request) -> Response:
    reject_unsupported(request, "$filter", "$search", "$orderby")
    select = parse_select(request, GROUP_FIELDS, "group")
    groups = [
        select_fields(group_json(g), select, GROUP_DEFAULT) for g in graph_of(request).tenant.active_groups()
    ]
    return collection_page(request, groups, entity="group", context="groups", default_size=100)


async def get_group(request: Request) -> Response:
    select = parse_select(request, GROUP_FIELDS, "group")
    group = graph_of(request).tenant.group(request.path_params["group_id"])
    body = {
        "@odata.context": f"{graph_root(request)}/$metadata#groups/$entity",
        **select_fields(group_json(group), select, GROUP_DEFAULT),
    }
    return json_response(request, body, entity="group")


def _group_delta_json(group: Group, since: int, select: list[str] | None, with_members: bool) -> Json:
    if group.removed:
        return {"id": group.id, "@removed": {"reason": group.removed}}
    body = select_fields(
        group_json(group), [s for s in select if s != "members"] if select else None, GROUP_DEFAULT
    )
    if with_members:
        members: list[Json] = []
        if since == 0:
            members = [
                {"@odata.type": f"#microsoft.graph.{kind}", "id": mid} for mid, kind in group.members.items()
            ]
        else:
            for member_id, change in sorted(group.member_changes.items(), key=lambda c: c[1].seq):
                if change.seq <= since:
                    continue
                entry: Json = {"@odata.type": f"#microsoft.graph.{change.kind}", "id": member_id}
                if not change.present:
                    entry["@removed"] = {"reason": "deleted"}
                members.append(entry)
        body["members@delta"] = members
    return body


async def groups_delta(request: Request) -> Response:
    reject_unsupported(request, "$top", "$orderby", "$filter", "$search")
    tenant = graph_of(request).tenant
    token = request.query_params.get("$skiptoken") or request.query_params.get("$deltatoken")
    select = parse_select(request, GROUP_FIELDS, "group")
    expand = request.query_params.get("$expand", "")
    with_members = bool(select and "members" in select) or expand.split("(")[0] == "members"
    options = {
        "select": select,
        "members": with_members,
        "size": page_size(request, default=100, maximum=999),
    }
    if token == "latest":
        cursor = latest_cursor(request, GROUPS, options)
        page: list[Group] = []
        since = cursor.since
    else:
        cursor = open_round(request, GROUPS, token, options, gone=_directory_gone)
        since = cursor.since
        candidates = [(g.seq, g) for g in tenant.groups.values() if not (since == 0 and g.removed)]
        page, cursor = take_page(cursor, candidates, int(cursor.options["size"]))
    value = [
        _group_delta_json(g, since, cursor.options.get("select"), bool(cursor.options.get("members")))
        for g in page
    ]
    body: Json = {"@odata.context": f"{graph_root(request)}/$metadata#groups", "value": value}
    body.update(round_links(request, cursor, next_param="$skiptoken", delta_param="$deltatoken"))
    return json_response(request, body, entity="group", collection=True)


async def group_members(request: Request) -> Response:
    tenant = graph_of(request).tenant
    group = tenant.group(request.path_params["group_id"])
    select = parse_select(request)
    transitive = request.url.path.endswith("/transitiveMembers")
    member_ids = [m for m, _ in tenant.transitive_members(group.id)] if transitive else list(group.members)
    members = [_member_out(request, m, select) for m in member_ids]
    return collection_page(
        request, members, entity="directoryObject", context="directoryObjects", default_size=100
    )


ROUTES = [
    Route("/v1.0/users", list_users),
    Route("/v1.0/users/delta", users_delta),
    Route("/v1.0/users/{user_id}", get_user),
    Route("/v1.0/groups", list_groups),
    Route("/v1.0/groups/delta", groups_delta),
    Route("/v1.0/groups/{group_id}", get_group),
    Route("/v1.0/groups/{group_id}/members", group_members),
    Route("/v1.0/groups/{group_id}/transitiveMembers", group_members),
]
