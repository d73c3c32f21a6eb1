"""The graph-writing vocabulary of the processor: collection names, role ranks, and the pure
functions that build, compare and reconcile documents and edges inside a store transaction.
`processor.py` decides what to write; this module knows how."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from headwater.models.constants import (
    GraphChangeEventTypes,
    MimeTypes,
    OriginTypes,
    ProgressStatus,
    RecordRelations,
)
from headwater.models.documents import plain
from headwater.models.entities import (
    RECORD_CLASS_BY_TYPE,
    FileRecord,
    LinkRecord,
    Record,
)
from headwater.models.permission import EntityType, Permission, PermissionType
from headwater.models.timeutil import now_ms
from headwater.store import codec
from headwater.store.base import Transaction
from headwater.store.schema import edge_kind

RECORD_EVENTS = "record-events"
# permission and metadata changes (GraphChangeEventTypes): no content work, so not on record-events
ENTITY_EVENTS = "entity-events"
DEFAULT_FLUSH_THRESHOLD = 1000
DEFAULT_MASS_DELETION_THRESHOLD = 0.2
DEFAULT_MASS_DELETION_MIN_COUNT = 1  # deleting one record is never a mass deletion
# fields of a quarantined record's `records` document (not part of the Record model)
QUARANTINED_AT = "quarantinedAt"
QUARANTINE_REASON = "quarantineReason"
QUARANTINE_SCOPE = "quarantineScope"
QUARANTINE_FIELDS = (QUARANTINED_AT, QUARANTINE_REASON, QUARANTINE_SCOPE)
MAX_REASON_CHARS = 500

RECORDS = "records"
RECORD_GROUPS = "recordGroups"
USERS = "users"
GROUPS = "groups"
ROLES = "roles"
PERMISSIONS = "permissions"
BELONGS_TO = "belongsTo"
INHERIT = "inheritPermissions"
RELATIONS = "recordRelations"
USER_APP = "userAppRelation"

CONTAINMENT = frozenset({RecordRelations.PARENT_CHILD.value, RecordRelations.ATTACHMENT.value})
# a FILE under one of these is an attachment (reference §3.2)
ATTACHMENT_PARENT_TYPES = frozenset(
    {
        "MAIL", "GROUP_MAIL", "WEBPAGE", "CONFLUENCE_PAGE", "CONFLUENCE_BLOGPOST", "SHAREPOINT_PAGE",
        "PROJECT", "LINK", "TICKET", "DEAL", "CASE", "TASK", "MESSAGE",
    }
)  # fmt: skip
ROLE_RANK = {
    PermissionType.OTHER.value: 0,
    PermissionType.READ.value: 1,
    PermissionType.COMMENT.value: 2,
    PermissionType.WRITE.value: 3,
    PermissionType.OWNER.value: 4,
}
EDGE_TIMESTAMPS = frozenset({"createdAtTimestamp", "updatedAtTimestamp", "lastSyncUpdate"})
NODE_TIMESTAMPS = frozenset({"createdAtTimestamp", "updatedAtTimestamp"})

Event = tuple[str, str, dict[str, Any]]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_REASON_CHARS]


_GROUP_KINDS = (EntityType.GROUP, EntityType.TEAM, EntityType.ROLE)


def _item_problem(record: Any, permissions: Any) -> str | None:
    """What is wrong with a handed-in record and its permissions, in words; None when nothing
    (cheap checks, run on every record)."""
    if not isinstance(record, Record):
        return f"not a Record but {type(record).__name__}"
    ext = record.external_record_id
    if not isinstance(ext, str) or not ext.strip():
        return "the record has no external record id"
    if permissions is None:
        return None
    if not isinstance(permissions, list | tuple):
        return f"permissions must be a list, not {type(permissions).__name__}"
    for n, p in enumerate(permissions, 1):
        if not isinstance(p, Permission):
            return f"permission #{n} is not a Permission but {type(p).__name__}"
        if p.entity_type == EntityType.USER and not (p.email or p.external_id):
            return f"permission #{n} (USER, {p.type.value}) names neither an email nor an external id"
        if p.entity_type in _GROUP_KINDS and not (p.external_id or p.email):
            return f"permission #{n} ({p.entity_type.value}, {p.type.value}) names no external id"
    return None


def _write_problem(record: Record) -> str | None:
    """Whether the record can be turned into what the store and the event get (the expensive
    checks, run only to find the culprit of a failed flush)."""
    try:
        base, type_doc = record.to_documents()
        codec.dumps(base)
        if type_doc is not None:
            codec.dumps(type_doc)
        record.__pydantic_serializer__.to_json(record, by_alias=True)
        codec.dumps(record.to_kafka_record())
        if record.parent_external_record_id and record.parent_external_record_id != record.external_record_id:
            _placeholder_parent(record)
    except Exception as exc:
        return f"the record cannot be written: {_describe(exc)}"
    return None


def _without_quarantine(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in QUARANTINE_FIELDS}


def _email_of(p: Permission) -> str | None:
    for candidate in (p.email, p.external_id):
        if candidate and "@" in candidate:
            return candidate.strip().lower()
    return None


def _content_changed(record: Record, old: Record) -> bool:
    """Whether the source says the content changed: the revision, else the content hash, else the
    source's modification time."""
    if record.external_revision_id is not None or old.external_revision_id is not None:
        return record.external_revision_id != old.external_revision_id
    if record.md5_hash is not None and old.md5_hash is not None:
        return record.md5_hash != old.md5_hash
    return record.source_updated_at is not None and record.source_updated_at != old.source_updated_at


