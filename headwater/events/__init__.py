"""The event log: topics `sync-events`, `record-events`, `entity-events`, consumed through consumer
groups with committed offsets. Events are written by the store (the transactional outbox, see
`headwater.store.base.Transaction.append_events`); this package reads them (`StoreEventLog`) and
relays them to Kafka (`headwater.events.kafka`, imported only through `open_event_log`)."""

from headwater.events.base import (
    ENTITY_EVENTS,
    RECORD_EVENTS,
    SYNC_EVENTS,
    TOPICS,
    EntityEventTypes,
    Event,
    EventConsumer,
    EventLog,
    EventTypes,
    SyncActions,
    parse_sync_event_type,
    sync_event_type,
)

__all__ = [
    "ENTITY_EVENTS",
    "RECORD_EVENTS",
    "SYNC_EVENTS",
    "TOPICS",
    "EntityEventTypes",
    "Event",
    "EventConsumer",
    "EventLog",
    "EventTypes",
    "SyncActions",
    "parse_sync_event_type",
    "sync_event_type",
]
