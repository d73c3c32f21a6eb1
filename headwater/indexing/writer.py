"""The one place indexing writes the search index, in batches, with the records' statuses after.

Every index change of a batch is made in one `index.batch()` (one commit of the keyword index), and
the statuses those changes earn are written in one store transaction after it: a status never says
COMPLETED for chunks that are not there, and a crash in between only repeats work (the next attempt
finds the content hash in the index and skips embedding).

Principals are read from the store in the batch, just before the index is written, and read again
just after: a permission change that committed in between (its `updatePermissions` event may already
have been handled by another worker, finding the record not yet indexed) is corrected at once, so no
interleaving leaves stale principals behind. Record-level facts (name, URL) are taken from the
record as it is at write time, not as it was when its event was read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from headwater.indexing.index.base import SearchIndex
from headwater.indexing.intake import Need, Work
from headwater.indexing.pipeline import Action, Plan, indexed_record
from headwater.indexing.record_principals import effective_principals, inheriting_records
from headwater.indexing.status import Started, Terminal, finish
from headwater.indexing.types import IndexedChunk
from headwater.models.entities import Record
from headwater.store.base import GraphStore

log = logging.getLogger("headwater.indexing")


@dataclass(eq=False)
class Job:
    """One unit of work's share of a write batch."""

    work: Work
    plan: Plan | None = None  # content work: what the pipeline decided
    vectors: Any = None  # EMBED plans: one row per chunk
    started: Started | None = None  # content work: the attempt, for the status write
    problem: str | None = None  # set by the writer when this job alone could not be written


class IndexWriter:
    """Applies batches of jobs to the index, then to the records' statuses. Not re-entrant: the
    worker runs one batch at a time."""

    def __init__(self, store: GraphStore, index: SearchIndex) -> None:
        self.store = store
        self.index = index

    def write(self, jobs: Sequence[Job]) -> None:
        """Apply `jobs`. Raises when the index or the store failed (every job of the batch is then
        to be retried); a problem of one job only is left in its `problem`."""
        record_keys, group_nodes = _nodes_to_read(jobs)
        with self.store.read() as tx:
            records = tx.get_records(sorted(record_keys))
            # records inheriting from a changed group need their principals only, not their documents
            inheritors = {node: inheriting_records(tx, [node]) for node in group_nodes}
            principals = effective_principals(tx, sorted(set(records).union(*inheritors.values())))
        written: set[str] = set()
        with self.index.batch():
            for job in jobs:
                written |= self._apply(job, records, principals, inheritors)
        self._correct_principals(written, principals)
        terminals = [t for t in (_terminal_of(job) for job in jobs) if t is not None]
        if terminals:
            with self.store.transaction() as tx:
                finish(tx, terminals)

    def _apply(
        self,
        job: Job,
        records: dict[str, Record],
        principals: dict[str, frozenset[str]],
        inheritors: dict[str, set[str]],
    ) -> set[str]:
        """One job's index changes; returns the record keys whose principals it wrote."""
        work, plan = job.work, job.plan
        if work.kind == "apps":
            self._purge_connector(work.key)
            return set()
        if work.need is Need.DELETE:
            self.index.delete_records([work.key])
            return set()
        if work.kind == "recordGroups":
            return self._set_principals(inheritors.get(work.node, set()), principals)
        record = records.get(work.key)
        if plan is None:  # a refresh of the record's principals and metadata
            return self._refresh(record, principals) if record is not None else set()
        if record is None or plan.action is Action.REMOVE:
            self.index.delete_records([work.key])
            return set()
        assert plan.content_hash is not None
        facts = indexed_record(record, principals.get(record.id, frozenset()), plan.content_hash)
        if plan.action is Action.REFRESH:
            if not self.index.update_record(facts):
                job.problem = "the record's index entry disappeared while it was being refreshed"
            return {record.id}
        chunks = [
            IndexedChunk(chunk.ordinal, chunk.text, job.vectors[i], chunk.location)
            for i, chunk in enumerate(plan.chunks)
        ]
        self.index.replace_record(facts, chunks)
        return {record.id}

    def _refresh(self, record: Record, principals: dict[str, frozenset[str]]) -> set[str]:
        current = self.index.get_record(record.id)
        if current is None:
            return set()  # not indexed (yet): its content event will bring it in with fresh facts
        self.index.update_record(
            indexed_record(record, principals.get(record.id, frozenset()), current.content_hash)
        )
        return {record.id}

    def _set_principals(self, keys: set[str], principals: dict[str, frozenset[str]]) -> set[str]:
        changed: set[str] = set()
        for key in sorted(keys):
            if self.index.set_principals(key, principals.get(key, frozenset())):
                changed.add(key)
        return changed

    def _purge_connector(self, connector_id: str) -> None:
        """Every indexed record of a deleted connector instance (the store no longer knows them,
        so the index is asked; a scan, but instance deletion is rare)."""
        doomed = []
        for key in sorted(self.index.record_keys()):
            indexed = self.index.get_record(key)
            if indexed is not None and indexed.connector_id == connector_id:
                doomed.append(key)
        if doomed:
            self.index.delete_records(doomed)

    def _correct_principals(self, keys: set[str], written: dict[str, frozenset[str]]) -> None:
        if not keys:
            return
        with self.store.read() as tx:
            now = effective_principals(tx, sorted(keys))
        stale = {key: p for key, p in now.items() if p != written.get(key, frozenset())}
        if stale:
            log.info("principals changed while %d record(s) were being written; correcting", len(stale))
            with self.index.batch():
                for key, fresh in stale.items():
                    self.index.set_principals(key, fresh)

    def secure(self, nodes: Sequence[str]) -> set[str]:
        """After indexing gave up on these records / record groups: make sure the index shows their
        records (and those inheriting from them) to nobody who may not read them now. Their
        principals are refreshed; when even that fails, the records are taken out of the index
        (fail closed). Returns the keys taken out."""
        try:
            with self.store.read() as tx:
                keys = inheriting_records(tx, nodes)
                principals = effective_principals(tx, sorted(keys))
            with self.index.batch():
                for key in sorted(keys):
                    self.index.set_principals(key, principals.get(key, frozenset()))
            return set()
        except Exception as exc:
            log.warning("refreshing principals after giving up failed (%s); taking the records out", exc)
        # without the store, a group's records cannot be found: only the records named are taken out
        keys = {node.split("/", 1)[1] for node in nodes if node.startswith("records/")}
        try:
            self.index.delete_records(sorted(keys))
        except Exception as exc:
            log.error("could not take %d record(s) out of the index: %s", len(keys), exc)
            return set()
        return keys


def _nodes_to_read(jobs: Sequence[Job]) -> tuple[set[str], list[str]]:
    """(record keys whose record and principals the batch needs, record group nodes to expand)."""
    records: set[str] = set()
    groups: list[str] = []
    for job in jobs:
        work = job.work
        if work.kind == "recordGroups":
            groups.append(work.node)
        elif work.kind == "records" and work.need is not Need.DELETE:
            records.add(work.key)
    return records, groups


def _terminal_of(job: Job) -> Terminal | None:
    plan, started = job.plan, job.started
    if plan is None or plan.status is None or job.problem is not None:
        return None
    return Terminal(plan.key, plan.status, plan.reason, started.identity if started is not None else None)