def _placeholder_parent(child: Record) -> Record:
    """A stub for a parent that has not synced yet (reference §3.2); its type is the child's
    `parent_record_type`, else the child's own type."""
    parent_type = child.parent_record_type or child.record_type
    cls = RECORD_CLASS_BY_TYPE.get(parent_type, Record)
    ext = child.parent_external_record_id or ""
    fields: dict[str, Any] = {
        "org_id": child.org_id,
        "record_name": ext,
        "record_type": parent_type,
        "external_record_id": ext,
        "version": 0,
        "origin": OriginTypes.CONNECTOR,
        "connector_name": child.connector_name,
        "connector_id": child.connector_id,
        "mime_type": MimeTypes.UNKNOWN,
        "source_created_at": 0,
        "source_updated_at": 0,
        "is_placeholder": True,
        "external_record_group_id": child.external_record_group_id,
        "record_group_type": child.record_group_type,
        "record_group_id": child.record_group_id,
        "indexing_status": ProgressStatus.NOT_STARTED,
    }
    if cls is FileRecord:
        fields.update(is_file=False, mime_type=MimeTypes.FOLDER, size_in_bytes=0, weburl="")
    elif cls is LinkRecord:
        fields.update(url=ext)
    return cls(**fields)


def _delete_payload(r: Record) -> dict[str, Any]:
    """reference §6.2 `deleteRecord` payload."""
    return {
        "orgId": r.org_id,
        "recordId": r.id,
        "version": r.version,
        "extension": getattr(r, "extension", None),
        "mimeType": plain(r.mime_type),
        "summaryDocumentId": None,
        "virtualRecordId": r.virtual_record_id,
        "connectorName": plain(r.connector_name),
        "origin": r.origin.value,
    }


def _to_collection(collection: str) -> Callable[[dict[str, Any]], bool]:
    prefix = collection + "/"
    return lambda e: str(e["_to"]).startswith(prefix)


