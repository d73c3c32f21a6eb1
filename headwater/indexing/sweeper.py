"""Nothing stays QUEUED or IN_PROGRESS: the sweeper finds stranded records and queues them again,
and removes index entries whose records no longer exist.

Normally nothing strands: the processor writes QUEUED and the record's event in one transaction,
and the worker commits an event only after the record's terminal status is written, so a worker
that dies leaves its events to be delivered again. The sweeper covers the rest — a QUEUED record
without an event (written by hand, by an older version, or a status write lost to a concurrent
writer), an event lost in a relay, a bug — on start and every `interval_s`:

- a record IN_PROGRESS whose lease expired (`processingStartedAt` + `lease_s`), or QUEUED for longer
  than `stale_queued_s`, AND with no event waiting for it, is set QUEUED again with a fresh
  `reindexRecord` event in one transaction. "No event waiting" is exact for the store's own event
  log: the record's partition of `record-events` has nothing the consumer group has not committed.
  For other logs (Kafka) age alone decides, so a long backlog may be queued twice; handling an
  event twice is harmless (the content hash makes the second one cheap) and each record is queued
  again at most once per `stale_queued_s`.
- an index entry whose record is not in the store is removed (a `deleteRecord` whose removal gave up).

Both passes read every record document (the store has no index on document fields yet): at 100,000
records that is about a second, hence the long default interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from headwater.events.base import RECORD_EVENTS
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.status import QUEUED_AT, STARTED_AT, STATUS, requeue
from headwater.models.constants import EventTypes, ProgressStatus
from headwater.models.timeutil import now_ms
from headwater.store.base import GraphStore, Transaction, partition_for
from headwater.store.schema import PARTITIONS

log = logging.getLogger("headwater.indexing")
ORPHAN_BATCH = 1000

# (transaction) -> the partitions of `record-events` that hold events the consumer group has not
# committed; None when the event log cannot tell (age alone decides then)
BacklogProbe = Callable[[Transaction], set[int]]


@dataclass(frozen=True, slots=True)
class SweepOptions:
    interval_s: float = 300.0
    lease_s: float = 900.0  # longer than any parse timeout plus the embedding of a large file
    stale_queued_s: float = 900.0


@dataclass(slots=True)
class SweepReport:
    requeued: list[str] = field(default_factory=list)
    orphans_removed: int = 0


def store_backlog_probe(group: str) -> BacklogProbe:
    """The exact probe for the store's own event log: partitions with uncommitted events."""

    def probe(tx: Transaction) -> set[int]:
        # the committed offsets are the event log's bookkeeping; there is no public reader for them
        committed = tx._committed_offsets(group, RECORD_EVENTS)
        return {p for p in range(PARTITIONS) if tx.read_events(RECORD_EVENTS, p, committed.get(p, -1), 1)}

    return probe


class StrandedRecordSweeper:
    def __init__(
        self,
        store: GraphStore,
        index: SearchIndex,
        *,
        options: SweepOptions | None = None,
        backlog_probe: BacklogProbe | None = None,
    ) -> None:
        self.store = store
        self.index = index
        self.options = options or SweepOptions()
        self.backlog_probe = backlog_probe

    def sweep(self) -> SweepReport:
        report = SweepReport(requeued=self._requeue_stranded())
        report.orphans_removed = self._remove_orphans()
        if report.requeued or report.orphans_removed:
            log.warning(
                "sweeper: %d stranded record(s) queued again, %d orphaned index entr(ies) removed",
                len(report.requeued),
                report.orphans_removed,
            )
        return report

    def _requeue_stranded(self) -> list[str]:
        # find candidates in a read transaction (a scan must not hold the writers back), then
        # re-check each under the write transaction that queues it
        with self.store.read() as tx:
            candidates = [str(d["_key"]) for d in tx.find_nodes("records") if self._stranded(d, None)]
        if not candidates:
            return []
        requeued: list[str] = []
        with self.store.transaction() as tx:
            backlog = self.backlog_probe(tx) if self.backlog_probe is not None else None
            for key, doc in tx.get_nodes("records", candidates).items():
                why = self._stranded(doc, backlog)
                if why is None:
                    continue
                requeue(tx, key, f"queued again by the sweeper: {why}")
                payload = {"recordId": key, "orgId": doc.get("orgId"), "requeuedBy": "sweeper"}
                tx.append_event(RECORD_EVENTS, EventTypes.REINDEX_RECORD.value, payload, key=key)
                requeued.append(key)
        return requeued

    def _stranded(self, doc: dict[str, Any], backlog: set[int] | None) -> str | None:
        """Why the record is stranded, or None when it is not (or its event may still come)."""
        if doc.get("isPlaceholder"):
            return None
        status = doc.get(STATUS)
        if status == ProgressStatus.IN_PROGRESS.value:
            since, limit = doc.get(STARTED_AT), self.options.lease_s
            why = "it was left IN_PROGRESS by a worker that stopped"
        elif status == ProgressStatus.QUEUED.value:
            since, limit = doc.get(QUEUED_AT) or doc.get("updatedAtTimestamp"), self.options.stale_queued_s
            why = "it was QUEUED with no event to index it"
        else:
            return None
        if since is not None and now_ms() - int(since) < limit * 1000:
            return None
        if backlog is not None and partition_for(str(doc["_key"])) in backlog:
            return None  # its event may still be on its way
        return why

    def _remove_orphans(self) -> int:
        indexed = sorted(self.index.record_keys())
        orphans: list[str] = []
        for start in range(0, len(indexed), ORPHAN_BATCH):
            batch = indexed[start : start + ORPHAN_BATCH]
            with self.store.read() as tx:
                present = tx.get_nodes("records", batch)
            orphans.extend(key for key in batch if key not in present)
        if orphans:
            self.index.delete_records(orphans)
        return len(orphans)
