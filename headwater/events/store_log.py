"""The event log in the store's own tables: consumer groups over the outbox, for any store backend.

Everything goes through the store's consumer primitives (`_read_events`, `_committed_offsets`,
`_commit_offset`, `_claim_partitions`, `_release_partitions`, `_live_members`), so the SQLite and
the PostgreSQL store behave alike.

Partition assignment. Each topic has `PARTITIONS` (8) partitions; a member reads only partitions it
holds a lease on, and the store never lets two members hold an unexpired lease on one partition.
Every poll, in one store transaction, a member
  1. renews its membership: one lease in a shadow group `<group>#members` (a member that holds no
     partition yet must still count, or the members holding everything would never make room);
  2. asks for its fair share, ceil(8 / live members), from the real group: its own leases are
     renewed, leases beyond its share are released (the highest partitions), and free or expired
     ones are taken up to its share;
  3. reads each held partition after max(committed offset, what it already handed out).
A member that joins therefore gets partitions once the others have polled again and released their
surplus; a member that stops polling loses its leases after `lease_ms` and the others take them.

Delivery. `poll` hands out events but moves nothing in the store; `commit` writes the offsets in a
store transaction. A member that dies, or loses a partition, before committing leaves those events
for whoever holds the partition next (at least once). Order per key holds: a key maps to one
partition and a partition is read in offset order by one member at a time.
"""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
from collections.abc import Sequence

from headwater.events.base import Event, EventConsumer, EventLog
from headwater.store.base import GraphStore, Transaction
from headwater.store.schema import PARTITIONS, TOPICS

DEFAULT_LEASE_MS = 10_000
MEMBERS_SUFFIX = "#members"


def default_member_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class StoreEventLog(EventLog):
    """Consumer groups over the store's event tables.

    `lease_ms`: how long a member keeps its partitions without polling; a member must poll (or
    commit and poll) more often than that, or its partitions move to another member and what it had
    not committed is delivered again. `poll_interval_s`: how often a waiting `poll` looks again.
    """

    def __init__(
        self, store: GraphStore, *, lease_ms: int = DEFAULT_LEASE_MS, poll_interval_s: float = 0.05
    ) -> None:
        if lease_ms <= 0:
            raise ValueError("lease_ms must be positive")
        self.store = store
        self.lease_ms = lease_ms
        self.poll_interval_s = poll_interval_s

    def consumer(self, group: str, topic: str, member: str | None = None) -> StoreEventConsumer:
        return StoreEventConsumer(
            self.store,
            group,
            topic,
            member or default_member_name(),
            lease_ms=self.lease_ms,
            poll_interval_s=self.poll_interval_s,
        )


class StoreEventConsumer(EventConsumer):
    def __init__(
        self,
        store: GraphStore,
        group: str,
        topic: str,
        member: str,
        *,
        lease_ms: int = DEFAULT_LEASE_MS,
        poll_interval_s: float = 0.05,
    ) -> None:
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}; topics are {', '.join(TOPICS)}")
        if not group or group.endswith(MEMBERS_SUFFIX):
            raise ValueError(f"invalid consumer group name {group!r}")
        self.store = store
        self.group = group
        self.topic = topic
        self.member = member
        self.lease_ms = lease_ms
        self.poll_interval_s = poll_interval_s
        self._members_group = group + MEMBERS_SUFFIX
        self._owned: list[int] = []
        # partition -> the last offset this member handed out (or started after), while it holds it
        self._position: dict[int, int] = {}
        # partition -> the highest offset handed out and not committed yet
        self._pending: dict[int, int] = {}
        self._rotation = 0
        self._closed = False

    @property
    def partitions(self) -> list[int]:
        """The partitions this member held at its last poll."""
        return list(self._owned)

    # ---- EventConsumer -----------------------------------------------------------------------

    def poll(self, max_events: int = 500, timeout_s: float = 0.0) -> list[Event]:
        self._check_open()
        if max_events <= 0:
            return []
        deadline = time.monotonic() + max(timeout_s, 0.0)
        while True:
            events = self._poll_once(max_events)
            remaining = deadline - time.monotonic()
            if events or remaining <= 0:
                return events
            time.sleep(min(self.poll_interval_s, remaining))

    def commit(self, events: Sequence[Event] | None = None) -> None:
        self._check_open()
        if events is None:
            upto = dict(self._pending)
        else:
            upto = {}
            for event in events:
                if event.topic != self.topic:
                    raise ValueError(f"event of topic {event.topic!r} given to a consumer of {self.topic!r}")
                if event.offset > upto.get(event.partition, -1):
                    upto[event.partition] = event.offset
        if not upto:
            return
        with self.store.transaction() as tx:
            for partition, offset in sorted(upto.items()):
                tx._commit_offset(self.group, self.topic, partition, offset)
        for partition, offset in upto.items():
            if self._pending.get(partition, -1) <= offset:
                self._pending.pop(partition, None)

    def rewind(self) -> None:
        """Forget what was handed out and not committed: the next poll starts again after the
        committed offsets (what a failed batch needs before it is retried)."""
        self._position.clear()
        self._pending.clear()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            with self.store.transaction() as tx:
                tx._release_partitions(self.group, self.topic, self.member)
                tx._release_partitions(self._members_group, self.topic, self.member)
        finally:
            self._owned = []
            self._position.clear()
            self._pending.clear()

    # ---- internals ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"consumer {self.member} of group {self.group!r} is closed")

    def _rebalance(self, tx: Transaction) -> list[int]:
        """Renew membership and leases, take this member's fair share; returns the partitions held."""
        tx._claim_partitions(self._members_group, self.topic, self.member, 1, self.lease_ms)
        live = max(1, tx._live_members(self._members_group, self.topic))
        wanted = math.ceil(PARTITIONS / live)
        owned = sorted(tx._claim_partitions(self.group, self.topic, self.member, wanted, self.lease_ms))
        for lost in set(self._position) - set(owned):
            # someone else may read it now; if it comes back, start again from the committed offset
            del self._position[lost]
        return owned

    def _poll_once(self, max_events: int) -> list[Event]:
        out: list[Event] = []
        with self.store.transaction() as tx:
            self._owned = self._rebalance(tx)
            if not self._owned:
                return out
            committed = tx._committed_offsets(self.group, self.topic)
            start = self._rotation % len(self._owned)
            self._rotation += 1
            for partition in self._owned[start:] + self._owned[:start]:
                remaining = max_events - len(out)
                if remaining <= 0:
                    break
                after = max(committed.get(partition, -1), self._position.get(partition, -1))
                rows = tx._read_events(self.topic, partition, after, remaining)
                if not rows:
                    self._position[partition] = after
                    continue
                out.extend(Event.from_envelope(r.topic, r.partition, r.offset, r.key, r.event) for r in rows)
                self._position[partition] = rows[-1].offset
                self._pending[partition] = rows[-1].offset
        return out
