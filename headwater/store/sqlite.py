"""The embedded graph store: one SQLite file in WAL mode, `WITHOUT ROWID` tables.

Lists of keys travel as one JSON array parameter (`IN (SELECT value FROM json_each(?))`), which
keeps every lookup on an index whatever the batch size. Traversals are one indexed query per step
(see base.py): a recursive CTE over the edge table lets SQLite pick a Bloom-filter plan that scans
every edge.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from headwater.models.constants import EDGE_COLLECTIONS
from headwater.models.timeutil import now_ms
from headwater.sqlite_files import open_sqlite, sqlite_path_from_url
from headwater.store import codec
from headwater.store.base import EdgeRow, GraphStore, NodeRow, StoredEvent, Transaction, edge_document
from headwater.store.schema import PARTITIONS

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    coll TEXT NOT NULL, key TEXT NOT NULL, org_id TEXT NOT NULL, connector_id TEXT NOT NULL,
    external_id TEXT, digest TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (coll, key)
) WITHOUT ROWID;
-- Partial indexes: type documents and other nodes without an identity or org stay out of them.
-- Queries reach them with `external_id = ...` / `org_id = ...` terms, which imply the conditions.
CREATE UNIQUE INDEX IF NOT EXISTS nodes_identity
    ON nodes (coll, connector_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS nodes_org ON nodes (coll, org_id) WHERE org_id <> '';
CREATE TABLE IF NOT EXISTS edges (
    coll TEXT NOT NULL, from_id TEXT NOT NULL, to_id TEXT NOT NULL, kind TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (coll, from_id, to_id, kind)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_to ON edges (coll, to_id);
CREATE TABLE IF NOT EXISTS event_partitions (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    key TEXT NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY (topic, partition, offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consumer_offsets (
    grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    PRIMARY KEY (grp, topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consumer_leases (
    grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
    member TEXT, expires_at INTEGER NOT NULL,
    PRIMARY KEY (grp, topic, partition)
) WITHOUT ROWID;
"""

_IN = "(SELECT value FROM json_each(?))"


