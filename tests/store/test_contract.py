"""The graph store contract: every backend passes this suite unchanged."""

from __future__ import annotations

import pytest

from headwater.models.constants import Connectors, MimeTypes, RecordType
from headwater.models.entities import FileRecord, MailRecord, Record, WebpageRecord
from headwater.store.base import GraphStore


def file_record(ext_id: str, connector_id: str = "c1", **kw: object) -> FileRecord:
    fields: dict[str, object] = {
        "record_name": f"{ext_id}.pdf",
        "external_record_id": ext_id,
        "external_revision_id": "r1",
        "connector_id": connector_id,
        "connector_name": Connectors.ONEDRIVE,
        "org_id": "org1",
        "mime_type": MimeTypes.PDF,
        "extension": "pdf",
        "size_in_bytes": 10,
        "created_at": 1,
        "updated_at": 1,
    }
    fields.update(kw)
    return FileRecord.model_validate(fields)


# ---- nodes ------------------------------------------------------------------------------------


def test_upsert_nodes_writes_only_changes(store: GraphStore) -> None:
    with store.transaction() as tx:
        assert tx.upsert_nodes("apps", [{"_key": "a1", "name": "One"}, {"_key": "a2", "name": "Two"}]) == [
            "a1",
            "a2",
        ]
    with store.transaction() as tx:
        assert tx.upsert_nodes("apps", [{"_key": "a1", "name": "One"}, {"_key": "a2", "name": "2"}]) == ["a2"]
    with store.read() as tx:
        assert tx.get_node("apps", "a2") == {"_key": "a2", "name": "2"}
        assert tx.get_node("apps", "missing") is None


def test_node_without_key_is_rejected(store: GraphStore) -> None:
    with store.transaction() as tx, pytest.raises(ValueError, match="_key"):
        tx.upsert_nodes("apps", [{"name": "no key"}])


def test_lookup_by_external_id_is_scoped_to_connector(store: GraphStore) -> None:
    with store.transaction() as tx:
        tx.upsert_nodes(
            "recordGroups",
            [
                {"_key": "g1", "connectorId": "c1", "externalGroupId": "drive-1", "groupName": "A"},
                {"_key": "g2", "connectorId": "c2", "externalGroupId": "drive-1", "groupName": "B"},
            ],
        )
    with store.read() as tx:
        assert tx.get_node_by_external_id("recordGroups", "c1", "drive-1")["_key"] == "g1"  # type: ignore[index]
        assert tx.get_node_by_external_id("recordGroups", "c2", "drive-1")["_key"] == "g2"  # type: ignore[index]
        assert tx.get_node_by_external_id("recordGroups", "c3", "drive-1") is None


def test_identity_is_unique(store: GraphStore) -> None:
    with store.transaction() as tx:
        tx.upsert_nodes("groups", [{"_key": "g1", "connectorId": "c1", "externalGroupId": "x"}])
    with pytest.raises(Exception), store.transaction() as tx:  # noqa: B017 - each backend has its own error
        tx.upsert_nodes("groups", [{"_key": "g2", "connectorId": "c1", "externalGroupId": "x"}])
    with store.read() as tx:
        assert tx.get_node("groups", "g2") is None


def test_users_are_found_by_email_case_insensitively(store: GraphStore) -> None:
    with store.transaction() as tx:
        tx.upsert_nodes("users", [{"_key": "u1", "email": "Ada@Example.com", "orgId": "org1"}])
    with store.read() as tx:
        assert tx.get_node_by_external_id("users", "", "ada@example.COM")["_key"] == "u1"  # type: ignore[index]


def test_find_nodes_by_org_and_connector(store: GraphStore) -> None:
    with store.transaction() as tx:
        tx.upsert_nodes(
            "groups",
            [
                {"_key": "g1", "orgId": "o1", "connectorId": "c1", "externalGroupId": "a"},
                {"_key": "g2", "orgId": "o1", "connectorId": "c2", "externalGroupId": "b"},
                {"_key": "g3", "orgId": "o2", "connectorId": "c1", "externalGroupId": "c"},
            ],
        )
    with store.read() as tx:
        assert [d["_key"] for d in tx.find_nodes("groups", org_id="o1")] == ["g1", "g2"]
        assert [d["_key"] for d in tx.find_nodes("groups", connector_id="c1")] == ["g1", "g3"]
        assert [d["_key"] for d in tx.find_nodes("groups", org_id="o1", connector_id="c1")] == ["g1"]
        assert len(tx.find_nodes("groups", limit=2)) == 2


# ---- records ----------------------------------------------------------------------------------


