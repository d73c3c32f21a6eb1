"""Store ingest benchmark: 100,000 file records through the store interface, against a bare insert.

Each record is written as the processor writes it: the `records` document, its `files` type
document and `isOfType` edge, 3 `permissions` edges, a `belongsTo` edge to its record group and a
`newRecord` event, one transaction per batch. The baseline inserts exactly the same rows, already
serialised, with plain INSERT statements into tables of the same shape in the same database, in the
same run. Then the same 100,000 records are upserted again: nothing may be written.

    python bench/store_ingest.py                      # SQLite in a temporary directory
    python bench/store_ingest.py --backend postgres   # PostgreSQL at 127.0.0.1:5432/test
    python bench/store_ingest.py --backend both --records 100000 --batch 1000

Targets (SQLite): >= 10,000 records/s; >= 0.5 x the bare insert; unchanged re-upsert <= 1/5 of the
first pass and writes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from headwater.models.entities import FileRecord
from headwater.store import codec
from headwater.store.base import GraphStore, Transaction, _edge_row, _node_row, partition_for
from headwater.store.registry import open_store

ORG = "org-bench"
CONNECTOR = "conn-bench"


def make_records(n: int) -> list[FileRecord]:
    return [
        FileRecord(
            id=f"rec-{i:07d}",
            org_id=ORG,
            record_name=f"document-{i}.pdf",
            external_record_id=f"ext-{i:07d}",
            external_revision_id="rev-1",
            external_record_group_id=f"drive-{i % 50}",
            parent_external_record_id=f"folder-{i % 1000}",
            connector_id=CONNECTOR,
            connector_name="ONEDRIVE",
            mime_type="application/pdf",
            weburl=f"https://files.example/doc/{i}",
            created_at=1_700_000_000_000,
            updated_at=1_700_000_000_000,
            source_created_at=1_690_000_000_000 + i,
            source_updated_at=1_695_000_000_000 + i,
            size_in_bytes=1000 + i,
            extension="pdf",
        )
        for i in range(n)
    ]


def edges_for(record: FileRecord) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    target = f"records/{record.id}"
    n = int(record.id.rsplit("-", 1)[1])
    grants = [
        {"_from": f"users/user-{n % 997}", "_to": target, "role": "OWNER", "type": "USER"},
        {"_from": f"groups/group-{n % 101}", "_to": target, "role": "READER", "type": "GROUP"},
        {"_from": f"organizations/{ORG}", "_to": target, "role": "READER", "type": "ORG"},
    ]
    belongs = {"_from": target, "_to": f"recordGroups/rg-{n % 50}", "entityType": "DRIVE"}
    return grants, belongs


def write_batch(tx: Transaction, batch: list[FileRecord]) -> int:
    """The processor's write path for one batch; returns how many records changed."""
    changed = tx.upsert_records(batch)
    if not changed:
        return 0
    grants: list[dict[str, Any]] = []
    belongs: list[dict[str, Any]] = []
    for record in changed:
        g, b = edges_for(record)
        grants.extend(g)
        belongs.append(b)
    tx.upsert_edges("permissions", grants)
    tx.upsert_edges("belongsTo", belongs)
    tx.append_events("record-events", ((r.id, "newRecord", r.to_kafka_record()) for r in changed))
    return len(changed)


