"""The webhook receiver: what `POST /api/v1/webhooks/microsoft` does, without the web framework.

* `?validationToken=...` (Graph checking the URL when a subscription is created): answer 200,
  text/plain, the token itself — nothing else is looked at.
* otherwise a JSON `{"value": [notification, ...]}`: each notification is believed only if its
  `clientState` equals (constant-time) the secret stored with its subscription; one from an unknown
  subscription or with another clientState is dropped and counted, and causes nothing. A believed one
  marks its scope pending (`pending.mark_pending`) and asks for one sync of its connector instance,
  through the sync engine's ordinary request path; the instance's incremental sync then syncs the
  pending scopes only. Lifecycle notifications: "missed" marks the scope pending too;
  "subscriptionRemoved" and "reauthorizationRequired" forget the subscription, so the next
  reconcile creates it again (polling covers the gap).
* The answer is 202 once the notifications are recorded (Graph wants an answer within 3 s: the sync
  itself runs later, in a worker); a body that is not a notification collection is 400.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from headwater.clients.microsoft.notifications import validation_response, verify_client_state
from headwater.connectors.core.instances import get_instance
from headwater.connectors.sources.microsoft.notifications.pending import mark_pending
from headwater.connectors.sources.microsoft.notifications.registry import ConfigLike, SubscriptionRegistry
from headwater.store.base import GraphStore

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1 << 20
FORGET_EVENTS = frozenset({"subscriptionremoved", "reauthorizationrequired"})


@dataclass
class WebhookAnswer:
    """What to answer Graph: a status, a media type and a body."""

    status: int
    media_type: str = "application/json"
    body: str = ""
    accepted: int = 0
    rejected: int = 0
    syncs_requested: list[str] = field(default_factory=list)


@dataclass
class RejectedCounter:
    """Notifications dropped since start (unknown subscription or wrong clientState): a forged or
    stale delivery shows up here and in the log, never as a sync."""

    total: int = 0


REJECTED = RejectedCounter()


STRING_FIELDS = ("subscriptionId", "clientState", "changeType", "resource", "lifecycleEvent", "tenantId")


def notification_values(body: bytes) -> list[dict[str, Any]] | None:
    """The notifications of a delivery, or None when the body is not a change notification collection
    (`{"value": [object, ...]}`, with string fields where Graph sends strings)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    values = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(values, list):
        return None
    for item in values:
        if not isinstance(item, dict):
            return None
        if any(name in item and not isinstance(item[name], str) for name in STRING_FIELDS):
            return None
    return values


async def receive(
    query: Mapping[str, str],
    body: bytes,
    *,
    store: GraphStore,
    config: ConfigLike,
    request_sync: Callable[[str], None],
    content_type: str = "application/json",
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> WebhookAnswer:
    if len(body) > MAX_BODY_BYTES:
        return WebhookAnswer(413, body="the notification body is too large")
    json_body = bool(body.strip()) and content_type.split(";")[0].strip().lower() == "application/json"
    values = notification_values(body) if json_body or "validationToken" not in query else None
    if json_body and values is None:
        return WebhookAnswer(400, body='expected a change notification collection: {"value": [...]}')
    token = validation_response(query)
    if token is not None:
        return WebhookAnswer(200, "text/plain", token)
    if "validationToken" in query:
        return WebhookAnswer(400, body="validationToken is empty")
    if values is None:
        return WebhookAnswer(400, body='expected a change notification collection: {"value": [...]}')
    registry = SubscriptionRegistry(config)
    answer = WebhookAnswer(202)
    wanted: dict[str, None] = {}
    for notification in values:
        subscription = await registry.get(str(notification.get("subscriptionId") or ""))
        if subscription is None or not verify_client_state(notification, subscription.client_state):
            answer.rejected += 1
            continue
        answer.accepted += 1
        event = str(notification.get("lifecycleEvent") or "").lower()
        instance = get_instance(store, subscription.connector_id)
        if event in FORGET_EVENTS or instance is None:  # a deleted instance's subscription is forgotten
            await registry.remove(subscription)
            continue
        if instance.get("isActive") is False:
            continue  # disabled: nothing syncs; its subscriptions lapse or go at the next reconcile
        mark_pending(
            store,
            org_id=subscription.org_id,
            connector_id=subscription.connector_id,
            scope=subscription.scope,
            at_ms=now_ms(),
        )
        wanted.setdefault(subscription.connector_id)
    for connector_id in wanted:
        try:
            request_sync(connector_id)
            answer.syncs_requested.append(connector_id)
        except Exception as exc:  # the scope stays pending: the next scheduled sync takes it
            log.warning("sync request for connector %s failed: %s", connector_id, exc)
    if answer.rejected:
        REJECTED.total += answer.rejected
        log.warning(
            "dropped %d change notification(s) with an unknown subscription or a wrong clientState",
            answer.rejected,
        )
    return answer