class SqliteTransaction(Transaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- nodes --

    def _select_digests(self, collection: str, keys: Sequence[str]) -> dict[str, str]:
        if not keys:
            return {}
        rows = self.conn.execute(
            "SELECT n.key, n.digest FROM json_each(?) AS j CROSS JOIN nodes AS n"
            " WHERE n.coll = ? AND n.key = j.value",
            (json.dumps(list(keys)), collection),
        )
        return dict(rows.fetchall())

    def _select_identities(
        self, collection: str, connector_id: str, external_ids: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        if not external_ids:
            return {}
        # json_each drives the loop (CROSS JOIN fixes the order): one identity-index probe per id
        rows = self.conn.execute(
            "SELECT n.external_id, n.key, n.digest FROM json_each(?) AS j CROSS JOIN nodes AS n"
            " WHERE n.coll = ? AND n.connector_id = ? AND n.external_id = j.value",
            (json.dumps(list(external_ids)), collection, connector_id),
        )
        return {ext: (key, digest) for ext, key, digest in rows}

    def _select_docs(self, collection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        rows = self.conn.execute(
            f"SELECT key, doc FROM nodes WHERE coll = ? AND key IN {_IN}",
            (collection, json.dumps(list(keys))),
        )
        return {key: codec.loads(doc) for key, doc in rows}

    def _select_docs_where(
        self, collection: str, org_id: str | None, connector_id: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM nodes WHERE coll = ?"
        params: list[Any] = [collection]
        if org_id is not None:
            # the literal `<> ''` lets SQLite use the partial org index
            sql += " AND org_id = ? AND org_id <> ''"
            params.append(org_id)
        if connector_id is not None:
            sql += " AND connector_id = ?"
            params.append(connector_id)
        sql += " ORDER BY key"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [codec.loads(doc) for (doc,) in self.conn.execute(sql, params)]

    def _write_nodes(self, collection: str, rows: Sequence[NodeRow]) -> None:
        self.conn.executemany(
            "INSERT INTO nodes (coll, key, org_id, connector_id, external_id, digest, doc)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (coll, key) DO UPDATE SET org_id = excluded.org_id,"
            " connector_id = excluded.connector_id, external_id = excluded.external_id,"
            " digest = excluded.digest, doc = excluded.doc",
            [(collection, r.key, r.org_id, r.connector_id, r.external_id, r.digest, r.doc) for r in rows],
        )

    def _delete_nodes(self, collection: str, keys: Sequence[str]) -> int:
        cur = self.conn.execute(
            f"DELETE FROM nodes WHERE coll = ? AND key IN {_IN}", (collection, json.dumps(list(keys)))
        )
        return cur.rowcount

    # -- edges --

    def _write_edges(self, collection: str, rows: Sequence[EdgeRow]) -> int:
        before = self.conn.total_changes
        self.conn.executemany(
            "INSERT INTO edges (coll, from_id, to_id, kind, doc) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (coll, from_id, to_id, kind) DO UPDATE SET doc = excluded.doc"
            " WHERE edges.doc <> excluded.doc",
            [(collection, r.from_id, r.to_id, r.kind, r.doc) for r in rows],
        )
        return self.conn.total_changes - before

    def _edge_filter(
        self,
        collection: str,
        from_ids: Sequence[str] | None,
        to_ids: Sequence[str] | None,
        kind: str | None,
    ) -> tuple[str, list[Any]]:
        sql = "coll = ?"
        params: list[Any] = [collection]
        if from_ids is not None:
            sql += f" AND from_id IN {_IN}"
            params.append(json.dumps(list(from_ids)))
        if to_ids is not None:
            sql += f" AND to_id IN {_IN}"
            params.append(json.dumps(list(to_ids)))
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        return sql, params

    def _select_edges(
        self,
        collection: str,
        from_ids: Sequence[str] | None,
        to_ids: Sequence[str] | None,
        kind: str | None,
    ) -> list[dict[str, Any]]:
        where, params = self._edge_filter(collection, from_ids, to_ids, kind)
        rows = self.conn.execute(
            f"SELECT from_id, to_id, doc FROM edges WHERE {where} ORDER BY from_id, to_id", params
        )
        return [edge_document(f, t, doc) for f, t, doc in rows]

    def _delete_edges(
        self,
        collection: str,
        from_ids: Sequence[str] | None,
        to_ids: Sequence[str] | None,
        kind: str | None,
    ) -> int:
        where, params = self._edge_filter(collection, from_ids, to_ids, kind)
        return self.conn.execute(f"DELETE FROM edges WHERE {where}", params).rowcount

    def _delete_edges_touching(self, node_ids: Sequence[str]) -> int:
        ids = json.dumps(list(node_ids))
        deleted = 0
        for collection in sorted(EDGE_COLLECTIONS):
            deleted += self.conn.execute(
                f"DELETE FROM edges WHERE coll = ? AND from_id IN {_IN}", (collection, ids)
            ).rowcount
            deleted += self.conn.execute(
                f"DELETE FROM edges WHERE coll = ? AND to_id IN {_IN}", (collection, ids)
            ).rowcount
        return deleted

    def _edge_targets(self, collection: str, from_ids: Sequence[str]) -> set[str]:
        if not from_ids:
            return set()
        rows = self.conn.execute(
            f"SELECT to_id FROM edges WHERE coll = ? AND from_id IN {_IN}",
            (collection, json.dumps(list(from_ids))),
        )
        return {to_id for (to_id,) in rows}

    def _edge_sources(self, collection: str, to_ids: Sequence[str]) -> set[str]:
        if not to_ids:
            return set()
        rows = self.conn.execute(
            f"SELECT from_id FROM edges WHERE coll = ? AND to_id IN {_IN}",
            (collection, json.dumps(list(to_ids))),
        )
        return {from_id for (from_id,) in rows}

    # -- events --

    def _append_events(self, topic: str, partition: int, rows: Sequence[tuple[str, str]]) -> None:
        n = len(rows)
        found = self.conn.execute(
            "UPDATE event_partitions SET next_offset = next_offset + ?"
            " WHERE topic = ? AND partition = ? RETURNING next_offset",
            (n, topic, partition),
        ).fetchone()
        if found is None:
            self.conn.execute(
                "INSERT INTO event_partitions (topic, partition, next_offset) VALUES (?, ?, ?)",
                (topic, partition, n),
            )
            start = 0
        else:
            start = found[0] - n
        self.conn.executemany(
            "INSERT INTO events (topic, partition, offset, key, event) VALUES (?, ?, ?, ?, ?)",
            [(topic, partition, start + i, key, event) for i, (key, event) in enumerate(rows)],
        )

    def _read_events(self, topic: str, partition: int, after_offset: int, limit: int) -> list[StoredEvent]:
        rows = self.conn.execute(
            "SELECT offset, key, event FROM events WHERE topic = ? AND partition = ? AND offset > ?"
            " ORDER BY offset LIMIT ?",
            (topic, partition, after_offset, limit),
        )
        return [StoredEvent(topic, partition, off, key, codec.loads(ev)) for off, key, ev in rows]

    def _committed_offsets(self, group: str, topic: str) -> dict[int, int]:
        rows = self.conn.execute(
            "SELECT partition, offset FROM consumer_offsets WHERE grp = ? AND topic = ?", (group, topic)
        )
        return dict(rows.fetchall())

    def _commit_offset(self, group: str, topic: str, partition: int, offset: int) -> None:
        self.conn.execute(
            "INSERT INTO consumer_offsets (grp, topic, partition, offset) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (grp, topic, partition) DO UPDATE SET offset = max(offset, excluded.offset)",
            (group, topic, partition, offset),
        )

    def _claim_partitions(self, group: str, topic: str, member: str, wanted: int, lease_ms: int) -> list[int]:
        now = now_ms()
        self.conn.executemany(
            "INSERT OR IGNORE INTO consumer_leases (grp, topic, partition, member, expires_at)"
            " VALUES (?, ?, ?, NULL, 0)",
            [(group, topic, p) for p in range(PARTITIONS)],
        )
        self.conn.execute(
            "UPDATE consumer_leases SET expires_at = ? WHERE grp = ? AND topic = ? AND member = ?",
            (now + lease_ms, group, topic, member),
        )
        mine = [
            p
            for (p,) in self.conn.execute(
                "SELECT partition FROM consumer_leases WHERE grp = ? AND topic = ? AND member = ?"
                " ORDER BY partition",
                (group, topic, member),
            )
        ]
        if len(mine) > wanted:
            for p in mine[wanted:]:
                self.conn.execute(
                    "UPDATE consumer_leases SET member = NULL, expires_at = 0"
                    " WHERE grp = ? AND topic = ? AND partition = ?",
                    (group, topic, p),
                )
            mine = mine[:wanted]
        elif len(mine) < wanted:
            free = [
                p
                for (p,) in self.conn.execute(
                    "SELECT partition FROM consumer_leases WHERE grp = ? AND topic = ?"
                    " AND (member IS NULL OR expires_at < ?) ORDER BY partition LIMIT ?",
                    (group, topic, now, wanted - len(mine)),
                )
            ]
            self.conn.executemany(
                "UPDATE consumer_leases SET member = ?, expires_at = ?"
                " WHERE grp = ? AND topic = ? AND partition = ?",
                [(member, now + lease_ms, group, topic, p) for p in free],
            )
            mine = sorted(mine + free)
        return mine

    def _release_partitions(self, group: str, topic: str, member: str) -> None:
        self.conn.execute(
            "UPDATE consumer_leases SET member = NULL, expires_at = 0"
            " WHERE grp = ? AND topic = ? AND member = ?",
            (group, topic, member),
        )

    def _lock(self, name: str) -> None:
        # write transactions start with BEGIN IMMEDIATE: SQLite already runs one writer at a time
        return None

    def _live_members(self, group: str, topic: str) -> int:
        now = now_ms()
        (count,) = self.conn.execute(
            "SELECT count(DISTINCT member) FROM consumer_leases"
            " WHERE grp = ? AND topic = ? AND member IS NOT NULL AND expires_at >= ?",
            (group, topic, now),
        ).fetchone()
        return int(count)


class SqliteGraphStore(GraphStore):
    """The embedded default. One connection per store object, guarded by a lock; other processes
    may open the same file (WAL lets readers run beside the one writer)."""

    def __init__(self, url: str, *, busy_timeout_s: float = 30.0) -> None:
        self.url = url
        self.path = sqlite_path_from_url(url)
        self.busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    def connect(self) -> None:
        if self._conn is None:
            self._conn = open_sqlite(self.path, SCHEMA, "store", self.busy_timeout_s)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the store is not connected; call connect() first")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTransaction(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN DEFERRED")
            try:
                yield SqliteTransaction(conn)
            finally:
                conn.execute("ROLLBACK")