def test_record_round_trip_keeps_type_and_fields(store: GraphStore) -> None:
    f = file_record("f1", weburl="https://x/f1", parent_external_record_id="folder-1")
    m = MailRecord(
        record_name="Hello",
        external_record_id="m1",
        connector_id="c1",
        subject="Hello",
        from_email="a@example.com",
        to_emails=["b@example.com"],
        cc_emails=["c@example.com"],
    )
    with store.transaction() as tx:
        changed = tx.upsert_records([f, m])
    assert {r.id for r in changed} == {f.id, m.id}
    with store.read() as tx:
        got_f = tx.get_record(f.id)
        got_m = tx.get_record_by_external_id("c1", "m1")
    assert isinstance(got_f, FileRecord)
    assert got_f == f
    assert isinstance(got_m, MailRecord)
    assert got_m == m


def test_record_type_document_and_is_of_type_edge(store: GraphStore) -> None:
    f = file_record("f1")
    with store.transaction() as tx:
        tx.upsert_records([f])
    with store.read() as tx:
        assert tx.get_node("files", f.id)["extension"] == "pdf"  # type: ignore[index]
        edges = tx.get_edges("isOfType", from_id=f"records/{f.id}")
    assert [(e["_from"], e["_to"]) for e in edges] == [(f"records/{f.id}", f"files/{f.id}")]


def test_upsert_dedupes_by_connector_and_external_id(store: GraphStore) -> None:
    first = file_record("f1")
    with store.transaction() as tx:
        tx.upsert_records([first])
    again = file_record("f1", external_revision_id="r2")  # a fresh object with a new uuid
    assert again.id != first.id
    with store.transaction() as tx:
        changed = tx.upsert_records([again])
    assert [r.id for r in changed] == [first.id]
    assert again.id == first.id
    with store.read() as tx:
        assert tx.get_record(first.id).external_revision_id == "r2"  # type: ignore[union-attr]
        assert len(tx.find_nodes("records")) == 1


def test_same_external_id_in_other_connector_is_another_record(store: GraphStore) -> None:
    a, b = file_record("f1", "c1"), file_record("f1", "c2")
    with store.transaction() as tx:
        tx.upsert_records([a, b])
    assert a.id != b.id
    with store.read() as tx:
        assert tx.get_record_by_external_id("c2", "f1").id == b.id  # type: ignore[union-attr]


def test_unchanged_records_are_not_rewritten(store: GraphStore) -> None:
    records = [file_record(f"f{i}") for i in range(50)]
    with store.transaction() as tx:
        assert len(tx.upsert_records(records)) == 50
    with store.transaction() as tx:
        assert tx.upsert_records(records) == []
    records[3].record_name = "renamed.pdf"
    records[7].extension = "txt"  # a type-document field only
    with store.transaction() as tx:
        changed = tx.upsert_records(records)
    assert sorted(r.external_record_id for r in changed) == ["f3", "f7"]
    with store.read() as tx:
        assert tx.get_record(records[7].id).extension == "txt"  # type: ignore[union-attr]


def test_duplicate_identity_within_one_batch_is_one_record(store: GraphStore) -> None:
    a, b = file_record("dup"), file_record("dup", record_name="second.pdf")
    with store.transaction() as tx:
        tx.upsert_records([a, b])
    with store.read() as tx:
        docs = tx.find_nodes("records")
    assert len(docs) == 1
    assert docs[0]["recordName"] == "second.pdf"


def test_records_of_every_type_round_trip(store: GraphStore) -> None:
    page = WebpageRecord(record_name="Page", external_record_id="p1", record_type=RecordType.CONFLUENCE_PAGE)
    plain = Record(record_name="Drive", external_record_id="d1", record_type=RecordType.DRIVE)
    with store.transaction() as tx:
        tx.upsert_records([page, plain])
    with store.read() as tx:
        got = tx.get_records([page.id, plain.id])
    assert got[page.id] == page
    assert type(got[plain.id]) is Record
    assert got[plain.id] == plain


def test_delete_records_removes_type_docs_and_edges(store: GraphStore) -> None:
    a, b = file_record("a"), file_record("b")
    with store.transaction() as tx:
        tx.upsert_records([a, b])
        tx.upsert_edges(
            "permissions",
            [{"_from": "users/u1", "_to": f"records/{a.id}", "role": "READER", "type": "USER"}],
        )
        tx.upsert_edges(
            "recordRelations",
            [{"_from": f"records/{b.id}", "_to": f"records/{a.id}", "relationshipType": "PARENT_CHILD"}],
        )
    with store.transaction() as tx:
        assert tx.delete_records([a.id]) == 1
    with store.read() as tx:
        assert tx.get_record(a.id) is None
        assert tx.get_node("files", a.id) is None
        assert tx.get_edges("permissions", to_id=f"records/{a.id}") == []
        assert tx.get_edges("recordRelations", from_id=f"records/{b.id}") == []
        assert tx.get_edges("isOfType", from_id=f"records/{a.id}") == []
        assert tx.get_record(b.id) is not None


