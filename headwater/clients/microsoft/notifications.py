"""Receiving Graph change notifications (webhooks): the validation handshake, clientState checks, and
subscription lifetimes.

Graph first POSTs `{notificationUrl}?validationToken=<opaque>`; the endpoint must answer within 10 s with 200,
`Content-Type: text/plain` and the decoded token as the body. Afterwards each POST carries
`{"value": [notification, ...]}`; a notification whose `clientState` differs from the secret given at
subscription time did not come from our subscription and is dropped."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

VALIDATION_MEDIA_TYPE = "text/plain"

# The longest lifetimes Graph accepts per resource kind, in minutes (v1.0 docs; a little is kept back).
DRIVE_MAX_MINUTES = 42_300
DIRECTORY_MAX_MINUTES = 41_760
MESSAGE_MAX_MINUTES = 4_230
SAFETY_MINUTES = 15


def validation_response(query_params: Mapping[str, str]) -> str | None:
    """The body to answer a validation request with (send it as text/plain, status 200), or None when the
    request is not a validation request. Starlette/FastAPI query params are already URL-decoded."""
    token = query_params.get("validationToken")
    return token if token else None


def verify_client_state(notification: Mapping[str, Any], expected: str) -> bool:
    """True when the notification carries the subscription's clientState (constant-time comparison)."""
    received = notification.get("clientState")
    if not isinstance(received, str) or not expected:
        return False
    return hmac.compare_digest(received.encode(), expected.encode())


@dataclass
class NotificationBatch:
    """One webhook delivery, split into notifications to act on and ones to drop."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def split_notifications(payload: Mapping[str, Any], client_states: Mapping[str, str]) -> NotificationBatch:
    """Check every notification of a delivery against the clientState of its subscription.

    Args:
        payload: the POSTed JSON (`{"value": [...]}`).
        client_states: subscription id -> the clientState it was created with.
    """
    batch = NotificationBatch()
    values = payload.get("value")
    for notification in values if isinstance(values, list) else []:
        if not isinstance(notification, dict):
            continue
        expected = client_states.get(str(notification.get("subscriptionId")), "")
        (batch.accepted if verify_client_state(notification, expected) else batch.rejected).append(
            notification
        )
    return batch


def max_lifetime(resource: str) -> timedelta:
    """How long a subscription on `resource` may live (Graph rejects longer expirations)."""
    path = resource.lower()
    if "/messages" in path or "/mailfolders" in path or "/events" in path:
        minutes = MESSAGE_MAX_MINUTES
    elif path.lstrip("/").startswith(("users", "groups")) and "/drive" not in path:
        minutes = DIRECTORY_MAX_MINUTES
    else:
        minutes = DRIVE_MAX_MINUTES
    return timedelta(minutes=minutes - SAFETY_MINUTES)


def subscription_expiration(resource: str, now: datetime) -> datetime:
    """The expiration to request for a new or renewed subscription on `resource`."""
    return now + max_lifetime(resource)


def renewal_due(resource: str, expiration: datetime, now: datetime) -> bool:
    """True once a subscription on `resource` has less than half its maximum lifetime left: renew it then,
    well before it lapses (an expired subscription must be created again and misses changes meanwhile)."""
    return expiration - now <= max_lifetime(resource) / 2
