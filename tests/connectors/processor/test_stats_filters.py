"""Stats counted at commit time, the failure ledger (one bad item is recorded and skipped, the rest
of the batch commits), indexing filters, and the sync-filter helper. Each store test runs on every
store backend."""

from __future__ import annotations

import asyncio
from typing import Any

from headwater.connectors.core.base.sync_point.sync_point import SyncDataPointType, SyncPoint
from headwater.connectors.core.filters import (
    indexing_enabled_for,
    parse_filter_values,
    record_passes_sync_filters,
)
from headwater.connectors.core.stats import ItemFailure, SyncStats
from headwater.connectors.testing import DictConfigService
from headwater.models.constants import ProgressStatus
from headwater.models.entities import FileRecord
from headwater.models.permission import EntityType, Permission, PermissionType
from headwater.store.base import GraphStore

from .helpers import CONN, events, file, key_of, mail, make_processor, user_perm

run = asyncio.run


def stored(store: GraphStore) -> list[str]:
    with store.read() as tx:
        return sorted(d["externalRecordId"] for d in tx.find_nodes("records", connector_id=CONN))


def status(store: GraphStore, ext: str) -> str:
    with store.read() as tx:
        record = tx.get_record_by_external_id(CONN, ext)
    assert record is not None
    return record.indexing_status.value


# ---- stats -------------------------------------------------------------------------------------------


def test_stats_count_what_was_committed(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("a"), []), (file("b"), []), (file("c"), [])]))
    assert p.stats.as_dict() == SyncStats(discovered=3).as_dict()  # nothing committed yet
    run(p.flush())
    assert p.stats == SyncStats(discovered=3, new=3)

    p.reset_stats()
    run(
        p.on_new_records(
            [
                (file("a"), []),  # unchanged
                (file("b", rev="r2"), []),  # content changed
                (file("c", name="renamed.pdf"), []),  # metadata changed
                (file("d"), []),  # new
            ]
        )
    )
    run(p.flush())
    assert p.stats == SyncStats(discovered=4, new=1, updated=2, unchanged=1)

    p.reset_stats()
    run(p.on_records_moved([("d", file("d2"), [])]))
    run(p.on_record_deleted_by_external_id(CONN, "a"))
    assert p.stats == SyncStats(discovered=1, updated=1, deleted=1)
    p.record_skipped(2)
    assert p.stats.as_dict() == {
        "discovered": 1,
        "new": 0,
        "updated": 1,
        "unchanged": 0,
        "deleted": 1,
        "skipped": 2,
        "failed": 0,
    }


def test_a_failed_flush_counts_nothing_until_it_commits(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("a"), [])]))
    real = p.store.transaction
    calls = {"n": 0}

    def failing() -> Any:
        calls["n"] += 1
        raise ConnectionError("store down")

    p.data_store_provider.store.transaction = failing  # type: ignore[method-assign]
    try:
        try:
            run(p.flush())
        except ConnectionError:
            pass
        else:  # pragma: no cover
            raise AssertionError("the flush should have failed")
    finally:
        p.data_store_provider.store.transaction = real  # type: ignore[method-assign]
    assert calls["n"] == 1  # no bad item found: not retried
    assert p.stats == SyncStats(discovered=1)
    assert p.pending_records == 1
    run(p.flush())
    assert p.stats == SyncStats(discovered=1, new=1)


# ---- the failure ledger ----------------------------------------------------------------------------------


def test_bad_items_are_recorded_and_skipped_and_the_rest_commits(store: GraphStore) -> None:
    p = make_processor(store)
    no_id = file("x")
    no_id.external_record_id = ""
    nobody = Permission(type=PermissionType.READ, entity_type=EntityType.USER)
    no_group = Permission(type=PermissionType.WRITE, entity_type=EntityType.GROUP)
    run(
        p.on_new_records(
            [
                (file("a"), [user_perm("alice@acme.test")]),
                (no_id, []),
                (file("b"), [user_perm("alice@acme.test"), nobody]),
                (file("c"), [no_group]),
                ("not a pair",),  # type: ignore[list-item]
                (file("d"), []),
            ]
        )
    )
    run(p.flush())
    assert stored(store) == ["a", "d"]
    assert [(f.external_id, f.reason, f.record_name) for f in p.failures] == [
        ("", "the record has no external record id", "x.pdf"),
        ("b", "permission #2 (USER, READER) names neither an email nor an external id", "b.pdf"),
        ("c", "permission #1 (GROUP, WRITER) names no external id", "c.pdf"),
        ("", "not a (record, permissions) pair: tuple", None),
    ]
    assert all(isinstance(f, ItemFailure) and f.at_ms > 0 for f in p.failures)
    assert p.stats == SyncStats(discovered=6, new=2, failed=4)
    p.reset_stats()
    assert (p.stats, p.failures) == (SyncStats(), [])


