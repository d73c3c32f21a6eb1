"""The record upsert of the processor: dedupe, versions, events in the outbox, no-op re-syncs,
placeholders, moves, deletions. Each test runs on every store backend."""

from __future__ import annotations

import asyncio

from headwater.models.constants import ProgressStatus, RecordType
from headwater.store.base import GraphStore

from .helpers import (
    CONN,
    ORG,
    edge_docs,
    edges,
    events,
    file,
    key_of,
    mail,
    make_processor,
    node_key,
    set_indexing_status,
    snapshot,
    user_key,
    user_perm,
)

run = asyncio.run


def test_new_records_are_buffered_then_written_with_edges_and_new_record_events(store: GraphStore) -> None:
    p = make_processor(store)
    a, b = file("a"), file("b", parent="a")
    run(p.on_new_records([(a, [user_perm("Alice@Acme.test", "OWNER")]), (b, [])]))  # type: ignore[arg-type]
    # write-behind: nothing is in the store until a flush
    assert p.pending_records == 2
    assert snapshot(store)["nodes"]["records"] == []
    run(p.flush())

    ka, kb = key_of(store, "a"), key_of(store, "b")
    assert (ka, kb) == (a.id, b.id)
    rg = node_key(store, "recordGroups", "drive-1")
    alice = user_key(store, "alice@acme.test")
    assert edges(store, "belongsTo") == {
        (f"records/{ka}", f"recordGroups/{rg}"),
        (f"records/{kb}", f"recordGroups/{rg}"),
    }
    assert edges(store, "inheritPermissions") == edges(store, "belongsTo")
    assert [(e["_from"], e["_to"], e["relationshipType"]) for e in edge_docs(store, "recordRelations")] == [
        (f"records/{ka}", f"records/{kb}", "PARENT_CHILD")
    ]
    [grant] = edge_docs(store, "permissions")
    assert (grant["_from"], grant["_to"], grant["role"], grant["type"]) == (
        f"users/{alice}",
        f"records/{ka}",
        "OWNER",
        "USER",
    )
    assert edges(store, "isOfType") == {(f"records/{ka}", f"files/{ka}"), (f"records/{kb}", f"files/{kb}")}
    got = events(store)
    assert sorted((t, pl["recordId"]) for t, pl in got) == sorted([("newRecord", ka), ("newRecord", kb)])
    assert all(pl["orgId"] == ORG and pl["connectorId"] == CONN for _, pl in got)
    with store.read() as tx:
        stored = tx.get_records([ka, kb])
    assert {r.indexing_status for r in stored.values()} == {ProgressStatus.QUEUED}
    # the bare record group a record named is created, marked as a placeholder
    with store.read() as tx:
        group = tx.get_node("recordGroups", rg)
    assert group is not None
    assert group["isPlaceholder"] is True
    assert group["externalGroupId"] == "drive-1"


def test_unchanged_resync_writes_nothing_and_emits_nothing(store: GraphStore) -> None:
    p = make_processor(store)
    batch = lambda: [(file("a"), [user_perm("alice@acme.test")]), (file("b", parent="a"), [])]  # noqa: E731
    run(p.on_new_records(batch()))
    run(p.flush())
    set_indexing_status(store, "a", "COMPLETED")
    before = snapshot(store)

    with store.read() as tx:
        tx_class = type(tx)
    writes: list[str] = []
    originals = {
        name: getattr(tx_class, name) for name in ("_write_nodes", "_append_events", "_delete_edges")
    }

    def spy(name: str):  # type: ignore[no-untyped-def]
        def wrapped(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            writes.append(name)
            return originals[name](self, *args, **kwargs)

        return wrapped

    for name in originals:
        setattr(tx_class, name, spy(name))
    try:
        run(p.on_new_records(batch()))
        run(p.flush())
    finally:
        for name, fn in originals.items():
            setattr(tx_class, name, fn)

    assert writes == []
    assert snapshot(store) == before
    with store.read() as tx:
        a = tx.get_record_by_external_id(CONN, "a")
    assert a is not None
    assert a.indexing_status == ProgressStatus.COMPLETED
    assert a.version == 0


def test_revision_change_bumps_version_and_emits_update_record(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("a", "r1"), [])]))
    run(p.flush())
    set_indexing_status(store, "a", "COMPLETED")
    with store.read() as tx:
        first = tx.get_record_by_external_id(CONN, "a")
    assert first is not None

    run(p.on_new_records([(file("a", "r2"), [])]))
    run(p.flush())
    with store.read() as tx:
        second = tx.get_record_by_external_id(CONN, "a")
    assert second is not None
    assert second.id == first.id
    assert second.version == 1
    assert second.external_revision_id == "r2"
    assert second.indexing_status == ProgressStatus.QUEUED
    assert second.created_at == first.created_at
    assert second.virtual_record_id == "vr-a"  # kept for the indexer's reconciliation
    assert [(t, pl["recordId"], pl["version"]) for t, pl in events(store)] == [
        ("newRecord", first.id, 0),
        ("updateRecord", first.id, 1),
    ]


