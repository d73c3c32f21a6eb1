"""The playbook's connector (§6.2 boilerplate + §6.3 snippets, `playbook_connector.py`) against a
stateful fake of its API, synced end to end through `SyncEngine.run_sync` on both store backends:
seed -> full sync -> mutate (add, edit, delete via a delta tombstone) -> incremental sync, with the
exact records, permission edges, record events and sync points asserted after each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import create_instance, get_instance
from headwater.store.base import GraphStore
from tests.connectors.engine import fake_service
from tests.connectors.engine.fake_service import FakeYourService
from tests.connectors.engine.helpers import (
    LOG,
    ORG,
    events,
    open_config,
    permission_triples,
    records_by_ext,
    run,
    seed_org,
)
from tests.connectors.engine.playbook_connector import YourConnector

TYPE = "YourConnectorE2E"
CID = "conn-yc-1"
ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def fake() -> Iterator[FakeYourService]:
    service = FakeYourService()
    service.add_user("u1", ALICE, "Alice")
    service.add_user("u2", BOB, "Bob")
    service.put_item(
        "u1", {"id": "a1", "name": "plan.pdf", "etag": "e1", "updated_at": "2024-05-01T10:00:00Z"}
    )
    service.put_item(
        "u1", {"id": "a2", "name": "notes.txt", "etag": "e1", "updated_at": "2024-05-02T10:00:00Z"}
    )
    service.put_item("u1", {"id": "a3", "name": "budget.xlsx", "etag": "e1", "size": 2048})
    service.put_item("u2", {"id": "b1", "name": "deck.pdf", "etag": "e1"})
    fake_service.CURRENT = service
    ConnectorFactory.register_connector(TYPE, YourConnector)
    yield service
    ConnectorFactory.unregister_connector(TYPE)
    fake_service.CURRENT = None


def _sync_twice(
    store: GraphStore, tmp_path: Path, fake: FakeYourService, mutate: Any
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    seed_org(store)
    create_instance(store, type=TYPE, connector_id=CID, org_id=ORG, scope="team")
    snapshots: list[dict[str, Any]] = []

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        config = await open_config(tmp_path)
        try:
            # where the playbook's _get_credentials looks: /services/connectors/{app name}/config
            await config.put(
                "/services/connectors/yourconnector/config",
                {"auth": {"clientId": fake.client_id, "clientSecret": fake.client_secret}},
            )
            engine = SyncEngine(store, config, logger=LOG)
            first = await engine.run_sync(CID)
            snapshots.append(_snapshot(store))
            mutate(fake)
            fake.requests.clear()
            second = await engine.run_sync(CID)
            return first, second
        finally:
            await config.close()

    first, second = run(body())
    snapshots.append(_snapshot(store))
    return first, second, snapshots


def _snapshot(store: GraphStore) -> dict[str, Any]:
    recs = records_by_ext(store, CID)
    by_key = {d["_key"]: ext for ext, d in recs.items()}
    with store.read() as tx:
        points = {d["syncPointKey"]: d["delta_link"] for d in tx.find_nodes("syncPoints", connector_id=CID)}
    evs = [(t, p.get("recordId")) for t, p in events(store)]
    return {
        "records": {ext: (d["recordName"], d["externalRevisionId"], d["version"]) for ext, d in recs.items()},
        "permissions": permission_triples(store, CID),
        "events": [(t, by_key.get(str(rid), rid)) for t, rid in evs],
        "sync_points": points,
        "keys": {ext: d["_key"] for ext, d in recs.items()},
    }


def _mutate(fake: FakeYourService) -> None:
    fake.put_item("u1", {"id": "a4", "name": "roadmap.pdf", "etag": "e1"})  # added
    fake.put_item("u2", {"id": "b1", "name": "deck-v2.pdf", "etag": "e2"})  # edited
    fake.delete_item("u1", "a2")  # deleted: a tombstone in the delta feed


def test_playbook_connector_full_then_incremental_sync_exact_graph(
    store: GraphStore, tmp_path: Path, fake: FakeYourService
) -> None:
    first, second, (after1, after2) = _sync_twice(store, tmp_path, fake, _mutate)

    assert first["outcome"] == "completed", first
    assert after1["records"] == {
        "a1": ("plan.pdf", "e1", 0),
        "a2": ("notes.txt", "e1", 0),
        "a3": ("budget.xlsx", "e1", 0),
        "b1": ("deck.pdf", "e1", 0),
    }
    assert after1["permissions"] == {
        (ALICE, "a1", "OWNER"),
        (ALICE, "a2", "OWNER"),
        (ALICE, "a3", "OWNER"),
        (BOB, "b1", "OWNER"),
    }
    assert sorted(after1["events"]) == [("newRecord", e) for e in ("a1", "a2", "a3", "b1")]
    assert after1["sync_points"] == {
        f"{ORG}/{CID}/records/FILE/users/u1": "/users/u1/items/delta?token=4",
        f"{ORG}/{CID}/records/FILE/users/u2": "/users/u2/items/delta?token=4",
    }
    assert (first["discovered"], first["new"], first["failed"]) == (4, 4, 0)

    assert second["outcome"] == "completed", second
    # the incremental sync read only the delta feed, from the stored links
    assert sorted(r for r in fake.requests if "/items" in r) == [
        "GET /users/u1/items/delta?token=4",
        "GET /users/u2/items/delta?token=4",
    ]
    assert after2["records"] == {
        "a1": ("plan.pdf", "e1", 0),
        "a3": ("budget.xlsx", "e1", 0),
        "a4": ("roadmap.pdf", "e1", 0),
        "b1": ("deck-v2.pdf", "e2", 1),
    }
    assert after2["keys"]["b1"] == after1["keys"]["b1"]  # identity kept across syncs
    assert after2["permissions"] == {
        (ALICE, "a1", "OWNER"),
        (ALICE, "a3", "OWNER"),
        (ALICE, "a4", "OWNER"),
        (BOB, "b1", "OWNER"),
    }
    new_events = after2["events"][len(after1["events"]) :]
    a2_key = after1["keys"]["a2"]
    assert sorted(new_events) == sorted(
        [("newRecord", "a4"), ("updateRecord", "b1"), ("deleteRecord", a2_key)]
    )
    assert after2["sync_points"] == {
        f"{ORG}/{CID}/records/FILE/users/u1": "/users/u1/items/delta?token=7",
        f"{ORG}/{CID}/records/FILE/users/u2": "/users/u2/items/delta?token=7",
    }
    assert (second["new"], second["updated"], second["deleted"]) == (1, 1, 1)
    inst = get_instance(store, CID)
    assert inst is not None
    assert (inst["status"], inst["statusReason"]) == ("IDLE", None)


def test_playbook_connector_shared_permissions(
    store: GraphStore, tmp_path: Path, fake: FakeYourService
) -> None:
    fake.put_item(
        "u1",
        {"id": "a1", "name": "plan.pdf", "etag": "e1", "permissions": [{"email": BOB, "role": "viewer"}]},
    )

    def unshare_and_share(f: FakeYourService) -> None:
        f.put_item(
            "u1",
            {
                "id": "a1",
                "name": "plan.pdf",
                "etag": "e1",
                "permissions": [{"email": "carol@example.com", "role": "editor"}],
            },
        )

    _, _, (after1, after2) = _sync_twice(store, tmp_path, fake, unshare_and_share)
    assert {p for p in after1["permissions"] if p[1] == "a1"} == {
        (ALICE, "a1", "OWNER"),
        (BOB, "a1", "READER"),
    }
    assert {p for p in after2["permissions"] if p[1] == "a1"} == {
        (ALICE, "a1", "OWNER"),
        ("carol@example.com", "a1", "WRITER"),
    }
