"""Deletions: tombstones, mark-and-sweep of completely listed scopes, and the mass-deletion brake
with its quarantine. Each test runs on every store backend."""

from __future__ import annotations

import asyncio
from typing import Any

from headwater.connectors.core.processor import DataSourceEntitiesProcessor
from headwater.store.base import GraphStore

from .helpers import CONN, edges, events, file, key_of, make_processor, snapshot, user_perm

run = asyncio.run


def seed(p: DataSourceEntitiesProcessor, names: str, group: str = "drive-1") -> None:
    run(p.on_new_records([(file(n, group=group), [user_perm("alice@acme.test")]) for n in names]))
    run(p.flush())


def relist(p: DataSourceEntitiesProcessor, names: str, group: str = "drive-1") -> None:
    """What a connector does on a later run: the same items again, unchanged."""
    run(p.on_new_records([(file(n, group=group), [user_perm("alice@acme.test")]) for n in names]))


def stored(store: GraphStore) -> list[str]:
    with store.read() as tx:
        return sorted(d["externalRecordId"] for d in tx.find_nodes("records", connector_id=CONN))


def deletes(store: GraphStore) -> list[str]:
    return sorted(pl["recordId"] for t, pl in events(store) if t == "deleteRecord")


def doc(store: GraphStore, ext: str) -> dict[str, Any]:
    with store.read() as tx:
        found = tx.get_node_by_external_id("records", CONN, ext)
    assert found is not None
    return found


def test_a_tombstone_deletes_the_record_its_edges_and_emits_delete_record(store: GraphStore) -> None:
    p = make_processor(store)
    seed(p, "ab")
    ka = key_of(store, "a")
    p.reset_stats()
    assert run(p.on_record_deleted_by_external_id(CONN, "a")) is True
    assert stored(store) == ["b"]
    assert deletes(store) == [ka]
    assert not any(ka in f or ka in t for f, t in edges(store, "permissions") | edges(store, "belongsTo"))
    assert p.stats.deleted == 1
    assert run(p.on_record_deleted_by_external_id(CONN, "a")) is False


def test_complete_scope_deletes_what_the_listing_did_not_see(store: GraphStore) -> None:
    p = make_processor(store)
    seed(p, "abcde")
    ke = key_of(store, "e")
    p.reset_stats()
    p.begin_scope("drive-1")
    relist(p, "abcd")
    result = run(p.complete_scope("drive-1"))
    assert (result.scope_id, result.deleted, result.quarantined, result.braked) == (
        "drive-1",
        ["e"],
        [],
        False,
    )
    assert (result.total, result.seen, result.swept, result.still_quarantined, result.released) == (
        5,
        4,
        True,
        [],
        [],
    )
    assert stored(store) == ["a", "b", "c", "d"]
    assert deletes(store) == [ke]
    assert all(
        f"records/{ke}" not in pair for pair in edges(store, "belongsTo") | edges(store, "permissions")
    )
    assert p.stats.as_dict() == {
        "discovered": 4,
        "new": 0,
        "updated": 0,
        "unchanged": 4,
        "deleted": 1,
        "skipped": 0,
        "failed": 0,
    }
    assert p.open_scopes == []


def test_the_sweep_commits_with_the_buffered_page(store: GraphStore) -> None:
    p = make_processor(store)
    seed(p, "ab")
    p.begin_scope("drive-1")
    relist(p, "bc")  # buffered, not flushed: c is new
    assert p.pending_records == 2
    result = run(p.complete_scope("drive-1"))
    assert result.deleted == ["a"]
    assert p.pending_records == 0
    assert stored(store) == ["b", "c"]


def test_scopes_not_begun_or_not_completed_are_never_swept(store: GraphStore) -> None:
    p = make_processor(store)
    seed(p, "abc")
    before = snapshot(store)
    # never begun
    result = run(p.complete_scope("drive-1"))
    assert (result.swept, result.deleted, result.total) == (False, [], 0)
    # begun, listing interrupted (never completed): the next run starts afresh
    p.begin_scope("drive-1")
    relist(p, "a")
    run(p.flush())
    assert p.abandon_scope("drive-1") is True
    assert run(p.complete_scope("drive-1")).swept is False
    # begin again: what was seen before does not count
    p.begin_scope("drive-1")
    p.begin_scope("drive-1")
    assert snapshot(store) == before


