"""Change notifications end to end against the fake tenant: the Outlook connector subscribes to its
folders through the real handshake, Graph's notification reaches the receiver, a forged one is dropped,
a real one marks exactly its folder pending and asks for a sync, and the next incremental sync syncs
that folder only; renewal before expiry; a subscription Graph refuses leaves the folder to polling."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from headwater.connectors import testing
from headwater.connectors.core.instances import create_instance, get_instance
from headwater.connectors.sources.microsoft.notifications.pending import pending_scopes
from headwater.connectors.sources.microsoft.notifications.receiver import receive
from headwater.connectors.sources.microsoft.notifications.registry import Subscription, SubscriptionRegistry
from headwater.connectors.sources.microsoft.outlook import OutlookConnector
from headwater.connectors.sources.microsoft.outlook.mapping import folder_scope
from headwater.store.base import GraphStore
from headwater.store.registry import open_store
from headwater.testing.fake_graph import FakeGraph, checked_graph
from headwater.testing.fake_graph.mail import rest_id
from tests.connectors.sources.microsoft.helpers import run
from tests.connectors.sources.microsoft.notifications.hub import HOOK, Hub, post_forged
from tests.connectors.sources.microsoft.outlook.world import CID, World, groups_of, records, seed_mail


@pytest.fixture
def sqlite_store(tmp_path: Any) -> Iterator[GraphStore]:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield store
    store.close()


def _world(fake: FakeGraph, store: GraphStore) -> World:
    return World(fake, store, sync={"notificationUrl": HOOK})


async def _subscribed(world: World, hub: Hub) -> OutlookConnector:
    """A full sync (which subscribes every folder); returns the connector, still open."""
    if get_instance(world.store, CID) is None:
        create_instance(
            world.store, type="Outlook", connector_id=CID, org_id=testing.DEFAULT_ORG_ID, scope="team"
        )
    connector = await world.make(world.store, CID)
    assert isinstance(connector, OutlookConnector)
    connector.subscription_now = world.fake.tenant.clock.now  # type: ignore[method-assign]
    await connector.run_sync()
    return connector


def test_subscribing_notifying_and_syncing_only_the_notified_folder(sqlite_store: GraphStore) -> None:
    with checked_graph(seed_mail().tenant, page_size_cap=2) as fake:
        tenant = fake.tenant
        world = _world(fake, sqlite_store)
        config = world.config(CID)
        hub = Hub(sqlite_store, config)
        ada = next(u for u in tenant.users.values() if u.display_name == "Ada Lovelace")
        bob = next(u for u in tenant.users.values() if u.display_name == "Bob Smith")
        inbox = tenant.mail_folder(ada.id, "inbox")

        async def scenario() -> dict[str, Any]:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app)) as hooks:
                fake.notifications.client = hooks
                world.config = lambda connector_id, secret=None: config  # type: ignore[method-assign]
                connector = await _subscribed(world, hub)
                subscriptions = await SubscriptionRegistry(config).of_connector(CID)
                handshakes = [a for a in hub.answers if a[0] == 200]
                # a forged delivery: a real subscription id, a guessed clientState
                forged = await post_forged(hooks, subscriptions[0], "created")
                forged_pending = await pending_scopes(connector.sync_point)
                # real changes: one in Ada's inbox, one in Bob's inbox; only Ada's inbox is notified
                tenant.add_message(ada.id, "Board meeting", "<p>Thursday.</p>", sender=bob.mail or "")
                delivered = await fake.notifications.deliver()
                # a change whose notification never arrives (lost, or Graph down): polling's business
                tenant.add_message(bob.id, "Unnotified", "<p>x</p>", sender=ada.mail or "")
                pending = await pending_scopes(connector.sync_point)
                fake.requests.clear()
                await connector.run_incremental_sync()
                await connector.processor.flush()
                delta_calls = sorted(
                    {r.url.split("/messages/delta")[0] for r in fake.graph_requests("/messages/delta")}
                )
                after = await pending_scopes(connector.sync_point)
                await connector.cleanup()
                return {
                    "subscriptions": sorted(s.scope for s in subscriptions),
                    "handshakes": len(handshakes),
                    "forged": (forged.status_code, forged.json(), forged_pending),
                    "delivered": delivered,
                    "pending": pending,
                    "delta_calls": delta_calls,
                    "after": after,
                    "secrets": [s.client_state for s in subscriptions],
                }

        out = run(scenario())
        scopes = {
            folder_scope(u, f.id) for u in (ada.id, bob.id) for f in tenant.mailboxes[u].folders.values()
        }
        assert out["subscriptions"] == sorted(scopes)
        assert out["handshakes"] == len(scopes)
        assert out["forged"] == (202, {"accepted": 0, "rejected": 1}, {})
        assert out["delivered"] == [(HOOK, 202)]
        assert hub.answers[-1][0] == 202
        assert list(out["pending"]) == [folder_scope(ada.id, inbox.id)]
        assert hub.requested == [CID]
        assert out["delta_calls"] == [
            f"https://graph.fake.test/v1.0/users/{ada.id}/mailFolders/{rest_id(inbox.id)}"
        ]
        assert out["after"] == {}
        names = records(sqlite_store)
        assert groups_of(sqlite_store)["Board meeting"] == "Inbox"
        assert "Unnotified" not in names  # not notified: the next poll brings it
        assert len(set(out["secrets"])) == len(scopes)
        assert all(len(s) >= 40 for s in out["secrets"])
        with sqlite_store.read() as tx:
            stored = json.dumps([tx.find_nodes(c) for c in ("syncPoints", "records", "recordGroups")])
        assert not any(secret in stored for secret in out["secrets"])


def test_renewal_before_expiry_and_refused_subscriptions_fall_back_to_polling(
    sqlite_store: GraphStore,
) -> None:
    with checked_graph(seed_mail().tenant, page_size_cap=2) as fake:
        tenant = fake.tenant
        world = _world(fake, sqlite_store)
        config = world.config(CID)
        hub = Hub(sqlite_store, config)

        async def scenario() -> tuple[Any, ...]:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app)) as hooks:
                world.config = lambda connector_id, secret=None: config  # type: ignore[method-assign]
                fake.notifications.client = None  # Graph cannot reach us: every subscription is refused
                connector = await _subscribed(world, hub)
                refused = await SubscriptionRegistry(config).of_connector(CID)
                synced = sorted(records(sqlite_store))
                fake.notifications.client = hooks
                report = await connector.manage_subscriptions()
                assert report is not None
                first = {s.scope: s.expiration for s in await SubscriptionRegistry(config).of_connector(CID)}
                tenant.clock.advance(timedelta(hours=10).total_seconds())  # not yet half of 70 h
                early = await connector.manage_subscriptions()
                tenant.clock.advance(timedelta(hours=30).total_seconds())
                due = await connector.manage_subscriptions()
                later = {s.scope: s.expiration for s in await SubscriptionRegistry(config).of_connector(CID)}
                removed = await connector.remove_subscriptions()
                left = [s for s in tenant.subscriptions.values()]
                await connector.cleanup()
                return refused, synced, report, first, early, due, later, removed, left

        refused, synced, report, first, early, due, later, removed, left = run(scenario())
        assert refused == []  # nothing subscribed, yet the sync itself completed:
        assert "Budget 2025" in synced
        assert len(report.created) == len(first) > 0
        assert not report.failed
        assert early is not None
        assert early.renewed == []
        assert early.created == []
        assert due is not None
        assert sorted(due.renewed) == sorted(first)
        assert all(later[s] > first[s] for s in first)
        assert sorted(removed) == sorted(first)
        assert left == []


def test_lifecycle_events_and_bad_deliveries(sqlite_store: GraphStore) -> None:
    config = testing.DictConfigService({})
    registry = SubscriptionRegistry(config)
    base = {"connector_id": CID, "org_id": "org", "resource": "/users/u/mailFolders/f/messages"}
    for sub_id, scope in (("s-missed", "users/u/mailFolders/f"), ("s-removed", "users/u/mailFolders/g")):
        run(
            registry.put(
                Subscription(
                    id=sub_id,
                    scope=scope,
                    change_type="created",
                    expiration="2030-01-01T00:00:00Z",
                    client_state=f"state-{sub_id}",
                    **base,
                )
            )
        )
    create_instance(sqlite_store, type="Outlook", connector_id=CID, org_id="org", scope="team")
    gone = Subscription(
        id="s-gone",
        scope="users/u/mailFolders/h",
        connector_id="deleted-instance",
        org_id="org",
        resource="/users/u/mailFolders/h/messages",
        change_type="created",
        expiration="2030-01-01T00:00:00Z",
        client_state="state-s-gone",
    )
    run(registry.put(gone))
    requested: list[str] = []

    def deliver(
        body: Any, query: dict[str, str] | None = None, content_type: str = "application/json"
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return run(
            receive(
                query or {},
                raw,
                store=sqlite_store,
                config=config,
                request_sync=requested.append,
                content_type=content_type,
                now_ms=lambda: 42,
            )
        )

    lifecycle = [
        {"subscriptionId": "s-missed", "clientState": "state-s-missed", "lifecycleEvent": "missed"},
        {
            "subscriptionId": "s-removed",
            "clientState": "state-s-removed",
            "lifecycleEvent": "subscriptionRemoved",
        },
    ]
    answer = deliver({"value": lifecycle})
    assert (answer.status, answer.accepted, answer.rejected, requested) == (202, 2, 0, [CID])
    assert [s.id for s in run(registry.of_connector(CID))] == ["s-missed"]  # the next reconcile recreates it
    with sqlite_store.read() as tx:
        (doc,) = tx.find_nodes("syncPoints", connector_id=CID)
    assert doc["scopes"] == {"users/u/mailFolders/f": 42}
    assert deliver(b"x" * (2 << 20)).status == 413
    assert deliver({"value": [{"subscriptionId": 5}]}).status == 400
    assert deliver({"value": []}, {"validationToken": ""}).status == 400
    assert deliver(b"", {"validationToken": "tok"}, "text/plain").body == "tok"
