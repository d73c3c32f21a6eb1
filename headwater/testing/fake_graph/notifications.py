"""Change notifications: /subscriptions (create with the validationToken handshake, renew, delete)
and delivery of change notifications for the tenant's changes to each subscription's notificationUrl.

Delivery is explicit (`await graph.notifications.deliver()`), so tests decide when notifications
arrive. Drive subscriptions get one `updated` notification per drive and delivery, without item
details (as OneDrive sends them: the receiver calls delta); mail, user and group subscriptions get
one notification per changed object with `resourceData`. A subscription created with
`Prefer: IdType="ImmutableId"` names messages by their immutable ids, as Graph's do."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from headwater.testing.fake_graph.changelog import GROUPS, USERS, Scope, drive_scope, graph_time, mail_scope
from headwater.testing.fake_graph.model import Subscription
from headwater.testing.fake_graph.odata import GraphHTTPError, Json, graph_of, graph_root, json_response
from headwater.testing.fake_graph.routes_mail import wants_immutable_ids
from headwater.testing.fake_graph.serialize import change_key, subscription_json

if TYPE_CHECKING:
    from headwater.testing.fake_graph.app import FakeGraph

# Maximum subscription lifetimes in minutes (Graph's subscription resource documentation).
MAX_MINUTES = {"drive": 42300, "mail": 4230, "mailbox": 4230, "users": 41760, "groups": 41760}
VALIDATION_TIMEOUT_S = 10.0

_DRIVE = re.compile(
    r"^(?:drives/(?P<drive>[^/]+)|users/(?P<user>[^/]+)/drive|sites/(?P<site>[^/]+)/drive)/root$"
)
_FOLDER = re.compile(
    r"^users/(?P<user>[^/]+)/mailFolders(?:\('(?P<q>[^']+)'\)|/(?P<p>[^/]+))/messages$", re.I
)
_MAILBOX = re.compile(r"^users/(?P<user>[^/]+)/messages$", re.I)


def parse_resource(graph: FakeGraph, resource: str) -> Scope:
    """The change-log scope a subscription resource listens to; 400 for resources the fake lacks."""
    tenant = graph.tenant
    path = resource.strip().strip("/")
    try:
        if match := _DRIVE.match(path):
            if match["drive"]:
                return drive_scope(tenant.drive(match["drive"]).id)
            if match["user"]:
                return drive_scope(tenant.drive_of(match["user"]).id)
            return drive_scope(tenant.site(match["site"]).drive_ids[0])
        if match := _FOLDER.match(path):
            folder = tenant.mail_folder(match["user"], match["q"] or match["p"])
            return mail_scope(folder.user_id, folder.id)
        if match := _MAILBOX.match(path):
            return ("mailbox", tenant.user(match["user"]).id)
    except KeyError as exc:
        raise GraphHTTPError(
            404, "ResourceNotFound", f"The subscription resource {resource!r} was not found."
        ) from exc
    if path.lower() in ("users", "groups"):
        return USERS if path.lower() == "users" else GROUPS
    raise GraphHTTPError(
        400, "InvalidRequest", f"Resource {resource!r} is not supported for subscriptions by the fake."
    )


class Notifier:
    """Sends validation handshakes and change notifications through `client`."""

    def __init__(self, graph: FakeGraph, client: httpx.AsyncClient | None) -> None:
        self._graph = graph
        self.client = client
        self._delivered_seq = 0
        self.deliveries: list[tuple[str, int]] = []  # (notificationUrl, HTTP status) per POST
        self.immutable_id_subscriptions: set[str] = set()
        # subscription id -> the change-log position when it was created: earlier changes are not its
        self.created_at_seq: dict[str, int] = {}

    async def handshake(self, url: str) -> None:
        if self.client is None:
            raise GraphHTTPError(
                400, "InvalidRequest", "The fake has no webhook_client to reach the notificationUrl."
            )
        token = (
            f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        )
        try:
            answer = await self.client.post(
                url,
                params={"validationToken": token},
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=VALIDATION_TIMEOUT_S,
            )
        except httpx.HTTPError as exc:
            raise _validation_failed(f"the endpoint could not be reached ({type(exc).__name__})") from exc
        if answer.status_code != 200:
            raise _validation_failed(f"it answered {answer.status_code}")
        if not answer.headers.get("content-type", "").startswith("text/plain") or answer.text != token:
            raise _validation_failed("it did not echo the validationToken as text/plain")

    def pending(self) -> list[tuple[Subscription, Json]]:
        """The notifications that `deliver` would send now."""
        graph = self._graph
        tenant = graph.tenant
        now = tenant.clock.now()
        found: list[tuple[Subscription, Json]] = []
        drives_notified: set[str] = set()
        for event in tenant.log.events_since(self._delivered_seq):
            for sub in tenant.subscriptions.values():
                if sub.expiration <= now or not _matches(sub.scope, event.scope):
                    continue
                if event.seq <= self.created_at_seq.get(sub.id, 0):
                    continue
                if sub.scope[0] == "drive":
                    if sub.id in drives_notified:
                        continue
                    drives_notified.add(sub.id)
                    found.append((sub, self._notification(sub, "updated", sub.resource.strip("/"), None)))
                    continue
                change = event.change_type
                if change not in sub.change_type.split(","):
                    continue
                found.append((sub, self._object_notification(sub, event.scope, change, event.object_id)))
        return found

    def _object_notification(self, sub: Subscription, scope: Scope, change: str, object_id: str) -> Json:
        tenant = self._graph.tenant
        if scope[0] == "mail":
            mailbox = tenant.mailboxes[scope[1]]
            message = mailbox.messages.get(object_id)
            if sub.id in self.immutable_id_subscriptions:
                folder = mailbox.folders[scope[2]]
                removed = folder.removed_immutable_ids.get(object_id, object_id)
                object_id = message.immutable_id if message is not None else removed
            resource = f"Users/{scope[1]}/Messages/{object_id}"
            data: Json = {"@odata.type": "#Microsoft.Graph.Message", "@odata.id": resource, "id": object_id}
            if message is not None:
                data["@odata.etag"] = f'W/"{change_key(message)}"'
        else:
            kind = "User" if scope == USERS else "Group"
            resource = f"{kind}s/{object_id}"
            data = {"@odata.type": f"#Microsoft.Graph.{kind}", "@odata.id": resource, "id": object_id}
        return self._notification(sub, change, resource, data)

    def _notification(self, sub: Subscription, change: str, resource: str, data: Json | None) -> Json:
        body: Json = {
            "id": str(uuid.uuid4()),
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_time(sub.expiration),
            "changeType": change,
            "resource": resource,
            "tenantId": self._graph.tenant.tenant_id,
        }
        if sub.client_state is not None:
            body["clientState"] = sub.client_state
        if data is not None:
            body["resourceData"] = data
        return body

    async def deliver(self) -> list[tuple[str, int]]:
        """POST every pending notification, batched per notificationUrl; returns (url, status) pairs."""
        batches: dict[str, list[Json]] = {}
        for sub, notification in self.pending():
            batches.setdefault(sub.notification_url, []).append(notification)
        self._delivered_seq = self._graph.tenant.log.seq
        return [await self._post(url, {"value": items}) for url, items in batches.items()]

    async def send_lifecycle(self, subscription_id: str, event: str) -> tuple[str, int]:
        """A lifecycle notification ("reauthorizationRequired", "subscriptionRemoved", "missed")."""
        sub = self._graph.tenant.subscriptions[subscription_id]
        if sub.lifecycle_notification_url is None:
            raise ValueError(f"subscription {subscription_id!r} has no lifecycleNotificationUrl")
        item = self._notification(sub, "updated", sub.resource.strip("/"), None)
        item.pop("changeType")
        item["lifecycleEvent"] = event
        return await self._post(sub.lifecycle_notification_url, {"value": [item]})

    async def _post(self, url: str, body: Json) -> tuple[str, int]:
        validator = self._graph.validator
        if validator is not None:
            validator.check_entity("changeNotificationCollection", body, where=f"POST {url}")
        if self.client is None:
            raise RuntimeError("FakeGraph(webhook_client=...) is needed to deliver notifications")
        answer = await self.client.post(url, json=body, timeout=VALIDATION_TIMEOUT_S)
        self.deliveries.append((url, answer.status_code))
        return url, answer.status_code


def _matches(listening: Scope, changed: Scope) -> bool:
    if listening[0] == "mailbox":
        return changed[0] == "mail" and changed[1] == listening[1]
    return listening == changed


def _validation_failed(why: str) -> GraphHTTPError:
    return GraphHTTPError(
        400,
        "InvalidRequest",
        "Subscription validation request failed. Notification endpoint must respond with 200 OK "
        f"to validation request ({why}).",
    )


def _expiration(graph: FakeGraph, value: Any, scope: Scope) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphHTTPError(
            400, "InvalidRequest", f"expirationDateTime {value!r} is not a date-time."
        ) from exc
    if moment.tzinfo is None:
        raise GraphHTTPError(
            400, "InvalidRequest", "expirationDateTime needs a time zone (e.g. a trailing Z)."
        )
    now = graph.tenant.clock.now()
    limit = MAX_MINUTES[scope[0]]
    if moment <= now:
        raise GraphHTTPError(400, "InvalidRequest", "Subscription expiration can only be in the future.")
    if moment > now + timedelta(minutes=limit):
        raise GraphHTTPError(
            400, "InvalidRequest", f"Subscription expiration can only be {limit} minutes in the future."
        )
    return moment


async def create_subscription(request: Request) -> Response:
    graph = graph_of(request)
    body = await request.json()
    for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
        if not body.get(name):
            raise GraphHTTPError(400, "InvalidRequest", f"The property '{name}' is required.")
    scope = parse_resource(graph, body["resource"])
    change_type = str(body["changeType"])
    if scope[0] == "drive" and change_type != "updated":
        raise GraphHTTPError(
            400, "InvalidRequest", "driveItem subscriptions support changeType 'updated' only."
        )
    if not set(change_type.split(",")) <= {"created", "updated", "deleted"}:
        raise GraphHTTPError(400, "InvalidRequest", f"Invalid changeType {change_type!r}.")
    expiration = _expiration(graph, body["expirationDateTime"], scope)
    await graph.notifications.handshake(body["notificationUrl"])
    if body.get("lifecycleNotificationUrl"):
        await graph.notifications.handshake(body["lifecycleNotificationUrl"])
    sub = Subscription(
        id=str(uuid.uuid4()),
        resource=body["resource"],
        change_type=change_type,
        notification_url=body["notificationUrl"],
        client_state=body.get("clientState"),
        expiration=expiration,
        scope=scope,
        lifecycle_notification_url=body.get("lifecycleNotificationUrl"),
    )
    graph.tenant.subscriptions[sub.id] = sub
    graph.notifications.created_at_seq[sub.id] = graph.tenant.log.seq
    if wants_immutable_ids(request):
        graph.notifications.immutable_id_subscriptions.add(sub.id)
    out = {
        "@odata.context": f"{graph_root(request)}/$metadata#subscriptions/$entity",
        **subscription_json(sub, graph.client_id),
    }
    return json_response(request, out, entity="subscription", status=201)


def _live_subscription(request: Request) -> Subscription:
    graph = graph_of(request)
    sub = graph.tenant.subscriptions.get(request.path_params["subscription_id"])
    if sub is None or sub.expiration <= graph.tenant.clock.now():
        raise GraphHTTPError(404, "ResourceNotFound", "The object was not found.")
    return sub


async def subscription_by_id(request: Request) -> Response:
    graph = graph_of(request)
    sub = _live_subscription(request)
    if request.method == "DELETE":
        del graph.tenant.subscriptions[sub.id]
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await request.json()
        sub.expiration = _expiration(graph, body.get("expirationDateTime"), sub.scope)
    return json_response(request, subscription_json(sub, graph.client_id), entity="subscription")


async def list_subscriptions(request: Request) -> Response:
    graph = graph_of(request)
    now = graph.tenant.clock.now()
    value = [
        subscription_json(s, graph.client_id)
        for s in graph.tenant.subscriptions.values()
        if s.expiration > now
    ]
    body = {"@odata.context": f"{graph_root(request)}/$metadata#subscriptions", "value": value}
    return json_response(request, body, entity="subscription", collection=True)


ROUTES = [
    Route("/v1.0/subscriptions", create_subscription, methods=["POST"]),
    Route("/v1.0/subscriptions", list_subscriptions, methods=["GET"]),
    Route("/v1.0/subscriptions/{subscription_id}", subscription_by_id, methods=["GET", "PATCH", "DELETE"]),
]
