"""Nothing strands: records left QUEUED or IN_PROGRESS with no event to move them are queued again;
records whose event is still on its way are left alone; index entries of vanished records go."""

from __future__ import annotations

import time

from headwater.indexing.sweeper import StrandedRecordSweeper, SweepOptions, store_backlog_probe
from headwater.indexing.types import IndexedRecord

from .helpers import ALICE, Env, doc, grant


def _sweeper(env: Env) -> StrandedRecordSweeper:
    return StrandedRecordSweeper(
        env.store,
        env.index,
        options=SweepOptions(lease_s=0.2, stale_queued_s=0.2),
        backlog_probe=store_backlog_probe("records_consumer_group"),
    )


def _set(env: Env, ext: str, **fields: object) -> None:
    key = env.key(ext)
    with env.store.transaction() as tx:
        d = tx.get_node("records", key)
        assert d is not None
        tx.upsert_nodes("records", [{**d, **fields}])


def test_stranded_records_are_queued_again_and_indexed(env: Env) -> None:
    env.put("queued.txt", "a record whose status says QUEUED but whose event is long gone")
    env.put("running.txt", "a record a dead worker left IN_PROGRESS")
    env.sync((doc("queued.txt"), [grant(ALICE)]), (doc("running.txt"), [grant(ALICE)]))
    env.index_all()
    long_ago = int(time.time() * 1000) - 60_000
    _set(env, "queued.txt", indexingStatus="QUEUED", updatedAtTimestamp=long_ago)
    _set(env, "running.txt", indexingStatus="IN_PROGRESS", processingStartedAt=long_ago)
    env.index.delete_records([env.key("queued.txt"), env.key("running.txt")])

    report = _sweeper(env).sweep()
    assert sorted(report.requeued) == sorted([env.key("queued.txt"), env.key("running.txt")])
    assert env.status("queued.txt") == (
        "QUEUED",
        "queued again by the sweeper: it was QUEUED with no event to index it",
    )
    env.index_all()
    assert env.statuses() == {"queued.txt": "COMPLETED", "running.txt": "COMPLETED"}
    assert env.index.record_keys() == {env.key("queued.txt"), env.key("running.txt")}


def test_a_worker_with_a_sweeper_needs_no_outside_help(env: Env) -> None:
    env.put("a.txt", "text")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    env.index_all()
    _set(env, "a.txt", indexingStatus="QUEUED", updatedAtTimestamp=1)
    env.index.delete_records([env.key("a.txt")])
    env.index_all(sweeper=True)
    assert env.status("a.txt") == ("COMPLETED", None)
    assert env.index.record_keys() == {env.key("a.txt")}


def test_records_whose_event_is_still_pending_or_whose_lease_runs_are_left_alone(env: Env) -> None:
    env.put("pending.txt", "its newRecord event has not been handled yet")
    env.put("young.txt", "started a moment ago")
    env.sync((doc("pending.txt"), [grant(ALICE)]))
    env.sync((doc("young.txt"), [grant(ALICE)]))
    _set(env, "pending.txt", updatedAtTimestamp=1)  # old, but its event waits in the log
    _set(env, "young.txt", indexingStatus="IN_PROGRESS", processingStartedAt=int(time.time() * 1000))
    sweeper = StrandedRecordSweeper(
        env.store,
        env.index,
        options=SweepOptions(lease_s=600),
        backlog_probe=store_backlog_probe("records_consumer_group"),
    )
    assert sweeper.sweep().requeued == []
    assert env.status("pending.txt")[0] == "QUEUED"
    assert env.status("young.txt")[0] == "IN_PROGRESS"


def test_index_entries_of_records_that_no_longer_exist_are_removed(env: Env) -> None:
    env.put("a.txt", "text")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    env.index_all()
    ghost = IndexedRecord("no-such-record", "org-1", "mem-1", "FILE", "ghost", frozenset({"users/x"}), "h")
    env.index.replace_record(ghost, [])
    report = _sweeper(env).sweep()
    assert report.orphans_removed == 1
    assert env.index.record_keys() == {env.key("a.txt")}
