"""The event log's contract, against every store backend (the `store` fixture: SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.errors import ConfigurationError
from headwater.events.base import (
    ENTITY_EVENTS,
    RECORD_EVENTS,
    SYNC_EVENTS,
    EntityEventTypes,
    Event,
    EventTypes,
    SyncActions,
    parse_sync_event_type,
    sync_event_type,
)
from headwater.events.registry import open_event_log, open_relay
from headwater.events.store_log import StoreEventConsumer, StoreEventLog
from headwater.models.constants import Connectors
from headwater.settings import Settings
from headwater.store.base import GraphStore
from headwater.store.registry import open_store
from headwater.store.schema import PARTITIONS


def append(store: GraphStore, topic: str, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    with store.transaction() as tx:
        tx.append_events(topic, events)


def drain(consumer: StoreEventConsumer, *, commit: bool = True, batch: int = 500) -> list[Event]:
    """Everything the consumer gets until a poll comes back empty."""
    out: list[Event] = []
    while events := consumer.poll(batch):
        out.extend(events)
        if commit:
            consumer.commit()
    return out


def ids(events: list[Event]) -> list[tuple[int, int]]:
    return [(e.partition, e.offset) for e in events]


def record_events(n: int, keys: int = 10) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (f"rec-{i % keys}", EventTypes.UPDATE_RECORD.value, {"recordId": f"rec-{i % keys}", "seq": i})
        for i in range(n)
    ]


@pytest.fixture
def second_store(store: GraphStore) -> Iterator[GraphStore]:
    """Another connection to the same store, as another process would have."""
    other = open_store(store.url)
    try:
        yield other
    finally:
        other.close()


# ---- the outbox and the envelope -------------------------------------------------------------------


def test_events_are_visible_only_after_the_transaction_commits(
    store: GraphStore, second_store: GraphStore
) -> None:
    log = StoreEventLog(store)
    consumer = log.consumer("g", RECORD_EVENTS)
    with store.transaction() as tx:
        tx.append_events(RECORD_EVENTS, record_events(5))
        with second_store.read() as reader:
            seen = [e for p in range(PARTITIONS) for e in reader._read_events(RECORD_EVENTS, p, -1, 100)]
        assert seen == []
    got = consumer.poll()
    assert sorted(e.payload["seq"] for e in got) == [0, 1, 2, 3, 4]
    consumer.close()


def test_events_of_a_rolled_back_transaction_are_never_delivered(store: GraphStore) -> None:
    class Boom(Exception):
        pass

    def fail_after_appending() -> None:
        with store.transaction() as tx:
            tx.append_events(RECORD_EVENTS, record_events(5))
            raise Boom

    with pytest.raises(Boom):
        fail_after_appending()
    append(store, RECORD_EVENTS, [("rec-x", EventTypes.NEW_RECORD.value, {"recordId": "rec-x"})])
    consumer = StoreEventLog(store).consumer("g", RECORD_EVENTS)
    got = drain(consumer)
    assert [(e.key, e.event_type) for e in got] == [("rec-x", "newRecord")]
    consumer.close()


def test_envelope_shape_and_event_names(store: GraphStore) -> None:
    before = int(time.time() * 1000)
    payload = {"recordId": "r1", "orgId": "o1", "connector": "OUTLOOK", "recordName": "Subject.eml"}
    append(store, RECORD_EVENTS, [("r1", EventTypes.NEW_RECORD.value, payload)])
    resync = sync_event_type(Connectors.SHAREPOINT_ONLINE, SyncActions.RESYNC)
    append(store, SYNC_EVENTS, [("", resync, {"orgId": "o1", "connector": "SHAREPOINT ONLINE"})])
    append(store, ENTITY_EVENTS, [("o1", EntityEventTypes.APP_ENABLED.value, {"orgId": "o1"})])
    after = int(time.time() * 1000)

    log = StoreEventLog(store)
    (record,) = drain(log.consumer("g", RECORD_EVENTS))
    assert set(record.envelope) == {"eventType", "payload", "timestamp"}
    assert record.envelope["eventType"] == "newRecord"
    assert record.envelope["payload"] == payload
    assert before <= record.envelope["timestamp"] <= after
    assert (record.topic, record.key) == (RECORD_EVENTS, "r1")

    (sync,) = drain(log.consumer("g", SYNC_EVENTS))
    assert sync.event_type == "sharepointonline.resync"
    assert parse_sync_event_type(sync.event_type) == ("sharepointonline", SyncActions.RESYNC)
    (entity,) = drain(log.consumer("g", ENTITY_EVENTS))
    assert entity.event_type == "appEnabled"


def test_sync_event_type_names() -> None:
    assert sync_event_type("OUTLOOK", "resync") == "outlook.resync"
    assert sync_event_type("Google Drive Workspace", SyncActions.START) == "googledriveworkspace.start"
    assert [sync_event_type("DRIVE", a) for a in SyncActions] == [
        "drive.init",
        "drive.start",
        "drive.resync",
        "drive.reindex",
        "drive.delete",
    ]
    with pytest.raises(ValueError):
        sync_event_type("DRIVE", "explode")
    with pytest.raises(ValueError):
        parse_sync_event_type("newRecord")


def test_unknown_topic_is_refused(store: GraphStore) -> None:
    with pytest.raises(ValueError):
        StoreEventLog(store).consumer("g", "no-such-topic")


# ---- order and offsets ------------------------------------------------------------------------------


def test_order_per_key_across_many_interleaved_keys(store: GraphStore) -> None:
    keys = [f"rec-{k}" for k in range(40)]
    seq: dict[str, int] = defaultdict(int)
    for txn in range(25):  # 25 transactions, each touching a different mix of keys
        batch: list[tuple[str, str, dict[str, Any]]] = []
        for i in range(12):
            key = keys[(txn * 7 + i * 13) % len(keys)]
            batch.append((key, EventTypes.UPDATE_RECORD.value, {"recordId": key, "seq": seq[key]}))
            seq[key] += 1
        append(store, RECORD_EVENTS, batch)

    consumer = StoreEventLog(store).consumer("indexing", RECORD_EVENTS)
    got = drain(consumer, batch=7)
    consumer.close()
    seen: dict[str, list[int]] = defaultdict(list)
    for event in got:
        seen[event.key].append(int(event.payload["seq"]))
    assert {k: v for k, v in seen.items()} == {k: list(range(n)) for k, n in seq.items()}
    by_partition: dict[int, list[int]] = defaultdict(list)
    for event in got:
        by_partition[event.partition].append(event.offset)
    assert all(offsets == sorted(offsets) for offsets in by_partition.values())
    assert len(got) == 25 * 12


def test_committed_offsets_survive_a_new_consumer(store: GraphStore) -> None:
    log = StoreEventLog(store)
    append(store, RECORD_EVENTS, record_events(30))
    first = log.consumer("g", RECORD_EVENTS, member="first")
    assert len(drain(first)) == 30
    first.close()

    second = log.consumer("g", RECORD_EVENTS, member="second")
    assert second.poll() == []
    append(store, RECORD_EVENTS, record_events(5, keys=3))
    assert sorted(e.payload["seq"] for e in drain(second)) == [0, 1, 2, 3, 4]
    second.close()


def test_uncommitted_events_are_delivered_again_to_the_next_consumer(store: GraphStore) -> None:
    log = StoreEventLog(store)
    append(store, RECORD_EVENTS, record_events(50))
    first = log.consumer("g", RECORD_EVENTS, member="first")
    done = first.poll(20)
    first.commit()
    read_not_done = first.poll(20)
    assert len(done) == 20
    assert len(read_not_done) == 20
    first.close()  # leaves without committing the second batch

    second = log.consumer("g", RECORD_EVENTS, member="second")
    again = drain(second)
    assert set(ids(read_not_done)) <= set(ids(again))
    assert not set(ids(done)) & set(ids(again))
    assert sorted(ids(done) + ids(again)) == sorted(set(ids(done) + ids(again)))
    assert len(done) + len(again) == 50
    second.close()


def test_commit_up_to_given_events_only(store: GraphStore) -> None:
    log = StoreEventLog(store)
    append(store, RECORD_EVENTS, [("one-key", "updateRecord", {"seq": i}) for i in range(10)])
    consumer = log.consumer("g", RECORD_EVENTS)
    got = consumer.poll()
    assert [e.payload["seq"] for e in got] == list(range(10))
    consumer.commit(got[:4])
    consumer.close()
    again = drain(log.consumer("g", RECORD_EVENTS))
    assert [e.payload["seq"] for e in again] == list(range(4, 10))


def test_a_consumer_that_died_without_committing_loses_its_events_to_the_group(store: GraphStore) -> None:
    """A consumer that stops polling (a crash: no close) keeps its partitions until its lease runs
    out; then the next member gets what it had read but not committed."""
    log = StoreEventLog(store, lease_ms=300)
    append(store, RECORD_EVENTS, record_events(40))
    crashed = log.consumer("g", RECORD_EVENTS, member="crashed")
    read = crashed.poll(25)
    assert len(read) == 25

    successor = log.consumer("g", RECORD_EVENTS, member="successor")
    assert successor.poll() == []  # the dead member's leases are still live
    time.sleep(0.4)
    again = drain(successor)
    assert set(ids(read)) <= set(ids(again))
    assert len(again) == 40
    assert successor.partitions == list(range(PARTITIONS))


def test_different_groups_each_get_everything(store: GraphStore) -> None:
    log = StoreEventLog(store)
    append(store, RECORD_EVENTS, record_events(30))
    indexing = drain(log.consumer("indexing", RECORD_EVENTS))
    audit = drain(log.consumer("audit", RECORD_EVENTS))
    assert sorted(ids(indexing)) == sorted(ids(audit))
    assert len(indexing) == 30


# ---- groups with several members --------------------------------------------------------------------


def test_two_consumers_split_partitions_and_get_each_event_once(store: GraphStore) -> None:
    log = StoreEventLog(store)
    append(store, RECORD_EVENTS, record_events(400, keys=64))
    a = log.consumer("g", RECORD_EVENTS, member="a")
    b = log.consumer("g", RECORD_EVENTS, member="b")
    got: dict[str, list[Event]] = {"a": [], "b": []}
    for _ in range(40):
        for name, consumer in (("a", a), ("b", b)):
            events = consumer.poll(10)
            got[name].extend(events)
            consumer.commit()
            assert not set(a.partitions) & set(b.partitions)
    all_ids = ids(got["a"]) + ids(got["b"])
    assert len(all_ids) == len(set(all_ids)) == 400
    assert len(a.partitions) == len(b.partitions) == PARTITIONS // 2
    assert set(a.partitions) | set(b.partitions) == set(range(PARTITIONS))
    assert got["a"]
    assert got["b"]
    partitions_a = {e.partition for e in got["a"][-20:]}
    assert partitions_a <= set(a.partitions)
    a.close()
    b.close()


def test_a_consumer_whose_lease_expired_loses_its_partitions(store: GraphStore) -> None:
    log = StoreEventLog(store, lease_ms=300)
    append(store, RECORD_EVENTS, record_events(40))
    slow = log.consumer("g", RECORD_EVENTS, member="slow")
    assert len(slow.poll(10)) == 10
    assert slow.partitions == list(range(PARTITIONS))
    time.sleep(0.4)  # slow stops polling past its lease

    fast = log.consumer("g", RECORD_EVENTS, member="fast")
    taken = fast.poll()
    assert fast.partitions == list(range(PARTITIONS))
    assert len(taken) == 40
    assert slow.poll() == []  # comes back: everything is held by a live member
    assert slow.partitions == []
    fast.commit()
    fast.poll()  # now sees two members and gives half back
    assert len(fast.partitions) == PARTITIONS // 2
    slow.poll()
    assert len(slow.partitions) == PARTITIONS // 2
    assert not set(slow.partitions) & set(fast.partitions)
    slow.close()
    fast.close()


def test_close_releases_partitions_at_once(store: GraphStore) -> None:
    log = StoreEventLog(store)
    append(store, RECORD_EVENTS, record_events(10))
    first = log.consumer("g", RECORD_EVENTS)
    first.poll()
    first.close()
    second = log.consumer("g", RECORD_EVENTS)
    assert len(second.poll()) == 10  # no waiting for a lease to run out
    assert second.partitions == list(range(PARTITIONS))
    with pytest.raises(RuntimeError):
        first.poll()
    second.close()


def test_poll_waits_for_events_up_to_its_timeout(store: GraphStore) -> None:
    consumer = StoreEventLog(store, poll_interval_s=0.01).consumer("g", RECORD_EVENTS)
    started = time.monotonic()
    assert consumer.poll(timeout_s=0.2) == []
    assert time.monotonic() - started >= 0.2
    consumer.close()


# ---- the registry ----------------------------------------------------------------------------------


def test_registry_defaults_to_the_store_tables(store: GraphStore, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, events_url=None)
    assert isinstance(open_event_log(settings, store), StoreEventLog)
    assert open_relay(settings, store) is None
    with pytest.raises(ConfigurationError):
        open_event_log(Settings(data_dir=tmp_path, events_url="amqp://localhost"), store)


def test_concurrent_producer_and_two_consumers_lose_and_duplicate_nothing(store: GraphStore) -> None:
    """Two members in threads, each on its own connection, while a writer appends: every event is
    delivered exactly once (nobody crashes), and each member sees every key's events in order."""
    import threading

    total_txns, per_txn = 40, 10
    stores = [open_store(store.url) for _ in range(2)]
    got: dict[str, list[Event]] = {"a": [], "b": []}
    writer_done = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for txn in range(total_txns):
                append(
                    store,
                    RECORD_EVENTS,
                    [
                        (f"rec-{(txn + i) % 23}", EventTypes.UPDATE_RECORD.value, {"txn": txn, "i": i})
                        for i in range(per_txn)
                    ],
                )
                time.sleep(0.002)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            writer_done.set()

    def consume(name: str, own_store: GraphStore) -> None:
        try:
            log = StoreEventLog(own_store, poll_interval_s=0.01)
            consumer = log.consumer("g", RECORD_EVENTS, member=name)
            deadline = time.monotonic() + 30
            while len(got["a"]) + len(got["b"]) < total_txns * per_txn and time.monotonic() < deadline:
                got[name].extend(consumer.poll(25, timeout_s=0.05))
                consumer.commit()
            time.sleep(0.2)
            got[name].extend(consumer.poll(25))  # nothing more (no duplicates) once all is in
            consumer.close()
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=write)] + [
        threading.Thread(target=consume, args=(name, s)) for name, s in zip(("a", "b"), stores, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in stores:
        s.close()
    assert not failures
    all_ids = ids(got["a"]) + ids(got["b"])
    assert len(all_ids) == len(set(all_ids)) == total_txns * per_txn
    for events in got.values():
        per_key: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for e in events:
            per_key[e.key].append((int(e.payload["txn"]), int(e.payload["i"])))
        assert all(seq == sorted(seq) for seq in per_key.values())
