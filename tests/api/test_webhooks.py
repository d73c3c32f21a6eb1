"""POST /api/v1/webhooks/microsoft: the validation handshake, forged and real notifications."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.state import holder_of
from headwater.connectors.core.instances import create_instance
from headwater.connectors.sources.microsoft.notifications.pending import PENDING_KEY
from headwater.connectors.sources.microsoft.notifications.registry import Subscription, SubscriptionRegistry
from headwater.events.base import SYNC_EVENTS
from headwater.store.schema import PARTITIONS
from tests.api.conftest import ApiInstance

pytestmark = pytest.mark.anyio
URL = "/api/v1/webhooks/microsoft"
SECRET = "a-long-random-client-state-0123456789abcdef"


async def test_the_handshake_echoes_the_token_as_plain_text(anon: httpx.AsyncClient) -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 7b1c"
    answer = await anon.post(URL, params={"validationToken": token}, headers={"content-type": "text/plain"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == token


async def test_a_body_that_is_no_notification_collection_is_400(anon: httpx.AsyncClient) -> None:
    answer = await anon.post(URL, content=b"[1, 2]", headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("expected a change notification collection")


async def test_only_notifications_with_the_right_client_state_queue_a_sync(
    app: FastAPI, anon: httpx.AsyncClient, instance: ApiInstance
) -> None:
    state = await holder_of(app).get()
    org = instance.org_keys["Acme"]
    create_instance(state.store, type="Outlook", connector_id="outlook-api", org_id=org, scope="team")
    scope = "users/u1/mailFolders/inbox-id"
    await SubscriptionRegistry(state.config).put(
        Subscription(
            id="sub-1",
            connector_id="outlook-api",
            org_id=org,
            scope=scope,
            resource="/users/u1/mailFolders/inbox-id/messages",
            change_type="created,updated,deleted",
            expiration="2030-01-01T00:00:00Z",
            client_state=SECRET,
        )
    )
    forged = await anon.post(
        URL,
        json={
            "value": [
                {"subscriptionId": "sub-1", "clientState": SECRET[:-1] + "X", "changeType": "created"},
                {"subscriptionId": "sub-unknown", "clientState": SECRET, "changeType": "created"},
            ]
        },
    )
    assert (forged.status_code, forged.json()) == (202, {"accepted": 0, "rejected": 2})
    assert _sync_events(state.store) == []

    real = await anon.post(
        URL, json={"value": [{"subscriptionId": "sub-1", "clientState": SECRET, "changeType": "created"}]}
    )
    assert (real.status_code, real.json()) == (202, {"accepted": 1, "rejected": 0})
    assert _sync_events(state.store) == [("outlook.resync", "outlook-api")]
    with state.store.read() as tx:
        pending = [d for d in tx.find_nodes("syncPoints", connector_id="outlook-api")]
    assert [str(d["syncPointKey"]).endswith(PENDING_KEY) for d in pending] == [True]
    assert list(pending[0]["scopes"]) == [scope]
    assert SECRET not in real.text
    assert SECRET not in forged.text


def _sync_events(store: object) -> list[tuple[str, str]]:
    found = []
    with store.read() as tx:  # type: ignore[attr-defined]
        for partition in range(PARTITIONS):
            for stored in tx.read_events(SYNC_EVENTS, partition, -1, 1000):
                found.append((str(stored.event["eventType"]), str(stored.event["payload"]["connectorId"])))
    return found
