"""Shared set-up for the processor tests: an organisation, a processor on a store, record makers,
and readers for the graph and the outbox."""

from __future__ import annotations

import logging
from typing import Any

from headwater.config.crypto import SecretBox
from headwater.connectors.core.data_store import DataStoreProvider
from headwater.connectors.core.processor import DataSourceEntitiesProcessor
from headwater.models.constants import Connectors, MimeTypes, RecordGroupType, RecordType
from headwater.models.entities import FileRecord, MailRecord
from headwater.models.permission import EntityType, Permission, PermissionType
from headwater.store.base import GraphStore
from headwater.store.schema import PARTITIONS

ORG = "org1"
CONN = "conn-1"
NODE_COLLECTIONS = ("records", "files", "mails", "recordGroups", "users", "groups", "roles", "syncPoints")
EDGE_COLLECTIONS = (
    "permissions",
    "belongsTo",
    "inheritPermissions",
    "recordRelations",
    "isOfType",
    "userAppRelation",
)


def make_processor(store: GraphStore, **kw: Any) -> DataSourceEntitiesProcessor:
    import asyncio

    with store.transaction() as tx:
        tx.upsert_nodes("organizations", [{"_key": ORG, "registeredName": "Acme"}])
    provider = DataStoreProvider(store, connector_id=CONN, secret_box=SecretBox.generate())
    processor = DataSourceEntitiesProcessor(
        logging.getLogger("test.processor"), provider, None, connector_name=Connectors.LOCAL_FS, **kw
    )
    asyncio.run(processor.initialize())
    assert processor.org_id == ORG
    return processor


def file(
    ext: str, rev: str | None = "r1", *, parent: str | None = None, group: str | None = "drive-1", **kw: Any
) -> FileRecord:
    """A file as a connector builds it on every sync: a fresh object with a fresh id and timestamps."""
    fields: dict[str, Any] = {
        "record_name": kw.pop("name", f"{ext}.pdf"),
        "external_record_id": ext,
        "external_revision_id": rev,
        "external_record_group_id": group,
        "record_group_type": RecordGroupType.DRIVE,
        "connector_name": Connectors.LOCAL_FS,
        "mime_type": MimeTypes.PDF,
        "extension": "pdf",
        "source_updated_at": 1000,
    }
    if parent is not None:
        fields["parent_external_record_id"] = parent
        fields["parent_record_type"] = kw.pop("parent_type", RecordType.FILE)
    fields.update(kw)
    return FileRecord(**fields)


def mail(ext: str, rev: str = "m1") -> MailRecord:
    return MailRecord(
        record_name=f"subject {ext}",
        external_record_id=ext,
        external_revision_id=rev,
        external_record_group_id="mailbox-1",
        record_group_type=RecordGroupType.MAILBOX,
        connector_name=Connectors.LOCAL_FS,
        mime_type=MimeTypes.GMAIL,
    )


def user_perm(email: str, role: PermissionType = PermissionType.READ) -> Permission:
    return Permission(email=email, type=role, entity_type=EntityType.USER)


def events(store: GraphStore, topic: str = "record-events") -> list[tuple[str, dict[str, Any]]]:
    """(eventType, payload) of every event of a topic, in partition and offset order."""
    found = []
    with store.read() as tx:
        for partition in range(PARTITIONS):
            found.extend(tx.read_events(topic, partition, -1, 100_000))
    return [(e.event["eventType"], e.event["payload"]) for e in found]


def edges(store: GraphStore, collection: str) -> set[tuple[str, str]]:
    with store.read() as tx:
        return {(e["_from"], e["_to"]) for e in tx.get_edges(collection)}


def edge_docs(store: GraphStore, collection: str) -> list[dict[str, Any]]:
    with store.read() as tx:
        return tx.get_edges(collection)


def snapshot(store: GraphStore) -> dict[str, Any]:
    """Every node document and edge document the processor writes, plus the number of events."""
    with store.read() as tx:
        nodes = {c: tx.find_nodes(c) for c in NODE_COLLECTIONS}
        all_edges = {c: tx.get_edges(c) for c in EDGE_COLLECTIONS}
    return {"nodes": nodes, "edges": all_edges, "events": len(events(store))}


def key_of(store: GraphStore, external_id: str) -> str:
    with store.read() as tx:
        record = tx.get_record_by_external_id(CONN, external_id)
    assert record is not None, external_id
    return record.id


def user_key(store: GraphStore, email: str) -> str:
    with store.read() as tx:
        doc = tx.get_node_by_external_id("users", "", email)
    assert doc is not None, email
    return str(doc["_key"])


def node_key(store: GraphStore, collection: str, external_id: str) -> str:
    with store.read() as tx:
        doc = tx.get_node_by_external_id(collection, CONN, external_id)
    assert doc is not None, (collection, external_id)
    return str(doc["_key"])


def set_indexing_status(store: GraphStore, external_id: str, status: str) -> None:
    """What the indexing worker does when it finishes a record."""
    with store.transaction() as tx:
        doc = tx.get_node_by_external_id("records", CONN, external_id)
        assert doc is not None
        tx.upsert_nodes(
            "records", [{**doc, "indexingStatus": status, "virtualRecordId": f"vr-{external_id}"}]
        )
