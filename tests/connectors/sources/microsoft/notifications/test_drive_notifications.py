"""Change notifications for OneDrive and SharePoint drives against the fake tenant: one subscription per
drive on its root (changeType "updated") through the real validation handshake; a forged delivery is
dropped; Graph's notification for one drive marks that drive pending and the next incremental sync
reads only that drive's delta (the fake's request log shows nothing else); a due poll then covers
every drive; renewal at half the lifetime; refused subscriptions leave the drives to polling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.connectors import testing
from headwater.connectors.core.instances import create_instance
from headwater.connectors.sources.microsoft.common.connector import GraphConnector
from headwater.connectors.sources.microsoft.notifications.pending import pending_scopes
from headwater.connectors.sources.microsoft.notifications.registry import SubscriptionRegistry
from headwater.connectors.sources.microsoft.onedrive import OneDriveConnector
from headwater.connectors.sources.microsoft.sharepoint import SharePointConnector
from headwater.testing.fake_graph import FakeTenant
from tests.connectors.sources.microsoft import test_onedrive, test_sharepoint
from tests.connectors.sources.microsoft.helpers import GRAPH, run
from tests.connectors.sources.microsoft.notifications.hub import HOOK, Hub, post_forged
from tests.connectors.sources.microsoft.world import World, records


@dataclass
class Case:
    """A seeded tenant, the connector, the drive that changes with a notification (`noisy`), one that
    changes without (`quiet`), and every drive the instance syncs."""

    tenant: FakeTenant
    connector_cls: type[GraphConnector]
    noisy: str
    quiet: str
    drives: list[str]


def onedrive_case() -> Case:
    s = test_onedrive.seed()
    eve = s.tenant.drive_of(s.ids["eve"].id).id
    return Case(s.tenant, OneDriveConnector, s.ids["a"], s.ids["b"], sorted([s.ids["a"], s.ids["b"], eve]))


def sharepoint_case() -> Case:
    s = test_sharepoint.seed()
    i = s.ids
    return Case(
        s.tenant, SharePointConnector, i["docs"], i["mdocs"], sorted([i["docs"], i["archive"], i["mdocs"]])
    )


CASES: dict[str, Callable[[], Case]] = {"onedrive": onedrive_case, "sharepoint": sharepoint_case}


def make_world(tmp_path: Path, case: Case) -> World:
    world = World(tmp_path, case.tenant, case.connector_cls, sync_config={"notificationUrl": HOOK})
    create_instance(
        world.store,
        type=case.connector_cls.connector_enum.value,
        connector_id=world.cid,
        org_id=testing.DEFAULT_ORG_ID,
        scope="team",
    )
    return world


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_drive_notification_syncs_that_drive_only(tmp_path: Path, kind: str) -> None:
    case = CASES[kind]()
    world = make_world(tmp_path, case)
    fake, tenant = world.fake, case.tenant
    config = world.config(world.cid)
    hub = Hub(world.store, config)

    async def scenario() -> dict[str, Any]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app)) as hooks:
            fake.notifications.client = hooks
            connector = await world.make(world.store, world.cid)
            await connector.run_sync()
            await connector.processor.flush()
            subscriptions = await SubscriptionRegistry(config).of_connector(world.cid)
            handshakes = [a for a in hub.answers if a[0] == 200]
            forged = await post_forged(hooks, subscriptions[0], "updated")
            forged_pending = await pending_scopes(connector.sync_point)
            tenant.add_file(case.noisy, "fresh.txt", "a notified change")
            delivered = await fake.notifications.deliver()
            tenant.add_file(case.quiet, "quiet.txt", "a change whose notification never arrives")
            pending = await pending_scopes(connector.sync_point)
            fake.requests.clear()
            await connector.run_incremental_sync()
            await connector.processor.flush()
            notified_sync = [r.url for r in fake.graph_requests()]
            after = await pending_scopes(connector.sync_point)
            names_after_notified = set(records(world.store, world.cid))
            connector.poll_interval_s = 0  # the periodic full poll is due
            await connector.run_incremental_sync()
            await connector.processor.flush()
            await connector.cleanup()
            return {
                "subscriptions": sorted((s.scope, s.resource, s.change_type) for s in subscriptions),
                "handshakes": len(handshakes),
                "forged": (forged.status_code, forged.json(), forged_pending),
                "delivered": delivered,
                "pending": sorted(pending),
                "notified_sync": notified_sync,
                "after": after,
                "names": names_after_notified,
            }

    try:
        out = run(scenario())
        assert out["subscriptions"] == [(f"drives/{d}", f"/drives/{d}/root", "updated") for d in case.drives]
        assert out["handshakes"] == len(case.drives)
        assert out["forged"] == (202, {"accepted": 0, "rejected": 1}, {})
        assert out["delivered"] == [(HOOK, 202)]
        assert out["pending"] == [f"drives/{case.noisy}"]
        assert hub.requested == [world.cid]
        # the notified sync read the notified drive and nothing else: no users, sites or other drives
        assert out["notified_sync"]
        assert all(u.startswith(f"{GRAPH}/drives/{case.noisy}/") for u in out["notified_sync"])
        assert any("/root/delta" in u for u in out["notified_sync"])
        assert out["after"] == {}
        assert "fresh.txt" in out["names"]
        assert "quiet.txt" not in out["names"]  # not notified: the poll brings it
        assert {"fresh.txt", "quiet.txt"} <= set(records(world.store, world.cid))
        assert world.fake.validator is not None
        assert world.fake.validator.violations == []
    finally:
        world.close()


@pytest.mark.parametrize("kind", sorted(CASES))
def test_renewal_and_refused_drive_subscriptions_fall_back_to_polling(tmp_path: Path, kind: str) -> None:
    case = CASES[kind]()
    world = make_world(tmp_path, case)
    fake, tenant = world.fake, case.tenant
    config = world.config(world.cid)
    hub = Hub(world.store, config)

    async def scenario() -> tuple[Any, ...]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app)) as hooks:
            fake.notifications.client = None  # Graph cannot reach Headwater: every subscription is refused
            connector = await world.make(world.store, world.cid)
            await connector.run_sync()
            await connector.processor.flush()
            refused = await SubscriptionRegistry(config).of_connector(world.cid)
            synced = set(records(world.store, world.cid))
            tenant.add_file(case.quiet, "polled.txt", "found by polling")
            await connector.run_incremental_sync()  # nothing pending: a poll of every drive
            await connector.processor.flush()
            polled = set(records(world.store, world.cid))
            fake.notifications.client = hooks
            report = await connector.manage_subscriptions()
            first = {
                s.scope: s.expiration for s in await SubscriptionRegistry(config).of_connector(world.cid)
            }
            tenant.clock.advance(timedelta(days=10).total_seconds())  # less than half of ~29 days
            early = await connector.manage_subscriptions()
            tenant.clock.advance(timedelta(days=5).total_seconds())
            due = await connector.manage_subscriptions()
            later = {
                s.scope: s.expiration for s in await SubscriptionRegistry(config).of_connector(world.cid)
            }
            in_graph = sorted(s.expiration for s in tenant.subscriptions.values())
            await connector.cleanup()
            return refused, synced, polled, report, first, early, due, later, in_graph

    try:
        refused, synced, polled, report, first, early, due, later, in_graph = run(scenario())
        scopes = [f"drives/{d}" for d in case.drives]
        assert refused == []
        assert synced  # the sync itself completed without subscriptions
        assert polled - synced == {"polled.txt"}
        assert sorted(report.created) == scopes
        assert report.failed == {}
        assert sorted(first) == scopes
        assert (early.renewed, early.created) == ([], [])
        assert sorted(due.renewed) == scopes
        assert all(later[s] > first[s] for s in scopes)
        assert len(in_graph) == len(scopes)
        assert min(in_graph) > tenant.clock.now() + timedelta(days=20)  # Graph has the renewed expiry
    finally:
        world.close()
