"""Kafka, for deployments that already run it: a relay from the outbox to Kafka, and an event log
that consumes from Kafka instead of the store's tables.

Only this module imports `confluent_kafka` (the `kafka` extra); the registry imports it lazily.

The relay. Writers always append to the store's outbox (in the transaction of the data). The relay
reads the outbox through a store consumer group (`kafka-relay`; several relays split the partitions
by lease), produces each event to the Kafka topic of the same name, key = the event key (the record
id for record events; keyless events get a null key), value = the JSON envelope, with an idempotent
`acks=all` producer, waits until Kafka has acknowledged every event of the batch (flush), and only
then commits the outbox offsets. A crash or a broker failure between produce and commit means the
batch is published again (at least once), never lost. Order per key: the events of one outbox
partition are produced in offset order, a key always maps to one Kafka partition (murmur2, as Java
and the other Kafka clients hash keys), and the idempotent producer keeps that order across retries.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlparse

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from headwater.errors import BackendUnavailableError, ConfigurationError
from headwater.events.base import Event, EventConsumer, EventLog
from headwater.events.store_log import DEFAULT_LEASE_MS, StoreEventConsumer, StoreEventLog
from headwater.store import codec
from headwater.store.base import GraphStore
from headwater.store.schema import TOPICS

log = logging.getLogger(__name__)

RELAY_GROUP = "kafka-relay"


class RelayError(BackendUnavailableError):
    """Kafka did not acknowledge a batch; nothing of it was committed in the outbox."""


def bootstrap_from_url(url: str) -> tuple[str, dict[str, str]]:
    """`kafka://a:9092,b:9092?security.protocol=SSL` -> ("a:9092,b:9092", {"security.protocol": "SSL"})."""
    parsed = urlparse(url)
    if parsed.scheme != "kafka" or not parsed.netloc:
        raise ConfigurationError(
            f"events_url must look like kafka://host:port[,host:port], not {parsed.scheme}://…"
        )
    return parsed.netloc, dict(parse_qsl(parsed.query))


def _servers(bootstrap_servers: str | Sequence[str]) -> str:
    if isinstance(bootstrap_servers, str):
        return bootstrap_servers
    return ",".join(bootstrap_servers)


def encode_event(event: Event) -> tuple[bytes | None, bytes]:
    """The Kafka key and value of an event: key None when the event has none."""
    return (event.key.encode() if event.key else None), codec.dumps(event.envelope).encode()


# ---- the relay -------------------------------------------------------------------------------------


class KafkaRelay:
    """Publishes the outbox to Kafka. `relay_once()` moves one batch per topic; `run(stop)` loops."""

    def __init__(
        self,
        store: GraphStore,
        bootstrap_servers: str | Sequence[str],
        *,
        group: str = RELAY_GROUP,
        topics: Iterable[str] = TOPICS,
        producer_config: dict[str, Any] | None = None,
        member: str | None = None,
        lease_ms: int = DEFAULT_LEASE_MS,
        flush_timeout_s: float = 30.0,
    ) -> None:
        self.store = store
        self.group = group
        self.flush_timeout_s = flush_timeout_s
        outbox = StoreEventLog(store, lease_ms=lease_ms)
        self._outbox: dict[str, StoreEventConsumer] = {
            topic: outbox.consumer(group, topic, member) for topic in topics
        }
        config: dict[str, Any] = {
            "bootstrap.servers": _servers(bootstrap_servers),
            "enable.idempotence": True,
            "acks": "all",
            "partitioner": "murmur2_random",
            "linger.ms": 5,
        }
        config.update(producer_config or {})
        self._producer = Producer(config)
        self._closed = False

    def relay_once(self, max_events: int = 1000) -> int:
        """Publish up to `max_events` outbox events per topic and commit them once Kafka has them.
        Returns how many were published. Raises RelayError (and commits nothing of that batch) when
        Kafka does not acknowledge them; the next call publishes them again."""
        published = 0
        for consumer in self._outbox.values():
            events = consumer.poll(max_events)
            if not events:
                continue
            try:
                self._publish(events)
            except BaseException:
                consumer.rewind()
                raise
            consumer.commit(events)
            published += len(events)
        return published

    def run(
        self,
        stop: threading.Event,
        *,
        max_events: int = 1000,
        idle_s: float = 0.2,
        retry_s: float = 2.0,
    ) -> None:
        """Relay until `stop` is set; waits `idle_s` when the outbox is empty and `retry_s` after a
        failed batch (which is published again)."""
        while not stop.is_set():
            try:
                moved = self.relay_once(max_events)
            except RelayError as exc:
                log.warning("kafka relay: %s; retrying in %.1fs", exc, retry_s)
                stop.wait(retry_s)
                continue
            if moved == 0:
                stop.wait(idle_s)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for consumer in self._outbox.values():
            consumer.close()
        self._producer.flush(min(self.flush_timeout_s, 5.0))

    def __enter__(self) -> KafkaRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _publish(self, events: Sequence[Event]) -> None:
        failures: list[str] = []
        delivered = 0

        def on_delivery(err: Any, msg: Any) -> None:
            nonlocal delivered
            if err is not None:
                failures.append(f"{msg.topic()}: {err}")
            else:
                delivered += 1

        for event in events:
            key, value = encode_event(event)
            while True:
                try:
                    self._producer.produce(
                        event.topic,
                        value=value,
                        key=key,
                        on_delivery=on_delivery,
                        timestamp=event.timestamp or 0,
                    )
                    break
                except BufferError:  # local queue full: let deliveries drain
                    self._producer.poll(0.1)
                except KafkaException as exc:
                    raise RelayError(f"cannot produce to Kafka topic {event.topic!r}: {exc}") from exc
        left = self._producer.flush(self.flush_timeout_s)
        if left or failures or delivered != len(events):
            if left:
                self._producer.purge()
                self._producer.flush(0)
            reason = "; ".join(failures[:3]) or f"{left} not acknowledged within {self.flush_timeout_s}s"
            raise RelayError(
                f"Kafka acknowledged {delivered} of {len(events)} events ({reason}); "
                "the outbox offsets were not committed"
            )


# ---- consuming from Kafka ------------------------------------------------------------------------


class KafkaEventLog(EventLog):
    """Consumer groups in Kafka: the topics the relay publishes to."""

    def __init__(self, bootstrap_servers: str | Sequence[str], config: dict[str, Any] | None = None) -> None:
        self.bootstrap_servers = _servers(bootstrap_servers)
        self.config = dict(config or {})

    @classmethod
    def from_url(cls, url: str) -> KafkaEventLog:
        servers, config = bootstrap_from_url(url)
        return cls(servers, config)

    def consumer(self, group: str, topic: str, member: str | None = None) -> KafkaEventConsumer:
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}; topics are {', '.join(TOPICS)}")
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
        if member:
            config["client.id"] = member
        config.update(self.config)
        return KafkaEventConsumer(Consumer(config), group, topic, member or "")


class KafkaEventConsumer(EventConsumer):
    def __init__(self, consumer: Any, group: str, topic: str, member: str) -> None:
        self._consumer = consumer
        self.group = group
        self.topic = topic
        self.member = member
        self._pending: dict[int, int] = {}  # partition -> highest offset handed out, not committed
        self._closed = False
        consumer.subscribe([topic])

    def poll(self, max_events: int = 500, timeout_s: float = 0.0) -> list[Event]:
        self._check_open()
        if max_events <= 0:
            return []
        out: list[Event] = []
        for msg in self._consumer.consume(num_messages=max_events, timeout=max(timeout_s, 0.0)):
            err = msg.error()
            if err is not None:
                if err.fatal():
                    raise KafkaException(err)
                if err.code() != KafkaError._PARTITION_EOF:
                    log.debug("kafka consumer %s: %s", self.group, err)
                continue
            partition, offset = msg.partition(), msg.offset()
            self._pending[partition] = max(offset, self._pending.get(partition, -1))
            key = msg.key()
            try:
                envelope = json.loads(msg.value())
                if not isinstance(envelope, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                # not an envelope (someone else's producer): it can never be handled; skip it,
                # and let the next commit move past it
                log.warning(
                    "skipping %s[%d]@%d: not an event envelope (%s)", msg.topic(), partition, offset, exc
                )
                continue
            out.append(
                Event.from_envelope(msg.topic(), partition, offset, key.decode() if key else "", envelope)
            )
        return out

    def commit(self, events: Sequence[Event] | None = None) -> None:
        self._check_open()
        if events is None:
            upto = dict(self._pending)
        else:
            upto = {}
            for event in events:
                if event.offset > upto.get(event.partition, -1):
                    upto[event.partition] = event.offset
        if not upto:
            return
        offsets = [TopicPartition(self.topic, p, o + 1) for p, o in sorted(upto.items())]
        self._consumer.commit(offsets=offsets, asynchronous=False)
        for partition, offset in upto.items():
            if self._pending.get(partition, -1) <= offset:
                self._pending.pop(partition, None)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._consumer.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"Kafka consumer of group {self.group!r} is closed")
