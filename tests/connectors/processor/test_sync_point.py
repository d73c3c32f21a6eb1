"""Sync points: keys, encryption at rest, and commit together with the page they cover."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from headwater.config.crypto import SecretBox
from headwater.connectors.core.data_store import DataStoreProvider
from headwater.connectors.core.processor import DataSourceEntitiesProcessor
from headwater.connectors.core.sync_point import SyncDataPointType, SyncPoint, generate_record_sync_point_key
from headwater.models.constants import Connectors
from headwater.models.entities import FileRecord
from headwater.models.permission import EntityType, Permission, PermissionType
from headwater.store import codec
from headwater.store.base import GraphStore

from .helpers import CONN, ORG, events, file, make_processor, snapshot

run = asyncio.run


def playbook_sync_point(provider: DataStoreProvider, org_id: str) -> SyncPoint:
    """Exactly the playbook's constructor call (§6.2)."""
    return SyncPoint(
        connector_name=Connectors.LOCAL_FS,
        org_id=org_id,
        sync_data_point_type=SyncDataPointType.RECORDS,
        data_store_provider=provider,
    )


def stored_sync_points(store: GraphStore) -> list[dict[str, Any]]:
    with store.read() as tx:
        return tx.find_nodes("syncPoints")


def test_key_helper_and_stored_shape(store: GraphStore) -> None:
    p = make_processor(store)
    sp = playbook_sync_point(p.data_store_provider, p.org_id)
    key = generate_record_sync_point_key("FILE", "users", "u1")
    assert key == "FILE/users/u1"
    assert run(sp.read_sync_point(key)) == {}
    run(sp.update_sync_point(key, {"deltaLink": "d1"}))
    [doc] = stored_sync_points(store)
    assert doc["syncPointKey"] == f"{ORG}/{CONN}/records/FILE/users/u1"
    assert (doc["connectorId"], doc["orgId"], doc["syncDataPointType"], doc["deltaLink"]) == (
        CONN,
        ORG,
        "records",
        "d1",
    )
    assert run(sp.read_sync_point(key)) == {"deltaLink": "d1"}
    # updates merge; the same data again writes nothing
    run(sp.update_sync_point(key, {"pageToken": "p"}))
    assert run(sp.read_sync_point(key)) == {"deltaLink": "d1", "pageToken": "p"}
    before = stored_sync_points(store)
    run(sp.update_sync_point(key, {"pageToken": "p"}))
    assert stored_sync_points(store) == before
    assert run(sp.delete_sync_point(key)) == {"status": "deleted", "key": doc["syncPointKey"]}
    assert run(sp.read_sync_point(key)) == {}


def test_encrypted_fields_never_reach_the_store_in_plaintext(store: GraphStore) -> None:
    p = make_processor(store)
    sp = playbook_sync_point(p.data_store_provider, p.org_id)
    secret = "https://graph.example/delta?token=SUPER-SECRET-TOKEN"
    run(sp.update_sync_point("drive", {"deltaLink": secret, "count": 3}, encrypt_fields=["deltaLink"]))
    [doc] = stored_sync_points(store)
    assert "SUPER-SECRET-TOKEN" not in codec.dumps(doc)
    assert doc["deltaLink"].startswith("hw1:")
    assert doc["deltaLink_encrypted"] is True
    assert run(sp.read_sync_point("drive")) == {"deltaLink": secret, "count": 3}
    # the same secret again keeps the stored token: nothing rewritten
    run(sp.update_sync_point("drive", {"deltaLink": secret}, encrypt_fields=["deltaLink"]))
    assert stored_sync_points(store) == [doc]
    # written later in plaintext: the stale flag goes
    run(sp.update_sync_point("drive", {"deltaLink": "plain"}))
    assert run(sp.read_sync_point("drive")) == {"deltaLink": "plain", "count": 3}
    # only fields that are in the data can be encrypted
    with pytest.raises(ValueError):
        run(sp.update_sync_point("drive", {"a": 1}, encrypt_fields=["missing"]))


def test_a_page_and_its_sync_point_commit_in_one_transaction(store: GraphStore) -> None:
    p = make_processor(store)
    sp = playbook_sync_point(p.data_store_provider, p.org_id)
    with store.read() as tx:
        tx_class = type(tx)
    original = tx_class.append_events
    failures = [1]

    def failing_once(self, topic, evts):  # type: ignore[no-untyped-def]
        if failures:
            failures.pop()
            raise RuntimeError("the disk is full")
        return original(self, topic, evts)

    # the connector's call sequence: a page of records, then its cursor
    run(p.on_new_records([(file("a"), []), (file("b"), [])]))
    tx_class.append_events = failing_once  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="disk is full"):
            run(sp.update_sync_point("drive", {"deltaLink": "page-2"}))
    finally:
        tx_class.append_events = original  # type: ignore[method-assign]

    # neither the records, nor their edges or events, nor the sync point were written
    state = snapshot(store)
    assert state["nodes"]["records"] == []
    assert state["nodes"]["syncPoints"] == []
    assert state["edges"]["belongsTo"] == []
    assert state["events"] == 0
    assert p.pending_records == 2

    # the buffer and the staged sync point were kept: the next flush commits them together
    run(p.flush())
    assert run(sp.read_sync_point("drive")) == {"deltaLink": "page-2"}
    state = snapshot(store)
    assert len(state["nodes"]["records"]) == 2
    assert [d["deltaLink"] for d in state["nodes"]["syncPoints"]] == ["page-2"]
    assert sorted(t for t, _ in events(store)) == ["newRecord", "newRecord"]


def test_sync_point_without_processor_and_delete_all(store: GraphStore) -> None:
    provider = DataStoreProvider(store, connector_id="c2", secret_box=SecretBox.generate())
    users = SyncPoint(Connectors.LOCAL_FS, ORG, SyncDataPointType.USERS, provider)
    records = SyncPoint(Connectors.LOCAL_FS, ORG, "records", provider)
    run(users.update_sync_point("all", {"cursor": 1}))
    run(records.update_sync_point("x", {"cursor": 2}, encrypt_fields=["cursor"]))
    assert run(records.read_sync_point("x")) == {"cursor": 2}
    assert {d["syncPointKey"] for d in stored_sync_points(store)} == {
        f"{ORG}/c2/users/all",
        f"{ORG}/c2/records/x",
    }
    assert run(users.delete_all_for_connector()) == 2
    assert stored_sync_points(store) == []


def test_discard_drops_buffered_records_and_staged_sync_points(store: GraphStore) -> None:
    """A cancelled sync: nothing buffered reaches the store, and the processor is reusable."""
    provider = DataStoreProvider(store, connector_id="c-discard")
    processor = DataSourceEntitiesProcessor(logging.getLogger("t"), provider, connector_id="c-discard")
    grant = [Permission(email="a@x.test", type=PermissionType.READ, entity_type=EntityType.USER)]

    async def scenario() -> None:
        await processor.on_new_records(
            [(FileRecord(record_name="a", external_record_id="a", connector_id="c-discard"), grant)]
        )
        processor.stage_write("sp", lambda tx: tx.upsert_nodes("apps", [{"_key": "should-not-exist"}]))
        assert processor.discard() == 1
        await processor.flush()

    asyncio.run(scenario())
    with store.read() as tx:
        assert tx.find_nodes("records", connector_id="c-discard") == []
        assert tx.get_node("apps", "should-not-exist") is None