def _outbound(
    tx: Transaction, collection: str, from_ids: Sequence[str], keep: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    if not from_ids:
        return []
    return [e for e in tx.get_edges(collection, from_ids=list(from_ids)) if keep(e)]


def _edge_key(collection: str, edge: dict[str, Any]) -> tuple[str, str, str]:
    return str(edge["_from"]), str(edge["_to"]), edge_kind(collection, edge)


def _content(doc: dict[str, Any], ignore: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ignore and k not in ("_key", "_id", "_rev")}


def _write_edge_diff(
    tx: Transaction,
    collection: str,
    desired: Sequence[dict[str, Any]],
    existing: Sequence[dict[str, Any]],
    *,
    delete_missing: bool,
    quiet: Collection[str] = (),
) -> None:
    """Write the desired edges that differ from the existing ones (timestamps aside); with
    `delete_missing`, delete the existing edges that are not desired. A change to `permissions` or
    `inheritPermissions` edges announces the records / record groups whose access changed
    (`updatePermissions`), except the node ids in `quiet` (records that get a content event in the
    same transaction: indexing them reads their access anyway)."""
    have = {_edge_key(collection, e): e for e in existing}
    want: dict[tuple[str, str, str], dict[str, Any]] = {}
    for edge in desired:
        want[_edge_key(collection, edge)] = edge
    now = now_ms()
    writes = []
    for key, edge in want.items():
        old = have.get(key)
        if old is not None and _content(old, EDGE_TIMESTAMPS) == _content(edge, EDGE_TIMESTAMPS):
            continue
        created = old.get("createdAtTimestamp", now) if old is not None else now
        writes.append({**edge, "createdAtTimestamp": created, "updatedAtTimestamp": now})
    if writes:
        tx.upsert_edges(collection, writes)
    gone = sorted(have.keys() - want.keys()) if delete_missing else []
    for from_id, to_id, kind in gone:
        tx.delete_edges(collection, from_id=from_id, to_id=to_id, kind=kind)
    if collection in (PERMISSIONS, INHERIT) and (writes or gone):
        changed = [(str(e["_from"]), str(e["_to"])) for e in writes] + [(f, t) for f, t, _ in gone]
        # a grant changes its target's access; an inheritance edge changes its source's
        nodes = {t if collection == PERMISSIONS else f for f, t in changed}
        _announce_access_change(tx, nodes - set(quiet))


def _reconcile(
    tx: Transaction,
    collection: str,
    desired: Sequence[dict[str, Any]],
    existing: Sequence[dict[str, Any]],
    *,
    quiet: Collection[str] = (),
) -> None:
    _write_edge_diff(tx, collection, desired, existing, delete_missing=True, quiet=quiet)


def _announce(tx: Transaction, event_type: GraphChangeEventTypes, node_ids: Iterable[str]) -> None:
    """Append a graph-change event per record / record group node id (keyed by its key, so it
    shares a partition with the record's own events), in the caller's transaction."""
    events = [
        (node_id.split("/", 1)[1], event_type.value, {"nodeId": node_id})
        for node_id in sorted(set(node_ids))
        if node_id.startswith((f"{RECORDS}/", f"{RECORD_GROUPS}/"))
    ]
    if events:
        tx.append_events(ENTITY_EVENTS, events)


def _announce_access_change(tx: Transaction, node_ids: Iterable[str]) -> None:
    _announce(tx, GraphChangeEventTypes.UPDATE_PERMISSIONS, node_ids)


def _upsert_identity_nodes(
    tx: Transaction, collection: str, ext_field: str, docs: list[dict[str, Any]]
) -> dict[tuple[str, str], str]:
    """Upsert nodes identified by (connectorId, `ext_field`): an existing node keeps its key and
    creation time, and is rewritten only if its content (timestamps aside) changed. A placeholder
    taken over by the real node loses its `isPlaceholder` flag with the rewrite."""
    keys: dict[tuple[str, str], str] = {}
    by_connector: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        by_connector.setdefault(str(doc.get("connectorId") or ""), []).append(doc)
    writes = []
    now = now_ms()
    for connector_id, group in by_connector.items():
        found = tx.get_nodes_by_external_ids(collection, connector_id, [str(d[ext_field]) for d in group])
        for doc in group:
            ext = str(doc[ext_field])
            ident = (connector_id, ext)
            if ident in keys:  # the same node twice in one call: the last one wins
                doc["_key"] = keys[ident]
            stored = found.get(ext)
            if stored is not None:
                doc["_key"] = stored["_key"]
                doc["createdAtTimestamp"] = stored.get("createdAtTimestamp", doc.get("createdAtTimestamp"))
                if _content(stored, NODE_TIMESTAMPS) == _content(doc, NODE_TIMESTAMPS):
                    keys[ident] = str(stored["_key"])
                    continue
                doc["updatedAtTimestamp"] = now
            keys[ident] = str(doc["_key"])
            writes.append(doc)
    if writes:
        tx.upsert_nodes(collection, list({d["_key"]: d for d in writes}.values()))
    return keys


def _delete_identity(tx: Transaction, collection: str, connector_id: str, external_id: str) -> bool:
    """Delete the node with this identity and every edge touching it; True also when it is absent.
    The records and record groups that inherited access from a deleted record group lose it: they
    are announced (after the deletion their inheritance can no longer be followed to them)."""
    doc = tx.get_node_by_external_id(collection, connector_id, external_id)
    if doc is not None:
        if collection == RECORD_GROUPS:
            _announce_access_change(tx, tx.edge_sources(INHERIT, [f"{RECORD_GROUPS}/{doc['_key']}"]))
        tx.delete_nodes(collection, [str(doc["_key"])])
    return True