# ---- edges ------------------------------------------------------------------------------------


def test_edges_upsert_count_only_changes(store: GraphStore) -> None:
    edges = [
        {"_from": "users/u1", "_to": "records/r1", "role": "READER", "type": "USER"},
        {"_from": "users/u2", "_to": "records/r1", "role": "WRITER", "type": "USER"},
    ]
    with store.transaction() as tx:
        assert tx.upsert_edges("permissions", edges) == 2
    with store.transaction() as tx:
        assert tx.upsert_edges("permissions", edges) == 0
        edges[1]["role"] = "OWNER"
        assert tx.upsert_edges("permissions", edges) == 1
    with store.read() as tx:
        got = tx.get_edges("permissions", to_id="records/r1")
    assert [(e["_from"], e["role"]) for e in got] == [("users/u1", "READER"), ("users/u2", "OWNER")]


def test_record_relations_keep_one_edge_per_kind(store: GraphStore) -> None:
    with store.transaction() as tx:
        tx.upsert_edges(
            "recordRelations",
            [
                {"_from": "records/a", "_to": "records/b", "relationshipType": "PARENT_CHILD"},
                {"_from": "records/a", "_to": "records/b", "relationshipType": "LINKED_TO"},
            ],
        )
    with store.read() as tx:
        assert len(tx.get_edges("recordRelations", from_id="records/a")) == 2
        assert len(tx.get_edges("recordRelations", from_id="records/a", kind="LINKED_TO")) == 1
    with store.transaction() as tx:
        assert tx.delete_edges("recordRelations", from_id="records/a", kind="LINKED_TO") == 1
    with store.read() as tx:
        assert [e["relationshipType"] for e in tx.get_edges("recordRelations", to_id="records/b")] == [
            "PARENT_CHILD"
        ]


def test_delete_edges_refuses_to_empty_a_collection(store: GraphStore) -> None:
    with store.transaction() as tx, pytest.raises(ValueError, match="from_id or to_id"):
        tx.delete_edges("permissions")


def test_edge_without_ends_is_rejected(store: GraphStore) -> None:
    with store.transaction() as tx, pytest.raises(ValueError, match="_from"):
        tx.upsert_edges("permissions", [{"_to": "records/x"}])


# ---- transactions -----------------------------------------------------------------------------


def test_rollback_discards_everything(store: GraphStore) -> None:
    rec = file_record("f1")
    with pytest.raises(RuntimeError), store.transaction() as tx:  # noqa: PT012 - the whole block is the point
        tx.upsert_records([rec])
        tx.upsert_edges("permissions", [{"_from": "users/u", "_to": f"records/{rec.id}"}])
        tx.append_event("record-events", "newRecord", {"recordId": rec.id}, key=rec.id)
        raise RuntimeError("boom")
    with store.read() as tx:
        assert tx.find_nodes("records") == []
        assert tx.get_edges("permissions", from_id="users/u") == []
        assert all(tx._read_events("record-events", p, -1, 10) == [] for p in range(8))


def test_events_get_consecutive_offsets_per_partition(store: GraphStore) -> None:
    with store.transaction() as tx:
        tx.append_events("record-events", [("k1", "newRecord", {"n": i}) for i in range(3)])
    with store.transaction() as tx:
        tx.append_events("record-events", [("k1", "updateRecord", {"n": 3})])
    from headwater.store.base import partition_for

    with store.read() as tx:
        events = tx._read_events("record-events", partition_for("k1"), -1, 100)
    assert [e.offset for e in events] == [0, 1, 2, 3]
    assert [e.event["payload"]["n"] for e in events] == [0, 1, 2, 3]
    assert events[3].event["eventType"] == "updateRecord"
    assert isinstance(events[0].event["timestamp"], int)


def test_unknown_topic_is_rejected(store: GraphStore) -> None:
    with store.transaction() as tx, pytest.raises(ValueError, match="unknown topic"):
        tx.append_event("nope", "x", {})


def test_lock_makes_read_check_write_atomic(store_url: str) -> None:
    """Four threads, each with its own store connection, increment one counter under the lock."""
    import threading

    from headwater.store.registry import open_store

    setup = open_store(store_url)
    with setup.transaction() as tx:
        tx.upsert_nodes("apps", [{"_key": "counter", "n": 0}])
    stores = [open_store(store_url) for _ in range(4)]

    def bump(s: GraphStore) -> None:
        for _ in range(25):
            with s.transaction() as tx:
                tx.lock("counter")
                n = tx.get_node("apps", "counter")["n"]  # type: ignore[index]
                tx.upsert_nodes("apps", [{"_key": "counter", "n": n + 1}])

    threads = [threading.Thread(target=bump, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with setup.read() as tx:
        assert tx.get_node("apps", "counter") == {"_key": "counter", "n": 100}
    for s in [setup, *stores]:
        s.close()
