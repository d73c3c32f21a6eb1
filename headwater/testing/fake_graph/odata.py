"""The OData conventions every endpoint shares: error envelope, $select/$top, paged collections with
opaque `$skiptoken` next links, and delta rounds (`@odata.nextLink` ... `@odata.deltaLink`, expiry → 410)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from headwater.testing.fake_graph.changelog import Scope, graph_time
from headwater.testing.fake_graph.tokens import Cursor, InvalidToken

if TYPE_CHECKING:
    from headwater.testing.fake_graph.app import FakeGraph

Json = dict[str, Any]
T = TypeVar("T")

JSON_MEDIA_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)
_MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)")


class GraphHTTPError(Exception):
    """Answered as Graph's error envelope `{"error": {"code", "message", "innerError"}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        inner_code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.inner_code = inner_code
        self.headers = headers or {}


def graph_of(request: Request) -> FakeGraph:
    graph: FakeGraph = request.app.state.graph
    return graph


def graph_root(request: Request) -> str:
    """`{base}/v1.0`: the fake's own base URL, as configured or as the client addressed it."""
    base = graph_of(request).base_url or f"{request.url.scheme}://{request.url.netloc}"
    return base.rstrip("/") + "/v1.0"


def error_body(code: str, message: str, inner_code: str | None = None) -> Json:
    inner: Json = {
        "date": graph_time(datetime.now(UTC)),
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    if inner_code:
        inner = {"code": inner_code, **inner}
    return {"error": {"code": code, "message": message, "innerError": inner}}


def json_response(
    request: Request,
    body: Json,
    *,
    entity: str | None,
    collection: bool = False,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Every JSON answer goes through here, so the validator (when on) sees all of them."""
    validator = graph_of(request).validator
    if validator is not None and entity is not None:
        where = f"{request.method} {request.url.path} -> {status}"
        if collection:
            validator.check_collection(entity, body, where=where)
        else:
            validator.check_entity(entity, body, where=where)
    return Response(json.dumps(body), status_code=status, headers=headers, media_type=JSON_MEDIA_TYPE)


def error_response(request: Request, error: GraphHTTPError) -> Response:
    body = error_body(error.code, error.message, error.inner_code)
    return json_response(request, body, entity="error", status=error.status, headers=error.headers)


# -- query options ----------------------------------------------------------------------------------


def reject_unsupported(request: Request, *options: str) -> None:
    for option in options:
        if option in request.query_params:
            raise GraphHTTPError(
                400,
                "invalidRequest",
                f"The query option '{option}' is not supported by this endpoint of the fake.",
            )


def parse_select(request: Request, known: Sequence[str] | None = None, entity: str = "") -> list[str] | None:
    raw = request.query_params.get("$select") or request.query_params.get("select")
    if not raw:
        return None
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    if known is not None:
        for name in fields:
            if name not in known and not name.startswith("@"):
                raise GraphHTTPError(
                    400,
                    "Request_BadRequest",
                    f"Could not find a property named '{name}' on type 'microsoft.graph.{entity}'.",
                )
    return fields


def select_fields(full: Json, select: Sequence[str] | None, defaults: Sequence[str] | None = None) -> Json:
    """Only the selected properties (id always), or the type's default set, or everything."""
    if select:
        keep = {"id", *select}
    elif defaults:
        keep = set(defaults)
    else:
        return full
    return {
        k: v for k, v in full.items() if k in keep or (k.startswith("@odata.") and k != "@odata.nextLink")
    }


def page_size(request: Request, *, default: int, maximum: int) -> int:
    """$top, else `Prefer: odata.maxpagesize=N`, else the default; never above the fake's cap."""
    size = default
    top = request.query_params.get("$top") or request.query_params.get("top")
    prefer = _MAXPAGESIZE.search(request.headers.get("prefer", ""))
    try:
        if top is not None:
            size = int(top)
        elif prefer:
            size = int(prefer.group(1))
    except ValueError as exc:
        raise GraphHTTPError(400, "invalidRequest", f"Invalid $top value {top!r}.") from exc
    if size < 1:
        raise GraphHTTPError(400, "invalidRequest", "$top must be a positive number.")
    size = min(size, maximum)
    cap = graph_of(request).page_size_cap
    return min(size, cap) if cap else size


def prefers(request: Request, token: str) -> bool:
    return token.lower() in request.headers.get("prefer", "").lower()


# -- ordinary collections ---------------------------------------------------------------------------


def collection_page(
    request: Request,
    items: Sequence[Json],
    *,
    entity: str,
    context: str,
    default_size: int,
    maximum: int = 999,
) -> Response:
    """One page of a list endpoint; the next link carries an opaque `$skiptoken` bound to the path."""
    graph = graph_of(request)
    scope: Scope = ("list", request.url.path)
    token = request.query_params.get("$skiptoken")
    if token:
        cursor = decode(request, token, scope)
    else:
        cursor = Cursor(
            kind="list",
            scope=scope,
            options={"size": page_size(request, default=default_size, maximum=maximum)},
        )
    size = int(cursor.options["size"])
    page = list(items[cursor.after : cursor.after + size])
    body: Json = {"@odata.context": f"{graph_root(request)}/$metadata#{context}", "value": page}
    if cursor.after + size < len(items):
        following = replace(cursor, after=cursor.after + size)
        body["@odata.nextLink"] = link(request, "$skiptoken", graph.signer.encode(following))
    return json_response(request, body, entity=entity, collection=True)


def decode(request: Request, token: str, scope: Scope) -> Cursor:
    try:
        return graph_of(request).signer.decode(token, scope=scope)
    except InvalidToken as exc:
        raise GraphHTTPError(400, "invalidRequest", f"Invalid token: {exc}.") from exc


def link(request: Request, param: str, token: str) -> str:
    path = request.url.path.removeprefix("/v1.0")
    return f"{graph_root(request)}{path}?{param}={quote(token, safe='')}"


# -- delta rounds -----------------------------------------------------------------------------------


def open_round(
    request: Request, scope: Scope, token: str | None, options: Json, *, gone: Callable[[], GraphHTTPError]
) -> Cursor:
    """The cursor a delta call continues: a fresh full enumeration, a page of a round in progress,
    or a new round after a previous deltaLink. Expired tokens raise `gone()` (410)."""
    graph = graph_of(request)
    log = graph.tenant.log
    now = graph.tenant.clock.now().timestamp()
    if token is None:
        return Cursor(
            kind="page", scope=scope, upto=log.seq, epoch=log.epoch(scope), issued=now, options=options
        )
    cursor = decode(request, token, scope)
    lifetime = graph.tenant.delta_token_lifetime
    if cursor.epoch != log.epoch(scope) or (
        lifetime is not None and now - cursor.issued > lifetime.total_seconds()
    ):
        raise gone()
    if cursor.kind == "page":
        return cursor
    return replace(cursor, kind="page", upto=log.seq, after=cursor.since, issued=now)


def latest_cursor(request: Request, scope: Scope, options: Json) -> Cursor:
    """`token=latest` / `$deltatoken=latest`: no backlog, changes from now on."""
    graph = graph_of(request)
    log = graph.tenant.log
    now = graph.tenant.clock.now().timestamp()
    return Cursor(
        kind="delta",
        scope=scope,
        since=log.seq,
        upto=log.seq,
        epoch=log.epoch(scope),
        issued=now,
        options=options,
    )


def take_page(cursor: Cursor, candidates: Sequence[tuple[int, T]], size: int) -> tuple[list[T], Cursor]:
    """The next `size` objects of the round (by seq) and the cursor after them: kind "page" when more
    remain, kind "delta" (position = the round's snapshot) when the round is complete."""
    pool = sorted((c for c in candidates if cursor.after < c[0] <= cursor.upto), key=lambda c: c[0])
    page = pool[:size]
    if len(pool) > size:
        return [obj for _, obj in page], replace(cursor, after=page[-1][0])
    finished = replace(cursor, kind="delta", since=cursor.upto, after=cursor.upto)
    return [obj for _, obj in page], finished


def round_links(request: Request, cursor: Cursor, *, next_param: str, delta_param: str) -> Json:
    graph = graph_of(request)
    if cursor.kind == "delta":
        cursor = replace(cursor, issued=graph.tenant.clock.now().timestamp())
        return {"@odata.deltaLink": link(request, delta_param, graph.signer.encode(cursor))}
    return {"@odata.nextLink": link(request, next_param, graph.signer.encode(cursor))}
