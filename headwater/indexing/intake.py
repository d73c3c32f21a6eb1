"""From events to work: which events are done (so their offsets can be committed), and what each
record, record group or connector instance needs.

Delivery is at least once and events are handled by what the store says NOW, not by what the event
carried, so events about one node merge into one unit of work: a duplicate `newRecord`, or
`newRecord` then `updateRecord`, is one indexing; a `deleteRecord` makes earlier content events
moot. A unit is processed by one task at a time; events that arrive for a unit in flight wait in a
follow-up unit that starts when the first finishes (so a node's events keep their order).

An offset is committed only when every event before it in its partition is done: a worker that
dies redelivers exactly the events whose effects might not be written.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from headwater.events.base import Event, EventConsumer, EventLog
from headwater.models.constants import EventTypes, GraphChangeEventTypes

CONTENT_EVENTS = frozenset(
    {EventTypes.NEW_RECORD.value, EventTypes.UPDATE_RECORD.value, EventTypes.REINDEX_RECORD.value}
)
REFRESH_EVENTS = frozenset(e.value for e in GraphChangeEventTypes)


class Need(StrEnum):
    """What a unit of work asks for, strongest last."""

    REFRESH = "refresh"  # principals / metadata of a record, or of every record inheriting from a group
    CONTENT = "content"  # fetch, parse, embed (also refreshes)
    DELETE = "delete"  # remove from the index (a record), or everything of a connector instance


_STRENGTH = {Need.REFRESH: 0, Need.CONTENT: 1, Need.DELETE: 2}


@dataclass(eq=False)
class Ticket:
    event: Event
    done: bool = False


@dataclass(eq=False)
class Work:
    """What one node needs. `node` is `records/K`, `recordGroups/K` or `apps/K` (a connector
    instance whose records all go)."""

    node: str
    need: Need
    tickets: list[Ticket] = field(default_factory=list)
    failures: int = 0  # transient failures so far (content work counts attempts in the store)
    not_before: float = 0.0  # monotonic time before which a retry must not start

    @property
    def kind(self) -> str:
        return self.node.split("/", 1)[0]

    @property
    def key(self) -> str:
        return self.node.split("/", 1)[1]

    def merge(self, need: Need, tickets: Iterable[Ticket]) -> None:
        if _STRENGTH[need] > _STRENGTH[self.need]:
            self.need = need
        self.tickets.extend(tickets)


def work_for(event: Event) -> tuple[str, Need] | None:
    """The node an event is about and what it needs; None for events indexing does not handle."""
    payload = event.payload
    kind = event.event_type
    if kind in CONTENT_EVENTS or kind == EventTypes.DELETE_RECORD.value:
        key = str(payload.get("recordId") or event.key or "")
        need = Need.DELETE if kind == EventTypes.DELETE_RECORD.value else Need.CONTENT
        return (f"records/{key}", need) if key else None
    if kind == EventTypes.BULK_DELETE_RECORDS.value:
        connector_id = str(payload.get("connectorId") or event.key or "")
        return (f"apps/{connector_id}", Need.DELETE) if connector_id else None
    if kind in REFRESH_EVENTS:
        node = str(payload.get("nodeId") or "")
        return (node, Need.REFRESH) if node.startswith(("records/", "recordGroups/")) else None
    return None


class EventLedger:
    """Events handed out and not committed yet, per (topic, partition) in offset order."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, int], deque[Ticket]] = {}

    def add(self, event: Event) -> Ticket:
        ticket = Ticket(event)
        self._open.setdefault((event.topic, event.partition), deque()).append(ticket)
        return ticket

    def committable(self) -> list[Event]:
        """Per partition, the furthest event of the run of done events at its head (forgotten here:
        the caller commits them). Furthest, not last: after a partition moved away and back, the
        consumer hands out earlier offsets again."""
        last: list[Event] = []
        for tickets in self._open.values():
            event = None
            while tickets and tickets[0].done:
                done = tickets.popleft().event
                if event is None or done.offset > event.offset:
                    event = done
            if event is not None:
                last.append(event)
        return last

    def forget(self, topic: str) -> None:
        """Drop what a topic's consumer handed out (it rewinds: the events come again)."""
        for where in [w for w in self._open if w[0] == topic]:
            del self._open[where]

    @property
    def open_count(self) -> int:
        return sum(len(t) for t in self._open.values())