def test_only_this_connectors_real_records_of_the_scope_are_swept(store: GraphStore) -> None:
    p = make_processor(store)
    # a child whose parent is unknown creates a placeholder parent in the same group
    run(p.on_new_records([(file("child", parent="folder-x"), [user_perm("alice@acme.test")])]))
    seed(p, "a")
    seed(p, "z", group="drive-2")
    other = make_processor(store)
    other.connector_id = "conn-2"
    run(other.on_new_records([(file("a", group="drive-1"), [])]))
    run(other.flush())
    p.begin_scope("drive-1")
    relist(p, "a")
    result = run(p.complete_scope("drive-1"))
    assert result.deleted == ["child"]
    assert result.total == 2  # a, child; not the placeholder, not drive-2, not conn-2's record
    assert stored(store) == ["a", "folder-x", "z"]
    with store.read() as tx:
        assert [d["externalRecordId"] for d in tx.find_nodes("records", connector_id="conn-2")] == ["a"]


def test_record_group_ids_and_whole_connector_scopes(store: GraphStore) -> None:
    p = make_processor(store)
    seed(p, "ab", group="drive-1")
    seed(p, "cd", group="drive-2")
    seed(p, "e", group="drive-3")
    p.begin_scope("both", record_group_ids=["drive-1", "drive-2"])
    relist(p, "a", group="drive-1")
    relist(p, "c", group="drive-2")
    relist(p, "e", group="drive-3")  # not in the scope: neither seen nor swept
    p.mass_deletion_threshold = 1.0
    result = run(p.complete_scope("both"))
    assert (result.deleted, result.total, result.seen) == (["b", "d"], 4, 2)
    assert stored(store) == ["a", "c", "e"]

    p.begin_scope("everything", whole_connector=True)
    relist(p, "ae", group="drive-1")
    result = run(p.complete_scope("everything"))
    assert (result.deleted, result.total) == (["c"], 3)
    assert stored(store) == ["a", "e"]


def test_mark_seen_and_failed_items_protect_records_from_the_sweep(store: GraphStore) -> None:
    p = make_processor(store)
    seed(p, "abcd")
    p.mass_deletion_threshold = 1.0
    p.begin_scope("drive-1")
    relist(p, "a")
    p.mark_seen("drive-1", ["b"])  # unchanged by its etag: the connector did not hand it in
    p.record_failure("c", "download failed: 500")  # present in the source, failed this time
    p.mark_seen("not-begun", ["d"])  # ignored
    result = run(p.complete_scope("drive-1"))
    assert result.deleted == ["d"]
    assert stored(store) == ["a", "b", "c"]


def test_the_brake_quarantines_instead_of_deleting(store: GraphStore) -> None:
    p = make_processor(store)
    seed(p, "abcdefghij")
    before_events = events(store)
    p.reset_stats()
    p.begin_scope("drive-1")
    relist(p, "abcdefg")  # h, i, j missing: 30 % > 20 %
    result = run(p.complete_scope("drive-1"))
    assert (result.braked, result.deleted, result.quarantined, result.total) == (
        True,
        [],
        ["h", "i", "j"],
        10,
    )
    assert stored(store) == list("abcdefghij")
    assert events(store) == before_events  # no events at all
    assert p.stats.deleted == 0
    marked = doc(store, "h")
    assert marked["quarantineScope"] == "drive-1"
    assert isinstance(marked["quarantinedAt"], int)
    assert marked["quarantineReason"] == (
        "the listing of scope 'drive-1' no longer had 3 of its 10 records (more than 20%); "
        "deletion waits for an administrator's confirmation"
    )
    assert "quarantinedAt" not in doc(store, "a")
    listed = run(p.get_quarantined("drive-1"))
    assert [(q["externalRecordId"], q["quarantineScope"]) for q in listed] == [
        ("h", "drive-1"),
        ("i", "drive-1"),
        ("j", "drive-1"),
    ]
    assert run(p.get_quarantined("other")) == []

    # a later normal sweep does not delete them, and does not brake again
    p.begin_scope("drive-1")
    relist(p, "abcdefg")
    again = run(p.complete_scope("drive-1"))
    assert (again.braked, again.deleted, again.quarantined, again.still_quarantined) == (
        False,
        [],
        [],
        ["h", "i", "j"],
    )
    assert stored(store) == list("abcdefghij")
    assert events(store) == before_events

    # the administrator confirms: deleted, with events
    keys = sorted(key_of(store, x) for x in "hij")
    assert run(p.confirm_quarantined_deletions("drive-1")) == ["h", "i", "j"]
    assert stored(store) == list("abcdefg")
    assert deletes(store) == keys
    assert p.stats.deleted == 3
    assert run(p.confirm_quarantined_deletions()) == []


