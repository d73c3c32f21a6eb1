"""The event log by settings: unset `events_url` = the store's own tables; `kafka://host:port[,...]`
= Kafka (the store's outbox is then relayed there by a `KafkaRelay`). Kafka's client is imported only
when a kafka:// URL is chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.backends import load_backend
from headwater.events.base import EventLog
from headwater.events.store_log import StoreEventLog
from headwater.settings import Settings
from headwater.store.base import GraphStore

if TYPE_CHECKING:  # pragma: no cover
    from headwater.events.kafka import KafkaRelay

EVENT_LOG_BACKENDS = {"kafka": "headwater.events.kafka:KafkaEventLog"}
RELAY_BACKENDS = {"kafka": "headwater.events.kafka:KafkaRelay"}


def open_event_log(settings: Settings, store: GraphStore) -> EventLog:
    """Where consumers read events: the store's tables, or Kafka."""
    if not settings.events_url:
        return StoreEventLog(store)
    cls = load_backend("event log", EVENT_LOG_BACKENDS, settings.events_url)
    event_log: EventLog = cls.from_url(settings.events_url)
    return event_log


def open_relay(settings: Settings, store: GraphStore) -> KafkaRelay | None:
    """The relay that publishes the store's outbox to the configured broker; None when events are
    read from the store's tables directly (nothing to relay)."""
    if not settings.events_url:
        return None
    cls = load_backend("event relay", RELAY_BACKENDS, settings.events_url)
    from headwater.events.kafka import bootstrap_from_url

    servers, config = bootstrap_from_url(settings.events_url)
    relay: KafkaRelay = cls(store, servers, producer_config=config)
    return relay