def test_metadata_only_changes_are_written_without_events(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("a", "r1"), [])]))
    run(p.flush())
    set_indexing_status(store, "a", "COMPLETED")

    # a rename with the same revision, through the sync path
    run(p.on_new_records([(file("a", "r1", name="renamed.pdf"), [])]))
    run(p.flush())
    # a metadata update that also carries a new revision: the revision is NOT taken (no re-index)
    run(p.on_record_metadata_update(file("a", "r9", name="again.pdf")))
    with store.read() as tx:
        a = tx.get_record_by_external_id(CONN, "a")
    assert a is not None
    assert a.record_name == "again.pdf"
    assert a.external_revision_id == "r1"
    assert a.version == 0
    assert a.indexing_status == ProgressStatus.COMPLETED
    assert [t for t, _ in events(store)] == ["newRecord"]


def test_content_update_emits_update_record_and_leaves_permissions(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("a", "r1"), [user_perm("alice@acme.test")])]))
    run(p.flush())
    grants = edges(store, "permissions")
    run(p.on_record_content_update(file("a", "r2")))
    assert edges(store, "permissions") == grants
    assert [t for t, _ in events(store)] == ["newRecord", "updateRecord"]
    with store.read() as tx:
        a = tx.get_record_by_external_id(CONN, "a")
    assert a is not None
    assert a.version == 1
    assert a.indexing_status == ProgressStatus.QUEUED


def test_auto_index_off_and_internal_records_are_written_without_events(store: GraphStore) -> None:
    p = make_processor(store)
    off = file("off", indexing_status=ProgressStatus.AUTO_INDEX_OFF)
    internal = file("internal", is_internal=True)
    run(p.on_new_records([(off, []), (internal, [])]))
    run(p.flush())
    with store.read() as tx:
        stored = tx.get_records_by_external_ids(CONN, ["off", "internal"])
    assert stored["off"].indexing_status == ProgressStatus.AUTO_INDEX_OFF
    assert stored["internal"].indexing_status == ProgressStatus.AUTO_INDEX_OFF
    assert events(store) == []


def test_late_parent_is_a_placeholder_promoted_in_place(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("child", parent="folder"), [])]))
    run(p.flush())
    stub_key = key_of(store, "folder")
    child_key = key_of(store, "child")
    with store.read() as tx:
        stub = tx.get_record(stub_key)
    assert stub is not None
    assert stub.is_placeholder
    assert stub.record_type == RecordType.FILE
    assert stub.mime_type == "text/directory"
    assert edges(store, "recordRelations") == {(f"records/{stub_key}", f"records/{child_key}")}
    # the stub is linked to the child's record group, and gets no event
    rg = node_key(store, "recordGroups", "drive-1")
    assert (f"records/{stub_key}", f"recordGroups/{rg}") in edges(store, "belongsTo")
    assert [pl["recordId"] for _, pl in events(store)] == [child_key]
    assert [r.id for r in run(p.get_placeholder_records(CONN))] == [stub_key]

    # the real parent arrives: same key, no longer a placeholder, child edge intact, newRecord
    folder = file("folder", "f1", is_file=False, mime_type="text/directory")
    run(p.on_new_records([(folder, [])]))
    run(p.flush())
    with store.read() as tx:
        real = tx.get_record(stub_key)
    assert real is not None
    assert not real.is_placeholder
    assert real.external_revision_id == "f1"
    assert folder.id == stub_key
    assert edges(store, "recordRelations") == {(f"records/{stub_key}", f"records/{child_key}")}
    assert sorted((t, pl["recordId"]) for t, pl in events(store)) == sorted(
        [("newRecord", child_key), ("newRecord", stub_key)]
    )
    assert run(p.get_placeholder_records(CONN)) == []
    assert [r.id for r in run(p.get_records_by_parent(CONN, "folder"))] == [child_key]


def test_parent_in_the_same_batch_needs_no_placeholder_and_attachments_are_typed(store: GraphStore) -> None:
    p = make_processor(store)
    m = mail("m1")
    att = file("att", parent="m1", parent_type=RecordType.MAIL, group="mailbox-1")
    run(p.on_new_records([(att, []), (m, [])]))  # child first
    run(p.flush())
    assert run(p.get_placeholder_records(CONN)) == []
    [rel] = edge_docs(store, "recordRelations")
    assert (rel["_from"], rel["_to"], rel["relationshipType"]) == (
        f"records/{m.id}",
        f"records/{att.id}",
        "ATTACHMENT",
    )


def test_moved_record_keeps_its_key_and_relinks(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("d1", "x", group=None), []), (file("d2", "x", group=None), [])]))
    run(p.on_new_records([(file("a", "r1", parent="d1"), [])]))
    run(p.flush())
    key = key_of(store, "a")
    d1, d2 = key_of(store, "d1"), key_of(store, "d2")
    run(p.on_records_moved([("a", file("a", "r1", parent="d2", name="moved.pdf"), [])]))
    assert key_of(store, "a") == key
    assert edges(store, "recordRelations") == {(f"records/{d2}", f"records/{key}")}
    assert (f"records/{d1}", f"records/{key}") not in edges(store, "recordRelations")
    # unchanged revision: no event for the move
    assert [t for t, pl in events(store) if pl["recordId"] == key] == ["newRecord"]


