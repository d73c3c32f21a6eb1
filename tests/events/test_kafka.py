"""The Kafka relay and the Kafka event log, against librdkafka's in-process mock cluster (three brokers
that speak the real protocol to separate clients). Quirks of the mock: topics are auto-created with 4
partitions on first produce, and a consumer group takes about 3 s to join."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from headwater.events.base import (
    ENTITY_EVENTS,
    RECORD_EVENTS,
    SYNC_EVENTS,
    EntityEventTypes,
    Event,
    EventTypes,
)
from headwater.events.kafka import KafkaEventConsumer, KafkaEventLog, KafkaRelay, RelayError
from headwater.events.registry import open_event_log, open_relay
from headwater.events.store_log import StoreEventLog
from headwater.settings import Settings
from headwater.store.base import GraphStore
from headwater.store.registry import open_store
from headwater.store.schema import PARTITIONS

pytestmark = pytest.mark.timeout(90)

JOIN_S = 20.0  # upper bound for a group join plus delivery on the mock
# The mock coordinator makes a member that joins a group others have just left wait out the session
# timeout (45 s by default), although they sent LeaveGroup; a short session keeps that to ~5 s.
CONSUMER_CONFIG = {"log_level": 3, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}


@pytest.fixture
def kafka() -> Iterator[str]:
    """Bootstrap servers of a fresh 3-broker mock cluster (it lives as long as its owner producer)."""
    owner = Producer({"test.mock.num.brokers": 3, "log_level": 3})
    brokers = owner.list_topics(timeout=5).brokers
    yield ",".join(f"{b.host}:{b.port}" for b in brokers.values())
    owner.flush(1)
    del owner


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[GraphStore]:
    store = open_store(sqlite_url)
    try:
        yield store
    finally:
        store.close()


def seed(store: GraphStore) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """Record events for 12 records (several updates each), plus sync and entity events."""
    records = [
        (
            f"rec-{i % 12}",
            EventTypes.NEW_RECORD.value if i < 12 else EventTypes.UPDATE_RECORD.value,
            {"recordId": f"rec-{i % 12}", "orgId": "org-1", "version": i // 12},
        )
        for i in range(60)
    ]
    sync = [("", "outlook.resync", {"orgId": "org-1", "connector": "OUTLOOK", "connectorId": "c1"})]
    entity = [("org-1", EntityEventTypes.ORG_CREATED.value, {"orgId": "org-1", "accountType": "business"})]
    with store.transaction() as tx:
        tx.append_events(RECORD_EVENTS, records[:30])
        tx.append_events(SYNC_EVENTS, sync)
        tx.append_events(ENTITY_EVENTS, entity)
    with store.transaction() as tx:
        tx.append_events(RECORD_EVENTS, records[30:])
    return {RECORD_EVENTS: records, SYNC_EVENTS: sync, ENTITY_EVENTS: entity}


def outbox_events(store: GraphStore, topic: str) -> list[Event]:
    consumer = StoreEventLog(store).consumer("inspect", topic)
    events = consumer.poll(10_000)
    consumer.close()
    return events


def consume(consumer: KafkaEventConsumer, want: int, *, within_s: float = JOIN_S) -> list[Event]:
    got: list[Event] = []
    deadline = time.monotonic() + within_s
    while len(got) < want and time.monotonic() < deadline:
        got.extend(consumer.poll(500, timeout_s=0.5))
    return got


def relay_offsets(store: GraphStore, topic: str) -> dict[int, int]:
    with store.read() as tx:
        return tx._committed_offsets("kafka-relay", topic)


def last_offsets(events: list[Event]) -> dict[int, int]:
    last: dict[int, int] = {}
    for e in events:
        last[e.partition] = max(e.offset, last.get(e.partition, -1))
    return last


def test_relay_publishes_the_outbox_and_kafka_consumers_get_it(kafka: str, sqlite_store: GraphStore) -> None:
    seeded = seed(sqlite_store)
    expected = {topic: outbox_events(sqlite_store, topic) for topic in seeded}
    assert all(relay_offsets(sqlite_store, t) == {} for t in seeded)

    with KafkaRelay(sqlite_store, kafka, flush_timeout_s=15) as relay:
        assert relay.relay_once() == 62
        # committed in the outbox, and only now: up to the last event of each partition
        for topic, events in expected.items():
            assert relay_offsets(sqlite_store, topic) == last_offsets(events)
        assert relay.relay_once() == 0  # nothing new

        log = KafkaEventLog(kafka, CONSUMER_CONFIG)
        records = log.consumer("indexing", RECORD_EVENTS)
        got = consume(records, 60)
        assert len(got) == 60
        by_key: dict[str, list[Event]] = defaultdict(list)
        for event in got:
            assert event.key == event.payload["recordId"]  # key = the record id
            by_key[event.key].append(event)
        sent = defaultdict(list)
        for event in expected[RECORD_EVENTS]:
            sent[event.key].append(event.envelope)
        # same envelopes, in the same order per key
        assert {k: [e.envelope for e in v] for k, v in by_key.items()} == dict(sent)
        records.commit()
        records.close()

        sync = log.consumer("connectors", SYNC_EVENTS)
        (resync,) = consume(sync, 1)
        assert resync.envelope == expected[SYNC_EVENTS][0].envelope
        assert resync.key == ""
        sync.close()

        # more outbox events: only they are relayed
        with sqlite_store.transaction() as tx:
            tx.append_events(RECORD_EVENTS, [("rec-new", "newRecord", {"recordId": "rec-new"})])
        assert relay.relay_once() == 1
        again = log.consumer("indexing", RECORD_EVENTS)  # committed offsets hold in Kafka too
        (new,) = consume(again, 1)
        assert new.key == "rec-new"
        assert again.poll(500, timeout_s=1.0) == []
        again.close()


def test_uncommitted_kafka_events_are_delivered_again(kafka: str, sqlite_store: GraphStore) -> None:
    seed(sqlite_store)
    with KafkaRelay(sqlite_store, kafka, topics=[RECORD_EVENTS], flush_timeout_s=15) as relay:
        assert relay.relay_once() == 60
    log = KafkaEventLog(kafka, CONSUMER_CONFIG)
    first = log.consumer("indexing", RECORD_EVENTS)
    read = consume(first, 60)
    assert len(read) == 60
    first.commit(read[:10])  # up to these, in their partitions
    done = {(e.partition, e.offset) for e in read[:10]}
    first.close()

    second = log.consumer("indexing", RECORD_EVENTS)
    later = consume(second, 50)
    later_ids = {(e.partition, e.offset) for e in later}
    upto = last_offsets(read[:10])
    assert later_ids == {(e.partition, e.offset) for e in read if e.offset > upto.get(e.partition, -1)}
    assert not (later_ids & done)
    second.close()


def test_outbox_offsets_are_not_committed_when_kafka_does_not_acknowledge(
    kafka: str, sqlite_store: GraphStore
) -> None:
    seed(sqlite_store)
    unreachable = KafkaRelay(
        sqlite_store,
        "127.0.0.1:1",
        topics=[RECORD_EVENTS],
        flush_timeout_s=1.0,
        producer_config={"log_level": 0},
    )
    with pytest.raises(RelayError):
        unreachable.relay_once()
    assert relay_offsets(sqlite_store, RECORD_EVENTS) == {}
    with pytest.raises(RelayError):  # tried again: still all of it, still nothing committed
        unreachable.relay_once()
    assert relay_offsets(sqlite_store, RECORD_EVENTS) == {}
    unreachable.close()

    # the same outbox, relayed to a working cluster: everything arrives, exactly once
    with KafkaRelay(sqlite_store, kafka, topics=[RECORD_EVENTS], flush_timeout_s=15) as relay:
        assert relay.relay_once() == 60
        assert len(relay_offsets(sqlite_store, RECORD_EVENTS)) <= PARTITIONS
    consumer = KafkaEventLog(kafka, CONSUMER_CONFIG).consumer("indexing", RECORD_EVENTS)
    got = consume(consumer, 60)
    assert len(got) == 60
    assert len({(e.partition, e.offset) for e in got}) == 60
    consumer.close()


def test_relay_run_loop_stops_when_asked(kafka: str, sqlite_store: GraphStore) -> None:
    import threading

    seed(sqlite_store)
    stop = threading.Event()
    with KafkaRelay(sqlite_store, kafka, flush_timeout_s=15) as relay:
        worker = threading.Thread(target=relay.run, args=(stop,), kwargs={"idle_s": 0.05})
        worker.start()
        deadline = time.monotonic() + 15
        while (
            relay_offsets(sqlite_store, RECORD_EVENTS)
            != last_offsets(outbox_events(sqlite_store, RECORD_EVENTS))
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        stop.set()
        worker.join(10)
        assert not worker.is_alive()
    expected = last_offsets(outbox_events(sqlite_store, RECORD_EVENTS))
    assert relay_offsets(sqlite_store, RECORD_EVENTS) == expected


def test_registry_opens_kafka_by_url(kafka: str, sqlite_store: GraphStore, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, events_url=f"kafka://{kafka}")
    event_log = open_event_log(settings, sqlite_store)
    assert isinstance(event_log, KafkaEventLog)
    assert event_log.bootstrap_servers == kafka
    relay = open_relay(settings, sqlite_store)
    assert isinstance(relay, KafkaRelay)
    relay.close()