def test_an_item_that_cannot_be_written_is_found_after_the_flush_fails(store: GraphStore) -> None:
    p = make_processor(store)
    sp = SyncPoint("LOCAL_FS", "", SyncDataPointType.RECORDS, p.data_store_provider)
    broken = file("b")
    broken.size_in_bytes = object()  # type: ignore[assignment]  # no validation on assignment
    run(p.on_new_records([(file("a"), []), (broken, []), (file("c"), [])]))
    run(sp.update_sync_point("drive-1", {"cursor": "page-2"}))  # flushes the page with its cursor
    assert stored(store) == ["a", "c"]
    assert run(sp.read_sync_point("drive-1")) == {"cursor": "page-2"}
    [failure] = p.failures
    assert (failure.external_id, failure.record_name) == ("b", "b.pdf")
    assert failure.reason.startswith("the record cannot be written: PydanticSerializationError: ")
    assert sorted(t for t, _ in events(store)) == ["newRecord", "newRecord"]
    assert p.stats == SyncStats(discovered=3, new=2, failed=1)


def test_connectors_record_their_own_failures(store: GraphStore) -> None:
    p = make_processor(store)
    p.record_failure("item-9", "the source answered 500 for its content", record_name="Report.docx")
    [f] = p.failures
    assert (f.external_id, f.reason, f.record_name) == (
        "item-9",
        "the source answered 500 for its content",
        "Report.docx",
    )
    assert p.stats.failed == 1
    p.record_failure("item-10", "x" * 2000)
    assert len(p.failures[1].reason) == 500


# ---- indexing filters ------------------------------------------------------------------------------


def filters(values: dict[str, Any]) -> Any:
    return parse_filter_values(values, "test", "indexing")


def on(key: str, value: bool) -> dict[str, Any]:
    return {key: {"type": "boolean", "operator": "is", "value": value}}


def test_manual_sync_writes_records_auto_index_off_without_events(store: GraphStore) -> None:
    p = make_processor(store, indexing_filters=filters(on("enable_manual_sync", True)))
    run(p.on_new_records([(file("a"), []), (mail("m"), [])]))
    run(p.flush())
    assert (status(store, "a"), status(store, "m")) == ("AUTO_INDEX_OFF", "AUTO_INDEX_OFF")
    assert events(store) == []
    # a content change is written without an event too
    run(p.on_new_records([(file("a", rev="r2"), [])]))
    run(p.flush())
    assert events(store) == []
    assert p.stats.updated == 1


def test_a_disabled_key_turns_off_its_record_type_only(store: GraphStore) -> None:
    p = make_processor(store, indexing_filters=filters({**on("files", False), **on("mails", True)}))
    run(p.on_new_records([(file("a"), []), (mail("m"), [])]))
    run(p.flush())
    assert (status(store, "a"), status(store, "m")) == ("AUTO_INDEX_OFF", "QUEUED")
    assert [(t, pl["recordId"]) for t, pl in events(store)] == [("newRecord", key_of(store, "m"))]

    q = make_processor(store, indexing_filters=filters(on("emails", False)))
    q.connector_id = "conn-2"
    run(q.on_new_records([(mail("m2"), [])]))
    run(q.flush())
    with store.read() as tx:
        record = tx.get_record_by_external_id("conn-2", "m2")
    assert record is not None
    assert record.indexing_status == ProgressStatus.AUTO_INDEX_OFF