def test_release_brings_quarantined_records_back(store: GraphStore) -> None:
    p = make_processor(store)
    seed(p, "abcde")
    p.begin_scope("drive-1")
    relist(p, "ab")
    assert run(p.complete_scope("drive-1")).quarantined == ["c", "d", "e"]
    before_events = events(store)
    assert run(p.release_quarantine()) == ["c", "d", "e"]
    assert all("quarantinedAt" not in doc(store, x) for x in "cde")
    assert events(store) == before_events
    assert run(p.get_quarantined()) == []
    assert stored(store) == list("abcde")


def test_a_quarantined_record_that_reappears_is_unquarantined(store: GraphStore) -> None:
    p = make_processor(store)
    seed(p, "abcde")
    p.begin_scope("drive-1")
    relist(p, "ab")
    assert run(p.complete_scope("drive-1")).quarantined == ["c", "d", "e"]
    before_events = events(store)
    # c comes back through on_new_records (unchanged): rewritten without the mark, no event
    relist(p, "c")
    run(p.flush())
    assert "quarantinedAt" not in doc(store, "c")
    assert events(store) == before_events
    # d comes back through mark_seen in a completed scope: released there
    p.begin_scope("drive-1")
    relist(p, "abc")
    p.mark_seen("drive-1", ["d"])
    result = run(p.complete_scope("drive-1"))
    assert (result.released, result.still_quarantined, result.deleted) == (["d"], ["e"], [])
    assert "quarantinedAt" not in doc(store, "d")
    assert doc(store, "e")["quarantineScope"] == "drive-1"
    assert events(store) == before_events
    assert [q["externalRecordId"] for q in run(p.get_quarantined())] == ["e"]


def test_the_threshold_is_more_than_a_share_and_more_than_a_minimum(store: GraphStore) -> None:
    p = make_processor(store)
    seed(p, "abcdefghij")
    p.begin_scope("drive-1")
    relist(p, "abcdefgh")  # 2 of 10 = 20 %: not more than 20 %
    assert run(p.complete_scope("drive-1")).deleted == ["i", "j"]

    q = make_processor(store)
    q.connector_id = "conn-small"
    run(q.on_new_records([(file(x, group="small"), []) for x in "xy"]))
    run(q.flush())
    q.begin_scope("small")
    run(q.on_new_records([(file("x", group="small"), [])]))
    # 1 of 2 is 50 %, but a single deletion is never a mass deletion (mass_deletion_min_count=1)
    assert run(q.complete_scope("small")).deleted == ["y"]

    r = make_processor(store, mass_deletion_threshold=0.2, mass_deletion_min_count=0)
    r.connector_id = "conn-strict"
    run(r.on_new_records([(file(x, group="small"), []) for x in "xy"]))
    run(r.flush())
    r.begin_scope("small")
    run(r.on_new_records([(file("x", group="small"), [])]))
    result = run(r.complete_scope("small"))
    assert (result.braked, result.quarantined) == (True, ["y"])
