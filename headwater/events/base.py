"""The consumer side of the event log: events, consumers, and the names of the playbook's events.

Producers do not live here: events are appended inside the store transaction that writes the data
they describe (`Transaction.append_events(topic, [(key, eventType, payload)])`, the transactional
outbox). Consumers read them through an `EventLog`:

    log = open_event_log(settings, store)          # headwater.events.registry
    consumer = log.consumer("records_consumer_group", RECORD_EVENTS)
    while running:
        events = consumer.poll(max_events=500, timeout_s=1.0)
        for event in events:
            handle(event.event_type, event.payload)
        consumer.commit()                          # only now are they done for the group
    consumer.close()

Delivery is at least once: whatever a consumer read but did not commit is delivered again to the
group (after a crash, or when its partitions move to another member). Events with one key keep
their order: a key always lands in the same partition and a partition has one reader at a time.

The envelope is the playbook's: `{"eventType": str, "payload": dict, "timestamp": int ms}`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from headwater.models.constants import Connectors
from headwater.models.constants import EventTypes as EventTypes  # record event types, re-exported
from headwater.store.schema import TOPICS as TOPICS

SYNC_EVENTS = "sync-events"
RECORD_EVENTS = "record-events"
ENTITY_EVENTS = "entity-events"

# The consumer groups of the reference system, one per consuming service.
SYNC_CONSUMER_GROUP = "sync_consumer_group"
RECORDS_CONSUMER_GROUP = "records_consumer_group"
ENTITY_CONSUMER_GROUP = "entity_consumer_group"

assert (SYNC_EVENTS, RECORD_EVENTS, ENTITY_EVENTS) == TOPICS  # one list of topics, in the store's schema


class SyncActions(StrEnum):
    """The action part of a `sync-events` event type, `{connector}.{action}`."""

    INIT = "init"
    START = "start"
    RESYNC = "resync"
    REINDEX = "reindex"
    DELETE = "delete"


class EntityEventTypes(StrEnum):
    """Event types on the `entity-events` topic."""

    ORG_CREATED = "orgCreated"
    ORG_UPDATED = "orgUpdated"
    ORG_DELETED = "orgDeleted"
    USER_ADDED = "userAdded"
    USER_UPDATED = "userUpdated"
    USER_DELETED = "userDeleted"
    APP_ENABLED = "appEnabled"
    APP_DISABLED = "appDisabled"


RECORD_EVENT_TYPES = frozenset(e.value for e in EventTypes)
ENTITY_EVENT_TYPES = frozenset(e.value for e in EntityEventTypes)


def connector_event_name(connector: str | Connectors) -> str:
    """The connector part of a sync event type: the connector type, lower case, without spaces
    (`SHAREPOINT ONLINE` -> `sharepointonline`; all spaces go, as the Python side of the
    reference does)."""
    name = connector.value if isinstance(connector, Connectors) else connector
    return "".join(name.split()).lower()


def sync_event_type(connector: str | Connectors, action: str | SyncActions) -> str:
    """`sync_event_type("OUTLOOK", "resync")` -> `"outlook.resync"`."""
    verb = action.value if isinstance(action, SyncActions) else SyncActions(action).value
    return f"{connector_event_name(connector)}.{verb}"


def parse_sync_event_type(event_type: str) -> tuple[str, SyncActions]:
    """`"outlook.resync"` -> `("outlook", SyncActions.RESYNC)`; ValueError for anything else."""
    connector, dot, action = event_type.rpartition(".")
    if not dot or not connector:
        raise ValueError(f"not a sync event type: {event_type!r} (expected '<connector>.<action>')")
    try:
        return connector, SyncActions(action)
    except ValueError:
        actions = ", ".join(a.value for a in SyncActions)
        raise ValueError(f"unknown sync action {action!r} in {event_type!r}; actions are {actions}") from None


@dataclass(frozen=True)
class Event:
    """One event as a consumer receives it, with its position in the log."""

    topic: str
    partition: int
    offset: int
    key: str
    event_type: str
    payload: dict[str, Any] = field(hash=False)
    timestamp: int | None

    @property
    def envelope(self) -> dict[str, Any]:
        """The event as it travels: `{eventType, payload, timestamp}`."""
        return {"eventType": self.event_type, "payload": self.payload, "timestamp": self.timestamp}

    @classmethod
    def from_envelope(
        cls, topic: str, partition: int, offset: int, key: str, envelope: dict[str, Any]
    ) -> Event:
        timestamp = envelope.get("timestamp")
        return cls(
            topic=topic,
            partition=partition,
            offset=offset,
            key=key,
            event_type=str(envelope.get("eventType", "")),
            payload=dict(envelope.get("payload") or {}),
            timestamp=int(timestamp) if timestamp is not None else None,
        )


def last_offsets(events: Sequence[Event]) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the highest offset among `events`."""
    last: dict[tuple[str, int], int] = {}
    for event in events:
        where = (event.topic, event.partition)
        if event.offset > last.get(where, -1):
            last[where] = event.offset
    return last


class EventConsumer(ABC):
    """One member of a consumer group, reading one topic. Not thread-safe: one thread per consumer."""

    group: str
    topic: str
    member: str

    @abstractmethod
    def poll(self, max_events: int = 500, timeout_s: float = 0.0) -> list[Event]:
        """The next events of this member's partitions, at most `max_events`, in offset order within
        each partition. Waits up to `timeout_s` for some to arrive; `[]` when none did."""

    @abstractmethod
    def commit(self, events: Sequence[Event] | None = None) -> None:
        """Mark events done for the group: everything `poll` returned so far (None), or everything up
        to and including the given events in their partitions."""

    @abstractmethod
    def close(self) -> None:
        """Leave the group: release this member's partitions. Uncommitted events are delivered again."""

    def __enter__(self) -> EventConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventLog(ABC):
    """Where consumers read the topics from."""

    @abstractmethod
    def consumer(self, group: str, topic: str, member: str | None = None) -> EventConsumer:
        """A new member of `group` reading `topic`; `member` names it (default: a unique name)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the log holds (nothing by default)."""