def test_indexing_keys_by_record_type() -> None:
    off = {k: filters(on(k, False)) for k in ("files", "mails", "emails", "pages", "webpages", "issues")}
    f, m = file("a"), mail("m")
    assert indexing_enabled_for(f, None) is True
    assert indexing_enabled_for(f, filters({})) is True
    assert indexing_enabled_for(f, off["files"]) is False
    assert indexing_enabled_for(m, off["files"]) is True
    assert indexing_enabled_for(m, off["mails"]) is False
    assert indexing_enabled_for(m, off["emails"]) is False
    assert indexing_enabled_for(f, filters(on("enable_manual_sync", False))) is True


def test_load_filters_reads_the_instance_config(store: GraphStore) -> None:
    config = DictConfigService(
        {
            f"/services/connectors/{CONN}/config": {
                "filters": {
                    "sync": {
                        "values": {"file_extensions": {"type": "list", "operator": "in", "value": ["pdf"]}}
                    },
                    "indexing": {"values": on("files", False)},
                }
            }
        }
    )
    p = make_processor(store)
    p.config_service = config
    sync, indexing = run(p.load_filters())
    assert (sync.get_value("file_extensions"), indexing.is_enabled("files")) == (["pdf"], False)
    assert p.indexing_filters is indexing
    assert p.sync_filters is sync
    run(p.on_new_records([(file("a"), [])]))
    run(p.flush())
    assert status(store, "a") == "AUTO_INDEX_OFF"


# ---- sync filters (applied by connectors) --------------------------------------------------------------


def sync_filters(values: dict[str, Any]) -> Any:
    return parse_filter_values(values, "test", "sync")


def test_record_passes_sync_filters() -> None:
    pdf = file("a")  # extension pdf, source_updated_at 1000
    doc = file("b", extension="DOCX", name="b.docx", size_in_bytes=5_000)
    bare = file("c", extension=None, name="README")
    folder = FileRecord(record_name="dir", external_record_id="d", is_file=False, extension=None)
    assert record_passes_sync_filters(pdf, None) is True
    assert record_passes_sync_filters(pdf, sync_filters({})) is True

    only_docx = sync_filters(
        {"file_extensions": {"type": "multiselect", "operator": "in", "value": [".docx"]}}
    )
    assert [record_passes_sync_filters(r, only_docx) for r in (pdf, doc, bare, folder, mail("m"))] == [
        False,
        True,
        False,
        True,
        True,
    ]
    no_pdf = sync_filters({"file_extensions": {"type": "list", "operator": "not_in", "value": ["pdf"]}})
    assert [record_passes_sync_filters(r, no_pdf) for r in (pdf, doc, bare)] == [False, True, True]

    modified = sync_filters(
        {"modified": {"type": "datetime", "operator": "is_between", "value": {"start": 500, "end": 1500}}}
    )
    late = file("late", source_updated_at=2000)
    unknown = file("u", source_updated_at=None)
    assert [record_passes_sync_filters(r, modified) for r in (pdf, late, unknown)] == [True, False, True]
    created = sync_filters({"created": {"type": "datetime", "operator": "is_after", "value": {"start": 100}}})
    assert record_passes_sync_filters(file("x", source_created_at=50), created) is False
    assert record_passes_sync_filters(file("y", source_created_at=150), created) is True
    recent = sync_filters({"modified": {"type": "datetime", "operator": "last_7_days"}})
    now = 30 * 86_400_000
    assert (
        record_passes_sync_filters(file("old", source_updated_at=now - 8 * 86_400_000), recent, now) is False
    )
    assert record_passes_sync_filters(file("new", source_updated_at=now - 86_400_000), recent, now) is True

    at_most = sync_filters({"max_file_size": {"type": "number", "operator": "equal", "value": 4_000}})
    assert record_passes_sync_filters(doc, at_most) is False
    assert record_passes_sync_filters(file("small", size_in_bytes=4_000), at_most) is True
    assert record_passes_sync_filters(file("nosize"), at_most) is True
    under = sync_filters({"max_file_size": {"type": "number", "operator": "less_than", "value": 4_000}})
    assert record_passes_sync_filters(file("small", size_in_bytes=4_000), under) is False