class WorkQueue:
    """Units of work by node: at most one in flight per node, follow-ups waiting behind it, retries
    waiting for their time."""

    def __init__(self) -> None:
        self._ready: dict[str, Work] = {}  # not started (or waiting for a retry), by node
        self._running: dict[str, Work] = {}
        self._follow_up: dict[str, Work] = {}

    def admit(self, node: str, need: Need, ticket: Ticket) -> None:
        target = self._follow_up if node in self._running else self._ready
        work = target.get(node)
        if work is None:
            target[node] = Work(node, need, [ticket])
        else:
            work.merge(need, [ticket])

    def take(self, limit: int, now: float | None = None) -> list[Work]:
        """Up to `limit` units ready to start now, in order of arrival, marked running."""
        now = time.monotonic() if now is None else now
        taken: list[Work] = []
        for node, work in list(self._ready.items()):
            if len(taken) >= limit:
                break
            if work.not_before <= now:
                del self._ready[node]
                self._running[node] = work
                taken.append(work)
        return taken

    def finish(self, work: Work) -> None:
        """The unit is done: its events are, and a follow-up (if any) becomes ready."""
        for ticket in work.tickets:
            ticket.done = True
        self._release(work)

    def retry(self, work: Work, delay_s: float) -> None:
        """Run the unit again after `delay_s`, with whatever arrived for its node meanwhile."""
        self._release(work)
        work.not_before = time.monotonic() + delay_s
        follow = self._ready.pop(work.node, None)
        if follow is not None:
            work.merge(follow.need, follow.tickets)
        self._ready[work.node] = work

    def _release(self, work: Work) -> None:
        self._running.pop(work.node, None)
        follow = self._follow_up.pop(work.node, None)
        if follow is not None:
            existing = self._ready.get(work.node)
            if existing is None:
                self._ready[work.node] = follow
            else:
                existing.merge(follow.need, follow.tickets)

    def next_ready_in(self, now: float | None = None) -> float | None:
        """Seconds until some waiting unit may start (0 if one may now); None when none waits."""
        if not self._ready:
            return None
        now = time.monotonic() if now is None else now
        return max(0.0, min(w.not_before for w in self._ready.values()) - now)

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def idle(self) -> bool:
        return not (self._ready or self._running or self._follow_up)

    def abandon(self) -> list[Work]:
        """Everything not finished (a stopping worker): forgotten here, their events come again."""
        left = [*self._running.values(), *self._ready.values(), *self._follow_up.values()]
        self._ready.clear()
        self._running.clear()
        self._follow_up.clear()
        return left


class Consumers:
    """One consumer per topic, all in one group, each used from worker threads one call at a time.
    The lock is a thread lock, not an asyncio one: cancelling a task does not stop the thread running
    its poll, and a consumer must not be closed under that poll's feet."""

    def __init__(self, log: EventLog, group: str, topics: Sequence[str], member: str | None = None) -> None:
        self._consumers = {topic: log.consumer(group, topic, member) for topic in topics}
        self._locks = {topic: threading.Lock() for topic in topics}

    @property
    def topics(self) -> list[str]:
        return list(self._consumers)

    async def poll(self, topic: str, max_events: int) -> list[Event]:
        """What the topic's consumer has now, without waiting (each poll of the store's event log is
        a write transaction: the caller decides how often)."""

        def poll(consumer: EventConsumer) -> list[Event]:
            return consumer.poll(max_events=max_events)

        found: list[Event] = await self._call(topic, poll)
        return found

    async def commit(self, events: Sequence[Event]) -> None:
        """Commit per topic everything up to the given events (at least once: an offset that fails to
        commit is delivered again, which is harmless)."""
        by_topic: dict[str, list[Event]] = {}
        for event in events:
            by_topic.setdefault(event.topic, []).append(event)
        for topic, done in by_topic.items():
            await self._call(topic, _committing(done))

    async def close(self) -> None:
        for topic in self._consumers:
            await self._call(topic, lambda consumer: consumer.close())

    async def _call(self, topic: str, call: Callable[[EventConsumer], Any]) -> Any:
        return await asyncio.to_thread(self._locked, topic, call)

    def _locked(self, topic: str, call: Callable[[EventConsumer], Any]) -> Any:
        with self._locks[topic]:
            return call(self._consumers[topic])


def _committing(events: list[Event]) -> Callable[[EventConsumer], None]:
    return lambda consumer: consumer.commit(events)