def batches(items: list[FileRecord], size: int) -> Iterator[list[FileRecord]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bare_rows(records: list[FileRecord]) -> dict[str, list[tuple[Any, ...]]]:
    """Exactly the rows the interface writes, serialised ahead of time."""
    nodes: list[tuple[Any, ...]] = []
    edges: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    offsets: dict[int, int] = {}
    for record in records:
        base, type_doc = record.to_documents()
        assert type_doc is not None
        for collection, doc in (("records", base), ("files", type_doc)):
            row = _node_row(collection, doc)
            nodes.append(
                (collection, row.key, row.org_id, row.connector_id, row.external_id, row.digest, row.doc)
            )
        grants, belongs = edges_for(record)
        is_of_type = {"_from": f"records/{record.id}", "_to": f"files/{record.id}"}
        for collection, edge in [
            ("isOfType", is_of_type),
            *(("permissions", g) for g in grants),
            ("belongsTo", belongs),
        ]:
            e = _edge_row(collection, edge)
            edges.append((collection, e.from_id, e.to_id, e.kind, e.doc))
        partition = partition_for(record.id)
        offset = offsets.get(partition, -1) + 1
        offsets[partition] = offset
        envelope = {"eventType": "newRecord", "payload": record.to_kafka_record(), "timestamp": 0}
        events.append(("record-events", partition, offset, record.id, codec.dumps(envelope)))
    return {"nodes": nodes, "edges": edges, "events": events}


# ---- backends --------------------------------------------------------------------------------


class Backend:
    name: str
    url: str

    def bare_insert(self, store: GraphStore, rows: dict[str, list[tuple[Any, ...]]], per_tx: int) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        pass


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="hw-bench-")
        self.url = f"sqlite:///{Path(self.dir) / 'bench.db'}"

    def bare_insert(self, store: GraphStore, rows: dict[str, list[tuple[Any, ...]]], per_tx: int) -> None:
        conn = store.conn  # type: ignore[attr-defined]
        conn.executescript(
            """
            CREATE TABLE bare_nodes (coll TEXT NOT NULL, key TEXT NOT NULL, org_id TEXT NOT NULL,
                connector_id TEXT NOT NULL, external_id TEXT, digest TEXT NOT NULL, doc TEXT NOT NULL,
                PRIMARY KEY (coll, key)) WITHOUT ROWID;
            CREATE UNIQUE INDEX bare_nodes_identity ON bare_nodes (coll, connector_id, external_id);
            CREATE INDEX bare_nodes_org ON bare_nodes (coll, org_id);
            CREATE TABLE bare_edges (coll TEXT NOT NULL, from_id TEXT NOT NULL, to_id TEXT NOT NULL,
                kind TEXT NOT NULL, doc TEXT NOT NULL,
                PRIMARY KEY (coll, from_id, to_id, kind)) WITHOUT ROWID;
            CREATE INDEX bare_edges_to ON bare_edges (coll, to_id);
            CREATE TABLE bare_events (topic TEXT NOT NULL, partition INTEGER NOT NULL,
                offset INTEGER NOT NULL, key TEXT NOT NULL, event TEXT NOT NULL,
                PRIMARY KEY (topic, partition, offset)) WITHOUT ROWID;
            """
        )
        n = len(rows["events"])
        for start in range(0, n, per_tx):
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO bare_nodes VALUES (?,?,?,?,?,?,?)",
                rows["nodes"][2 * start : 2 * (start + per_tx)],
            )
            conn.executemany(
                "INSERT INTO bare_edges VALUES (?,?,?,?,?)", rows["edges"][5 * start : 5 * (start + per_tx)]
            )
            conn.executemany(
                "INSERT INTO bare_events VALUES (?,?,?,?,?)", rows["events"][start : start + per_tx]
            )
            conn.execute("COMMIT")


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, base_url: str) -> None:
        self.schema = f"hw_bench_{uuid.uuid4().hex[:8]}"
        self.base_url = base_url
        self.url = f"{base_url}?schema={self.schema}"

    def bare_insert(self, store: GraphStore, rows: dict[str, list[tuple[Any, ...]]], per_tx: int) -> None:
        import psycopg

        with psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {self.schema}")
            for table in ("nodes", "edges", "events"):
                conn.execute(f"CREATE TABLE bare_{table} (LIKE {table} INCLUDING ALL)")
            n = len(rows["events"])
            columns = {
                "nodes": "coll, key, org_id, connector_id, external_id, digest, doc",
                "edges": "coll, from_id, to_id, kind, doc",
                "events": 'topic, partition, "offset", key, event',
            }
            for start in range(0, n, per_tx):
                with conn.transaction():
                    for table, lo, hi in (
                        ("nodes", 2 * start, 2 * (start + per_tx)),
                        ("edges", 5 * start, 5 * (start + per_tx)),
                        ("events", start, start + per_tx),
                    ):
                        with conn.cursor().copy(f"COPY bare_{table} ({columns[table]}) FROM STDIN") as copy:
                            for row in rows[table][lo:hi]:
                                copy.write_row(row)

    def cleanup(self) -> None:
        import psycopg

        with psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(backend: Backend, n: int, per_tx: int) -> dict[str, float]:
    print(f"\n== {backend.name}: {n:,} records, {per_tx:,} per transaction")
    records = make_records(n)
    rows = bare_rows(records)
    store = open_store(backend.url)
    try:
        bare_s, _ = timed(lambda: backend.bare_insert(store, rows, per_tx))

        def ingest() -> int:
            changed = 0
            for batch in batches(records, per_tx):
                with store.transaction() as tx:
                    changed += write_batch(tx, batch)
            return changed

        first_s, first_changed = timed(ingest)
        second_s, second_changed = timed(ingest)
        with store.read() as tx:
            stored = len(tx.find_nodes("records", connector_id=CONNECTOR, limit=n + 1))
    finally:
        store.close()
        backend.cleanup()
    assert first_changed == n, first_changed
    assert stored == n, stored
    figures = {
        "bare_rps": n / bare_s,
        "first_rps": n / first_s,
        "ratio_to_bare": bare_s / first_s,
        "reupsert_s": second_s,
        "reupsert_fraction": second_s / first_s,
        "reupsert_written": second_changed,
    }
    print(f"bare insert of the same rows : {bare_s:7.2f} s  {figures['bare_rps']:>10,.0f} records/s")
    print(f"first pass (store interface) : {first_s:7.2f} s  {figures['first_rps']:>10,.0f} records/s")
    print(f"ratio to bare insert         : {figures['ratio_to_bare']:7.2f}")
    print(
        f"unchanged re-upsert          : {second_s:7.2f} s  = {figures['reupsert_fraction']:.3f}"
        f" of the first pass, {second_changed} records written"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--postgres-url", default="postgresql://127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    ok = True
    if args.backend in ("sqlite", "both"):
        f = run(SqliteBackend(), args.records, args.batch)
        checks = {
            ">= 10,000 records/s": f["first_rps"] >= 10_000,
            ">= 0.5 x bare insert": f["ratio_to_bare"] >= 0.5,
            "re-upsert <= 1/5 of first pass": f["reupsert_fraction"] <= 0.2,
            "re-upsert writes nothing": f["reupsert_written"] == 0,
        }
        for name, passed in checks.items():
            print(f"  target {name:32s} {'met' if passed else 'MISSED'}")
        ok = ok and all(checks.values())
    if args.backend in ("postgres", "both"):
        with contextlib.suppress(KeyboardInterrupt):
            run(PostgresBackend(args.postgres_url), args.records, args.batch)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