def test_record_deleted_by_external_id_emits_delete_record_and_removes_edges(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("a"), [user_perm("alice@acme.test")]), (file("b", parent="a"), [])]))
    run(p.flush())
    set_indexing_status(store, "a", "COMPLETED")
    ka, kb = key_of(store, "a"), key_of(store, "b")

    assert run(p.on_record_deleted_by_external_id(CONN, "a")) is True
    assert run(p.on_record_deleted_by_external_id(CONN, "a")) is False
    with store.read() as tx:
        assert tx.get_record(ka) is None
        assert tx.get_node("files", ka) is None
    for collection in ("permissions", "belongsTo", "inheritPermissions", "recordRelations", "isOfType"):
        assert not {e for e in edges(store, collection) if f"records/{ka}" in e}, collection
    assert key_of(store, "b") == kb  # children are not deleted
    deletes = [pl for t, pl in events(store) if t == "deleteRecord"]
    assert deletes == [
        {
            "orgId": ORG,
            "recordId": ka,
            "version": 0,
            "extension": "pdf",
            "mimeType": "application/pdf",
            "summaryDocumentId": None,
            "virtualRecordId": "vr-a",
            "connectorName": "LOCAL_FS",
            "origin": "CONNECTOR",
        }
    ]
    # by internal key
    assert run(p.on_record_deleted(kb)) is True
    assert sorted(pl["recordId"] for t, pl in events(store) if t == "deleteRecord") == sorted([ka, kb])


def test_cascade_delete_takes_the_subtree(store: GraphStore) -> None:
    p = make_processor(store)
    run(
        p.on_new_records(
            [
                (file("root", group=None), []),
                (file("mid", parent="root"), []),
                (file("leaf", parent="mid"), []),
            ]
        )
    )
    run(p.on_new_records([(file("other"), [])]))
    run(p.flush())
    root = key_of(store, "root")
    result = run(p.on_records_deleted_cascade([root], CONN))
    assert result["success"] is True
    assert result["successfully_deleted"] == 3
    with store.read() as tx:
        left = tx.get_records_by_external_ids(CONN, ["root", "mid", "leaf", "other"])
    assert set(left) == {"other"}
    assert sorted(pl["recordId"] for t, pl in events(store) if t == "deleteRecord") == sorted(
        result["deleted_records"]
    )


def test_batches_use_one_identity_lookup_and_flush_at_the_threshold(store: GraphStore) -> None:
    p = make_processor(store, flush_threshold=50)
    with store.read() as tx:
        tx_class = type(tx)
    calls: list[int] = []
    original = tx_class._select_identities

    def counting(self, collection, connector_id, external_ids):  # type: ignore[no-untyped-def]
        if collection == "records":
            calls.append(len(external_ids))
        return original(self, collection, connector_id, external_ids)

    tx_class._select_identities = counting  # type: ignore[method-assign]
    try:
        run(p.on_new_records([(file(f"f{i}"), []) for i in range(49)]))
        assert p.pending_records == 49
        assert calls == []
        run(p.on_new_records([(file("f49"), [])]))  # the 50th: flushed on its own
        assert p.pending_records == 0
    finally:
        tx_class._select_identities = original  # type: ignore[method-assign]
    # one lookup for the batch's identities and one by upsert_records: never one per record
    assert calls == [50, 50]
    assert len(events(store)) == 50


def test_same_record_twice_in_the_buffer_is_written_in_order(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("a", "r1"), [])]))
    run(p.on_new_records([(file("a", "r2"), [])]))
    run(p.flush())
    with store.read() as tx:
        a = tx.get_record_by_external_id(CONN, "a")
    assert a is not None
    assert a.version == 1
    assert a.external_revision_id == "r2"
    assert [t for t, _ in events(store)] == ["newRecord", "updateRecord"]


def test_readers_flush_first(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("a"), [])]))
    found = run(p.get_record_by_external_id(CONN, "a"))
    assert found is not None
    assert found.external_record_id == "a"
    assert p.pending_records == 0


def test_reindex_emits_reindex_record_for_existing_records(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("a"), [])]))
    run(p.flush())
    set_indexing_status(store, "a", "FAILED")
    stored = run(p.get_record_by_external_id(CONN, "a"))
    assert stored is not None
    assert run(p.reindex_existing_records([stored, file("missing")])) == 1
    [(kind, payload)] = [(t, pl) for t, pl in events(store) if t == "reindexRecord"]
    assert payload["recordId"] == stored.id
    assert payload["forceReindex"] is True
    again = run(p.get_record_by_external_id(CONN, "a"))
    assert again is not None
    assert again.indexing_status == ProgressStatus.QUEUED
