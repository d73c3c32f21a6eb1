"""The graph store interface: collections and edges of the playbook's model, in transactions.

A backend implements a handful of primitives on `Transaction` (select, write, delete rows) and
inherits everything else: identity-aware upserts that write only what changed, typed records,
the outbox of events, and the traversals permission resolution needs. The contract suite in
`tests/store/test_contract.py` runs unchanged against every backend.

Node ids in edges are `collection/key` strings, as in the playbook's graph (`records/<uuid>`).
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from zlib import crc32

from headwater.models.entities import Record, record_from_documents
from headwater.models.timeutil import now_ms
from headwater.store import codec
from headwater.store.schema import PARTITIONS, TOPICS, edge_kind, identity_of

# What a user's principals are made of; a change to any of them changes `membership_version()`.
MEMBERSHIP_EDGES = "belongsTo"
_MEMBERSHIP_NODES = frozenset({"users", "groups", "roles", "organizations"})
STORE_META = "storeMeta"
MEMBERSHIP_VERSION_KEY = "membership"


@dataclass(slots=True)
class NodeRow:
    """A node as the backend writes it: indexed columns plus the canonical JSON document."""

    key: str
    org_id: str
    connector_id: str
    external_id: str | None
    digest: str
    doc: str


@dataclass(slots=True)
class EdgeRow:
    """An edge as the backend writes it: its ends and kind as columns, the rest of the document as
    canonical JSON (`_from`/`_to` are not repeated in it; readers add them back). Edge documents
    are small, so backends compare `doc` itself to skip unchanged edges."""

    from_id: str
    to_id: str
    kind: str
    doc: str


@dataclass(frozen=True)
class StoredEvent:
    """One event of the log, with its position: (topic, partition, offset) is unique."""

    topic: str
    partition: int
    offset: int
    key: str
    event: dict[str, Any]


def partition_for(key: str) -> int:
    return crc32(key.encode()) % PARTITIONS


class Transaction(ABC):
    """One unit of work. Everything written through it commits together or not at all."""

    # ---- primitives a backend implements ------------------------------------------------------

    @abstractmethod
    def _select_digests(self, collection: str, keys: Sequence[str]) -> dict[str, str]:
        """key -> digest of the stored documents among `keys`."""

    @abstractmethod
    def _select_identities(
        self, collection: str, connector_id: str, external_ids: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        """external id -> (key, digest) of nodes of `collection` with that identity."""

    @abstractmethod
    def _select_docs(self, collection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def _select_docs_where(
        self, collection: str, org_id: str | None, connector_id: str | None, limit: int | None
    ) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _write_nodes(self, collection: str, rows: Sequence[NodeRow]) -> None:
        """Insert or replace these nodes. Keys are unique within `rows` (the callers collapse
        duplicates, the last one winning), so one bulk statement may write them all."""

    @abstractmethod
    def _delete_nodes(self, collection: str, keys: Sequence[str]) -> int: ...

    @abstractmethod
    def _write_edges(self, collection: str, rows: Sequence[EdgeRow]) -> int:
        """Insert or update these edges, leaving identical ones untouched; returns how many changed.
        (from, to, kind) is unique within `rows`."""

    @abstractmethod
    def _select_edges(
        self,
        collection: str,
        from_ids: Sequence[str] | None,
        to_ids: Sequence[str] | None,
        kind: str | None,
    ) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _delete_edges(
        self,
        collection: str,
        from_ids: Sequence[str] | None,
        to_ids: Sequence[str] | None,
        kind: str | None,
    ) -> int: ...

    @abstractmethod
    def _delete_edges_touching(self, node_ids: Sequence[str]) -> int:
        """Delete every edge of every collection that starts or ends at one of `node_ids`."""

    @abstractmethod
    def _edge_targets(self, collection: str, from_ids: Sequence[str]) -> set[str]: ...

    @abstractmethod
    def _edge_sources(self, collection: str, to_ids: Sequence[str]) -> set[str]: ...

    @abstractmethod
    def _append_events(self, topic: str, partition: int, rows: Sequence[tuple[str, str]]) -> None:
        """Append (key, event JSON) rows to one partition, at consecutive offsets, in order."""

    @abstractmethod
    def _read_events(
        self, topic: str, partition: int, after_offset: int, limit: int
    ) -> list[StoredEvent]: ...

    @abstractmethod
    def _committed_offsets(self, group: str, topic: str) -> dict[int, int]:
        """partition -> last committed offset of a consumer group (absent: nothing committed)."""

    @abstractmethod
    def _commit_offset(self, group: str, topic: str, partition: int, offset: int) -> None: ...

    @abstractmethod
    def _claim_partitions(self, group: str, topic: str, member: str, wanted: int, lease_ms: int) -> list[int]:
        """Renew this member's partition leases and take free or expired ones, up to `wanted`."""

    @abstractmethod
    def _release_partitions(self, group: str, topic: str, member: str) -> None: ...

    @abstractmethod
    def _lock(self, name: str) -> None:
        """Hold an exclusive lock named `name` until this transaction ends."""

    @abstractmethod
    def _live_members(self, group: str, topic: str) -> int:
        """How many members of a consumer group hold an unexpired lease on a topic."""

    # ---- coordination --------------------------------------------------------------------------

    def lock(self, name: str) -> None:
        """Serialise this transaction with every other one that locks the same name, across
        processes, until it commits or rolls back: read-check-write on a lease document is then
        atomic (e.g. "one sync per connector instance")."""
        self._lock(name)

    # ---- nodes ---------------------------------------------------------------------------------

    def upsert_nodes(self, collection: str, docs: Sequence[dict[str, Any]]) -> list[str]:
        """Insert or replace node documents (each with `_key`). Identical documents are not
        rewritten. Returns the keys that were inserted or changed."""
        if not docs:
            return []
        # one row per key, the last one winning, so backends never see a key twice in one write
        rows = list({row.key: row for row in (_node_row(collection, doc) for doc in docs)}.values())
        stored = self._select_digests(collection, [r.key for r in rows])
        changed = [r for r in rows if stored.get(r.key) != r.digest]
        if changed:
            self._write_nodes(collection, changed)
            if collection in _MEMBERSHIP_NODES:
                self._touch_membership()
        return [r.key for r in changed]

    def get_node(self, collection: str, key: str) -> dict[str, Any] | None:
        return self._select_docs(collection, [key]).get(key)

    def get_nodes(self, collection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        return self._select_docs(collection, list(keys)) if keys else {}

    def get_node_by_external_id(
        self, collection: str, connector_id: str, external_id: str
    ) -> dict[str, Any] | None:
        found = self.get_nodes_by_external_ids(collection, connector_id, [external_id])
        return found.get(external_id.lower() if collection == "users" else external_id)

    def get_nodes_by_external_ids(
        self, collection: str, connector_id: str, external_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """external id -> document, for the nodes of one connector (users: by email, connector '')."""
        if collection == "users":
            external_ids = [e.lower() for e in external_ids]
        ids = self._select_identities(collection, connector_id, list(dict.fromkeys(external_ids)))
        docs = self._select_docs(collection, [key for key, _ in ids.values()])
        return {ext: docs[key] for ext, (key, _) in ids.items() if key in docs}

    def find_nodes(
        self,
        collection: str,
        *,
        org_id: str | None = None,
        connector_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        return self._select_docs_where(collection, org_id, connector_id, limit)

    def delete_nodes(self, collection: str, keys: Sequence[str]) -> int:
        """Delete nodes and every edge that touches them."""
        if not keys:
            return 0
        self._delete_edges_touching([codec.edge_id(collection, k) for k in keys])
        deleted = self._delete_nodes(collection, list(keys))
        if deleted and collection in _MEMBERSHIP_NODES:
            self._touch_membership()
        return deleted

    # ---- edges ---------------------------------------------------------------------------------

    def upsert_edges(self, collection: str, edges: Iterable[dict[str, Any]]) -> int:
        """Insert or update edges (each with `_from` and `_to`); one edge per (from, to, kind).
        Returns how many were inserted or changed."""
        rows: dict[tuple[str, str, str], EdgeRow] = {}
        for edge in edges:
            row = _edge_row(collection, edge)
            rows[(row.from_id, row.to_id, row.kind)] = row
        written = self._write_edges(collection, list(rows.values())) if rows else 0
        if written and collection == MEMBERSHIP_EDGES:
            self._touch_membership()
        return written

    def get_edges(
        self,
        collection: str,
        *,
        from_id: str | None = None,
        to_id: str | None = None,
        kind: str | None = None,
        from_ids: Sequence[str] | None = None,
        to_ids: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Edges of a collection, by one end or by lists of ends (one query for a whole batch);
        with no end given, every edge of the collection."""
        if from_id is not None:
            from_ids = [*(from_ids or ()), from_id]
        if to_id is not None:
            to_ids = [*(to_ids or ()), to_id]
        return self._select_edges(
            collection,
            list(from_ids) if from_ids is not None else None,
            list(to_ids) if to_ids is not None else None,
            kind,
        )

    def edge_targets(self, collection: str, from_ids: Sequence[str]) -> set[str]:
        """The node ids that edges of `collection` from any of `from_ids` point to."""
        return self._edge_targets(collection, list(from_ids))

    def edge_sources(self, collection: str, to_ids: Sequence[str]) -> set[str]:
        """The node ids whose edges of `collection` point to any of `to_ids`."""
        return self._edge_sources(collection, list(to_ids))

    def delete_edges(
        self,
        collection: str,
        *,
        from_id: str | None = None,
        to_id: str | None = None,
        kind: str | None = None,
    ) -> int:
        if from_id is None and to_id is None:
            raise ValueError("delete_edges needs from_id or to_id; refusing to empty a whole collection")
        deleted = self._delete_edges(
            collection,
            [from_id] if from_id is not None else None,
            [to_id] if to_id is not None else None,
            kind,
        )
        if deleted and collection == MEMBERSHIP_EDGES:
            self._touch_membership()
        return deleted

    # ---- membership version --------------------------------------------------------------------

    def membership_version(self) -> str:
        """A token that changes whenever users, groups, roles or `belongsTo` edges change, in the
        same transaction as the change: caches of "who a user acts as" compare it to know when to
        recompute. A random token, not a counter, so that two concurrent writers never produce the
        same value."""
        doc = self._select_docs(STORE_META, [MEMBERSHIP_VERSION_KEY]).get(MEMBERSHIP_VERSION_KEY)
        return str(doc["version"]) if doc else ""

    def _touch_membership(self) -> None:
        row = _node_row(STORE_META, {"_key": MEMBERSHIP_VERSION_KEY, "version": uuid.uuid4().hex})
        self._write_nodes(STORE_META, [row])

    # ---- typed records -------------------------------------------------------------------------

    def upsert_records(self, records: Sequence[Record]) -> list[Record]:
        """Write records with their type documents and `isOfType` edges, deduplicated by
        (connector id, external id): a record whose identity already exists takes the stored key.
        Unchanged records are not rewritten. Returns the records that were inserted or changed."""
        if not records:
            return []
        by_connector: dict[str, list[Record]] = {}
        for record in records:
            by_connector.setdefault(record.connector_id, []).append(record)
        existing: dict[tuple[str, str], tuple[str, str]] = {}
        for connector_id, group in by_connector.items():
            found = self._select_identities("records", connector_id, [r.external_record_id for r in group])
            existing.update({(connector_id, ext): v for ext, v in found.items()})

        # A record's digest covers the whole typed record (base and type fields), so an unchanged
        # record costs one serialisation and no further query: its type document is not compared.
        changed: dict[str, tuple[Record, str]] = {}
        new_keys: dict[str, None] = {}
        for record in records:
            identity = (record.connector_id, record.external_record_id)
            stored = existing.get(identity)
            if stored is None:
                new_keys[record.id] = None
            else:
                record.id = stored[0]
            digest = codec.digest_bytes(record.__pydantic_serializer__.to_json(record, by_alias=True))
            if stored is None or stored[1] != digest:
                changed[record.id] = (record, digest)
            # a record whose identity was new a moment ago in this batch is not inserted twice
            existing[identity] = (record.id, digest)
        if not changed:
            return []

        base_rows: list[NodeRow] = []
        type_rows: dict[str, list[NodeRow]] = {}
        for record, digest in changed.values():
            base_doc, type_doc = record.to_documents()
            connector_id, external_id = identity_of("records", base_doc)
            text = codec.dumps(base_doc)
            base_rows.append(NodeRow(record.id, record.org_id, connector_id, external_id, digest, text))
            if type_doc is not None and record.type_collection:
                type_rows.setdefault(record.type_collection, []).append(
                    _node_row(record.type_collection, type_doc)
                )
        self._write_nodes("records", base_rows)
        for collection, rows in type_rows.items():
            self._write_nodes(collection, rows)
        self.upsert_edges(
            "isOfType",
            (
                {"_from": f"records/{key}", "_to": f"{record.type_collection}/{key}"}
                for key, (record, _) in changed.items()
                if key in new_keys and record.type_collection
            ),
        )
        return [record for record, _ in changed.values()]

    def get_record(self, key: str) -> Record | None:
        found = self.get_records([key])
        return found.get(key)

    def get_records(self, keys: Sequence[str]) -> dict[str, Record]:
        bases = self._select_docs("records", list(keys))
        return self.records_from_documents(bases)

    def get_record_by_external_id(self, connector_id: str, external_id: str) -> Record | None:
        return self.get_records_by_external_ids(connector_id, [external_id]).get(external_id)

    def get_records_by_external_ids(
        self, connector_id: str, external_ids: Sequence[str]
    ) -> dict[str, Record]:
        """external id -> record, for one connector instance."""
        bases = self.get_nodes_by_external_ids("records", connector_id, external_ids)
        typed = self.records_from_documents({doc["_key"]: doc for doc in bases.values()})
        return {ext: typed[doc["_key"]] for ext, doc in bases.items()}

    def delete_records(self, keys: Sequence[str]) -> int:
        """Delete records, their type documents and every edge touching them."""
        if not keys:
            return 0
        docs = self._select_docs("records", list(keys))
        type_ids: dict[str, list[str]] = {}
        for edge in self._select_edges("isOfType", [f"records/{k}" for k in docs], None, None):
            collection, key = codec.split_id(edge["_to"])
            type_ids.setdefault(collection, []).append(key)
        for collection, type_keys in type_ids.items():
            self._delete_nodes(collection, type_keys)
        return self.delete_nodes("records", list(docs))

    def records_from_documents(self, bases: dict[str, dict[str, Any]]) -> dict[str, Record]:
        """Typed records from their `records` documents (key -> document), type documents read in
        one query per type collection."""
        if not bases:
            return {}
        type_ids: dict[str, list[str]] = {}
        for edge in self._select_edges("isOfType", [f"records/{k}" for k in bases], None, None):
            collection, key = codec.split_id(edge["_to"])
            type_ids.setdefault(collection, []).append(key)
        type_docs: dict[str, dict[str, Any]] = {}
        for collection, keys in type_ids.items():
            type_docs.update(self._select_docs(collection, keys))
        return {k: record_from_documents(doc, type_docs.get(k)) for k, doc in bases.items()}

    # ---- events (the outbox) ---------------------------------------------------------------------

    def append_event(
        self, topic: str, event_type: str, payload: dict[str, Any], key: str | None = None
    ) -> None:
        self.append_events(topic, [(key or "", event_type, payload)])

    def append_events(self, topic: str, events: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """Append `(key, eventType, payload)` events to a topic, inside this transaction: they
        become visible to consumers exactly when the data they describe does."""
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}; topics are {', '.join(TOPICS)}")
        now = now_ms()
        by_partition: dict[int, list[tuple[str, str]]] = {}
        for key, event_type, payload in events:
            envelope = {"eventType": event_type, "payload": payload, "timestamp": now}
            by_partition.setdefault(partition_for(key), []).append((key, codec.dumps(envelope)))
        for partition, rows in sorted(by_partition.items()):
            self._append_events(topic, partition, rows)

    def read_events(
        self, topic: str, partition: int, after_offset: int = -1, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events of one partition after an offset, in order (consumers normally read through
        `headwater.events`, which tracks offsets; this is the raw view, for tools and tests)."""
        return self._read_events(topic, partition, after_offset, limit)

    # ---- permission traversals ------------------------------------------------------------------

    def principals(self, user_key: str) -> set[str]:
        """The node ids a user acts as: the user, its groups and roles (transitively, through
        `belongsTo`), its organisations, its email domain, and its organisation's `anyone`."""
        user = self.get_node("users", user_key)
        if user is None:
            return set()
        me = f"users/{user_key}"
        found = {me}
        frontier = {me}
        while frontier:
            step = self._edge_targets("belongsTo", sorted(frontier))
            step = {n for n in step if n.split("/", 1)[0] in ("groups", "roles", "organizations")}
            frontier = step - found
            found |= frontier
        org_id = user.get("orgId")
        if org_id:
            found.add(f"organizations/{org_id}")
        for node in list(found):
            if node.startswith("organizations/"):
                found.add("anyone/" + node.split("/", 1)[1])
        email = user.get("email") or ""
        if "@" in email and user.get("emailVerified", True):
            found.add("domains/" + email.rsplit("@", 1)[1].lower())
        return found

    def readable_record_keys(self, user_key: str) -> set[str]:
        """Every record the user can read: granted directly or to one of its principals, or
        inherited (`inheritPermissions`) from record groups and their parents."""
        principals = self.principals(user_key)
        if not principals:
            return set()
        seen = self._edge_targets("permissions", sorted(principals))
        frontier = set(seen)
        while frontier:
            step = self._edge_sources("inheritPermissions", sorted(frontier))
            frontier = step - seen
            seen |= frontier
        return {n.split("/", 1)[1] for n in seen if n.startswith("records/")}

    def can_read(self, user_key: str, record_key: str) -> bool:
        """Whether the user can read the record: walks up from the record, never over all records."""
        principals = self.principals(user_key)
        if not principals:
            return False
        ancestors = {f"records/{record_key}"}
        frontier = set(ancestors)
        while frontier:
            frontier = self._edge_targets("inheritPermissions", sorted(frontier)) - ancestors
            ancestors |= frontier
        grantees = self._edge_sources("permissions", sorted(ancestors))
        return not grantees.isdisjoint(principals)


class GraphStore(ABC):
    """A graph store. Open with `connect()`, work in `transaction()`, `close()` at the end."""

    url: str

    @abstractmethod
    def connect(self) -> None:
        """Open connections and create the schema if it does not exist."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """A read-write transaction: commits when the block ends, rolls back if it raises."""

    def read(self) -> AbstractContextManager[Transaction]:
        """A transaction for reading; backends may make it cheaper than a write transaction."""
        return self.transaction()

    def __enter__(self) -> GraphStore:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _node_row(collection: str, doc: dict[str, Any]) -> NodeRow:
    key = doc.get("_key")
    if not key:
        raise ValueError(f"a {collection} document needs a `_key`: {doc!r:.200}")
    text, digest = codec.dumps_with_digest(doc)
    connector_id, external_id = identity_of(collection, doc)
    return NodeRow(str(key), str(doc.get("orgId") or ""), connector_id, external_id, digest, text)


def _edge_row(collection: str, doc: dict[str, Any]) -> EdgeRow:
    rest = dict(doc)
    from_id = rest.pop("_from", None)
    to_id = rest.pop("_to", None)
    if from_id is None or to_id is None:
        raise ValueError(f"a {collection} edge needs `_from` and `_to`: {doc!r:.200}")
    return EdgeRow(str(from_id), str(to_id), edge_kind(collection, rest), codec.dumps(rest))


def edge_document(from_id: str, to_id: str, doc: str) -> dict[str, Any]:
    """The edge document as callers see it, from its stored row."""
    edge: dict[str, Any] = {"_from": from_id, "_to": to_id}
    edge.update(codec.loads(doc))
    return edge
