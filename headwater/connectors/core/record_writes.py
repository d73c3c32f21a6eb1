"""The record upsert (reference §3.1, with our fixes): identity, versions, events, placeholders.

Given buffered items, inside one transaction: find the stored records, decide per record whether it
is new, changed (version bump, `updateRecord`), metadata-only (written, no event) or unchanged
(nothing written), resolve record groups and parents (placeholders for late arrivals), link them,
replace grants, and queue the events. A mixin of `DataSourceEntitiesProcessor` (see its module
docstring for the rules).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headwater.connectors.core.graph_writes import (
    ATTACHMENT_PARENT_TYPES,
    BELONGS_TO,
    CONTAINMENT,
    INHERIT,
    QUARANTINED_AT,
    RECORD_EVENTS,
    RECORD_GROUPS,
    RECORDS,
    RELATIONS,
    Event,
    _announce,
    _content_changed,
    _outbound,
    _placeholder_parent,
    _reconcile,
    _to_collection,
)
from headwater.connectors.core.stats import SyncStats
from headwater.models.constants import (
    EventTypes,
    GraphChangeEventTypes,
    OriginTypes,
    ProgressStatus,
    RecordRelations,
    RecordType,
)
from headwater.models.documents import plain
from headwater.models.entities import (
    FileRecord,
    Record,
    RecordGroup,
)
from headwater.models.permission import Permission
from headwater.models.timeutil import now_ms
from headwater.store.base import Transaction


@dataclass(slots=True)
class _Item:
    """One record handed to the processor, waiting to be written."""

    record: Record
    permissions: list[Permission] | None  # None: leave the record's permissions as they are
    mode: str = "sync"  # "sync" | "content" (content changed, say so) | "metadata" (never re-index)
    old_external_id: str | None = None  # a move: the external id the record had before


class RecordWritesMixin:
    """The record-writing half of the processor."""

    if TYPE_CHECKING:

        def _count(self) -> SyncStats: ...

        def _normalise(self, record: Record) -> Record: ...

        def _replace_permissions(
            self,
            tx: Transaction,
            grants: Sequence[tuple[str, list[Permission]]],
            *,
            quiet: Collection[str] = (),
        ) -> None: ...

    # ---- the record upsert -----------------------------------------------------------------------

    def _apply_records(self, tx: Transaction, items: Sequence[_Item]) -> None:
        """Write items in order, in rounds within which no identity repeats (a later item for the same
        record sees what the earlier one wrote)."""
        round_: list[_Item] = []
        seen: set[tuple[str, str]] = set()
        for item in items:
            self._normalise(item.record)
            ids = {(item.record.connector_id, item.record.external_record_id)}
            if item.old_external_id:
                ids.add((item.record.connector_id, item.old_external_id))
            if ids & seen:
                self._apply_round(tx, round_)
                round_, seen = [], set()
            round_.append(item)
            seen |= ids
        if round_:
            self._apply_round(tx, round_)

    def _apply_round(self, tx: Transaction, items: list[_Item]) -> None:
        now = now_ms()
        stored, quarantined = self._stored_records(tx, items)
        records = [i.record for i in items]
        self._resolve_record_groups(tx, records)

        tally = self._count()
        writes: list[Record] = []
        kept: list[_Item] = []
        events: list[Event] = []
        metadata_only: list[str] = []
        retyped: list[tuple[Record, str | None]] = []
        for item in items:
            record, old = item.record, stored.get(id(item))
            if old is not None and record.is_placeholder and not old.is_placeholder:
                tally.unchanged += 1
                continue  # a stub never overwrites the real record
            write, event = self._prepare(record, old, item, now, old is not None and old.id in quarantined)
            kept.append(item)
            if not write:
                tally.unchanged += 1
            elif old is None or old.is_placeholder:
                tally.new += 1
            else:
                tally.updated += 1
            if write:
                writes.append(record)
                if old is not None and type(old).type_collection != type(record).type_collection:
                    retyped.append((record, type(old).type_collection))
                if event is None and old is not None and not old.is_placeholder:
                    metadata_only.append(f"{RECORDS}/{record.id}")
            if event is not None:
                events.append((record.id, event, record.to_kafka_record()))

        parents, stubs = self._resolve_parents(tx, [i.record for i in kept])
        # records indexed from scratch in this transaction (content events) or never (stubs) need no
        # separate word about their access or metadata
        quiet = {f"{RECORDS}/{key}" for key, _, _ in events} | {f"{RECORDS}/{s.id}" for s in stubs}

        for record, old_collection in retyped:
            if old_collection:
                tx.delete_nodes(old_collection, [record.id])  # the old type document and its isOfType edge
        tx.upsert_records(writes + stubs)
        if retyped:
            tx.upsert_edges(
                "isOfType",
                [
                    {"_from": f"{RECORDS}/{r.id}", "_to": f"{r.type_collection}/{r.id}"}
                    for r, _ in retyped
                    if r.type_collection
                ],
            )

        self._link_to_groups(tx, [i.record for i in kept] + stubs, quiet=quiet)
        self._link_parents(tx, [i.record for i in kept if i.record.origin != OriginTypes.UPLOAD], parents)
        self._replace_permissions(
            tx,
            [(f"{RECORDS}/{i.record.id}", i.permissions) for i in kept if i.permissions is not None],
            quiet=quiet,
        )
        if events:
            tx.append_events(RECORD_EVENTS, events)
        _announce(tx, GraphChangeEventTypes.UPDATE_METADATA, metadata_only)

    def _stored_records(self, tx: Transaction, items: list[_Item]) -> tuple[dict[int, Record], set[str]]:
        """(id(item) -> the stored record it updates (a move: found by its old external id first),
        keys of those stored records that are quarantined)."""
        wanted: dict[str, set[str]] = {}
        for item in items:
            ids = wanted.setdefault(item.record.connector_id, set())
            ids.add(item.record.external_record_id)
            if item.old_external_id:
                ids.add(item.old_external_id)
        found: dict[tuple[str, str], Record] = {}
        quarantined: set[str] = set()
        for connector_id, ext_ids in wanted.items():
            bases = tx.get_nodes_by_external_ids(RECORDS, connector_id, sorted(ext_ids))
            typed = tx.records_from_documents({str(doc["_key"]): doc for doc in bases.values()})
            for ext, doc in bases.items():
                found[(connector_id, ext)] = typed[str(doc["_key"])]
                if doc.get(QUARANTINED_AT):
                    quarantined.add(str(doc["_key"]))
        result: dict[int, Record] = {}
        for item in items:
            c = item.record.connector_id
            old = found.get((c, item.old_external_id)) if item.old_external_id else None
            old = old or found.get((c, item.record.external_record_id))
            if old is not None:
                result[id(item)] = old
        return result, quarantined

    def _prepare(
        self, record: Record, old: Record | None, item: _Item, now: int, quarantined: bool = False
    ) -> tuple[bool, str | None]:
        """Settle the record's fields against the stored one: (write it?, event type or None). A
        quarantined record that arrives again is rewritten, which clears its quarantine mark."""
        if old is None:
            if record.is_placeholder:
                record.indexing_status = ProgressStatus.NOT_STARTED
                return True, None
            return True, self._queue(record, EventTypes.NEW_RECORD.value)

        record.id = old.id
        record.created_at = old.created_at
        if not record.weburl:
            record.weburl = old.weburl
        if record.source_created_at is None:
            record.source_created_at = old.source_created_at
        if record.source_updated_at is None:
            record.source_updated_at = old.source_updated_at
        if record.virtual_record_id is None:
            record.virtual_record_id = old.virtual_record_id

        if old.is_placeholder:  # the real record arrives: promote the stub in place
            record.is_placeholder = False
            record.updated_at = now
            return True, self._queue(record, EventTypes.NEW_RECORD.value)

        if item.mode == "metadata":
            record.external_revision_id = old.external_revision_id
            changed = False
        elif item.mode == "content":
            changed = True
        else:
            changed = _content_changed(record, old)

        if changed:
            if record.version == 0:
                record.version = old.version + 1
            record.updated_at = now
            return True, self._queue(record, EventTypes.UPDATE_RECORD.value)

        # unchanged content: the stored lifecycle stays; written only if metadata differs
        if record.version == 0:
            record.version = old.version
        record.indexing_status = old.indexing_status
        record.parsing_status = old.parsing_status
        record.extraction_status = old.extraction_status
        record.processing_started_at = old.processing_started_at
        record.reason = old.reason
        record.is_vlm_ocr_processed = old.is_vlm_ocr_processed
        for name in ("md5_hash", "size_in_bytes", "storage_document_id"):
            if getattr(record, name) is None:
                setattr(record, name, getattr(old, name))
        record.updated_at = old.updated_at
        if not quarantined and type(record) is type(old) and record.to_documents() == old.to_documents():
            return False, None
        record.updated_at = now
        return True, None

    def _queue(self, record: Record, event_type: str) -> str | None:
        """The event a new or changed record gets, with its status set to match."""
        if record.indexing_status == ProgressStatus.AUTO_INDEX_OFF:
            return None
        if record.is_internal:
            # never published, so never indexed: a terminal status instead of a stranded QUEUED
            record.indexing_status = ProgressStatus.AUTO_INDEX_OFF
            return None
        if record.origin == OriginTypes.UPLOAD and isinstance(record, FileRecord) and not record.is_file:
            return None
        record.indexing_status = ProgressStatus.QUEUED
        return event_type

    def _resolve_record_groups(self, tx: Transaction, records: Sequence[Record]) -> None:
        """Set `record_group_id` from `external_record_group_id`, creating a bare (placeholder) record
        group for an unknown one."""
        wanted: dict[str, dict[str, Record]] = {}
        for r in records:
            if r.external_record_group_id and r.origin != OriginTypes.UPLOAD:
                wanted.setdefault(r.connector_id, {}).setdefault(r.external_record_group_id, r)
        for connector_id, by_ext in wanted.items():
            found = tx.get_nodes_by_external_ids(RECORD_GROUPS, connector_id, list(by_ext))
            keys = {ext: str(doc["_key"]) for ext, doc in found.items()}
            bare = []
            for ext, sample in by_ext.items():
                if ext in keys:
                    continue
                group = RecordGroup(
                    name=ext,
                    external_group_id=ext,
                    connector_id=connector_id,
                    connector_name=sample.connector_name,
                    org_id=sample.org_id,
                    group_type=sample.record_group_type,
                )
                bare.append({**group.to_document(), "isPlaceholder": True})
                keys[ext] = group.id
            if bare:
                tx.upsert_nodes(RECORD_GROUPS, bare)
            for r in records:
                if r.connector_id == connector_id and r.external_record_group_id in keys:
                    r.record_group_id = keys[r.external_record_group_id]

    def _resolve_parents(
        self, tx: Transaction, records: list[Record]
    ) -> tuple[dict[str, tuple[str, str]], list[Record]]:
        """child key -> (parent key, relationship type); placeholder parents created for unknown ones."""
        in_batch = {(r.connector_id, r.external_record_id): r for r in records}
        wanted: dict[str, set[str]] = {}
        children: list[Record] = []
        for r in records:
            ext = r.parent_external_record_id
            if r.origin == OriginTypes.UPLOAD or not ext or ext == r.external_record_id:
                continue
            children.append(r)
            if (r.connector_id, ext) not in in_batch:
                wanted.setdefault(r.connector_id, set()).add(ext)
        known: dict[tuple[str, str], Record] = dict(in_batch)
        for connector_id, ext_ids in wanted.items():
            for ext, rec in tx.get_records_by_external_ids(connector_id, sorted(ext_ids)).items():
                known[(connector_id, ext)] = rec
        stubs: list[Record] = []
        parents: dict[str, tuple[str, str]] = {}
        for child in children:
            assert child.parent_external_record_id is not None
            key = (child.connector_id, child.parent_external_record_id)
            parent = known.get(key)
            if parent is None:
                parent = _placeholder_parent(child)
                known[key] = parent
                stubs.append(parent)
            parent_type = child.parent_record_type or parent.record_type
            relation = (
                RecordRelations.ATTACHMENT
                if child.record_type == RecordType.FILE and plain(parent_type) in ATTACHMENT_PARENT_TYPES
                else RecordRelations.PARENT_CHILD
            )
            parents[child.id] = (parent.id, relation.value)
        if stubs:
            self._resolve_record_groups(tx, stubs)
        return parents, stubs

    def _link_to_groups(
        self, tx: Transaction, records: Sequence[Record], *, quiet: Collection[str] = ()
    ) -> None:
        """`belongsTo` and (if inheriting) `inheritPermissions` record -> its record group, replacing
        the record's links to other record groups. Records whose inheritance changed are announced,
        except those in `quiet`."""
        if not records:
            return
        ids = [f"{RECORDS}/{r.id}" for r in records]
        belongs: list[dict[str, Any]] = []
        inherit: list[dict[str, Any]] = []
        for r in records:
            if r.record_group_id:
                edge = {"_from": f"{RECORDS}/{r.id}", "_to": f"{RECORD_GROUPS}/{r.record_group_id}"}
                belongs.append(edge)
                if r.inherit_permissions:
                    inherit.append(dict(edge))
        to_group = _to_collection(RECORD_GROUPS)
        _reconcile(tx, BELONGS_TO, belongs, _outbound(tx, BELONGS_TO, ids, to_group))
        _reconcile(tx, INHERIT, inherit, _outbound(tx, INHERIT, ids, to_group), quiet=quiet)

    def _link_parents(
        self, tx: Transaction, children: Sequence[Record], parents: dict[str, tuple[str, str]]
    ) -> None:
        """`recordRelations` parent -> child, replacing the child's previous containment edge."""
        if not children:
            return
        ids = [f"{RECORDS}/{r.id}" for r in children]
        desired = [
            {
                "_from": f"{RECORDS}/{parents[r.id][0]}",
                "_to": f"{RECORDS}/{r.id}",
                "relationshipType": parents[r.id][1],
            }
            for r in children
            if r.id in parents
        ]
        existing = [
            e for e in tx.get_edges(RELATIONS, to_ids=ids) if e.get("relationshipType") in CONTAINMENT
        ]
        _reconcile(tx, RELATIONS, desired, existing)
