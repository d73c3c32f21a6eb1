"""The embedded index's source of truth: records, chunk text and slots, and the keyword journal, in SQLite.

Everything else on disk is derived from this file and repaired from it on open: the tantivy
directory (through `keyword_journal`, the records whose keyword documents may be stale), the
in-memory permission map (rebuilt), the HNSW graph (caught up). The vector file is the one other
source, addressed by the `slot` column here; `next_slot` says which of its rows are committed.

One writer connection (inside `transaction()` for changes) and one read-only connection per
reading thread, so searches never see a batch before it commits (WAL: readers never block).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from headwater.errors import ConfigurationError
from headwater.indexing.index.codec import location_to_json, record_from_json, record_to_json
from headwater.indexing.types import IndexedChunk, IndexedRecord
from headwater.sqlite_files import open_sqlite

FORMAT_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    record_id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the permission map is indexed by it
    record_key TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    slot INTEGER PRIMARY KEY,
    record_id INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    location TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_record ON chunks (record_id, ordinal);
CREATE TABLE IF NOT EXISTS keyword_journal (record_key TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


@dataclass(slots=True)
class ChunkRow:
    slot: int
    record_id: int
    ordinal: int
    text: str
    location: str  # JSON


@dataclass(slots=True)
class Hit:
    """A chunk joined with its record, as a search result is assembled."""

    slot: int
    ordinal: int
    text: str
    location: str
    record: IndexedRecord


class IndexMetadata:
    def __init__(self, path: Path, dimensions: int) -> None:
        self.path = path
        self._writer = open_sqlite(path, SCHEMA, "search index metadata")
        # a commit must be on disk before tantivy's (which fsyncs): after a power failure the
        # keyword index is never ahead of the truth, e.g. holding a widening the metadata lost
        self._writer.execute("PRAGMA synchronous = FULL")
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writing_thread: int | None = None
        stored = self._setting("dimensions")
        if stored is None:
            self._writer.execute("BEGIN IMMEDIATE")
            self._put_setting("dimensions", str(dimensions))
            self._put_setting("format", FORMAT_VERSION)
            self._put_setting("next_slot", "0")
            self._writer.execute("COMMIT")
        elif int(stored) != dimensions:
            raise ConfigurationError(
                f"the search index at {path.parent} holds {stored}-dimensional vectors, but the embedder"
                f" makes {dimensions}; use the same embedding model or a new index directory"
            )

    # -- transactions (the writer) --

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT on the writer connection; rolled back on any exception."""
        self._writer.execute("BEGIN IMMEDIATE")
        self._writing_thread = threading.get_ident()
        try:
            yield
        except BaseException:
            self._writer.execute("ROLLBACK")
            raise
        else:
            self._writer.execute("COMMIT")
        finally:
            self._writing_thread = None

    def upsert_record(self, record: IndexedRecord) -> tuple[int, list[int]]:
        """Store the record's facts; returns its record id and the slots of its chunks (kept)."""
        (record_id,) = self._writer.execute(
            "INSERT INTO records (record_key, doc) VALUES (?, ?)"
            " ON CONFLICT (record_key) DO UPDATE SET doc = excluded.doc RETURNING record_id",
            (record.record_key, record_to_json(record)),
        ).fetchone()
        slots = [
            s for (s,) in self._writer.execute("SELECT slot FROM chunks WHERE record_id = ?", (record_id,))
        ]
        return int(record_id), slots

    def replace_chunks(self, record_id: int, first_slot: int, chunks: Sequence[IndexedChunk]) -> None:
        self._writer.execute("DELETE FROM chunks WHERE record_id = ?", (record_id,))
        self._writer.executemany(
            "INSERT INTO chunks (slot, record_id, ordinal, text, location) VALUES (?, ?, ?, ?, ?)",
            [
                (first_slot + i, record_id, c.ordinal, c.text, location_to_json(c.location))
                for i, c in enumerate(chunks)
            ],
        )

    def update_record(self, record: IndexedRecord) -> bool:
        cursor = self._writer.execute(
            "UPDATE records SET doc = ? WHERE record_key = ?", (record_to_json(record), record.record_key)
        )
        return cursor.rowcount > 0

    def delete_record(self, record_key: str) -> bool:
        row = self._writer.execute(
            "DELETE FROM records WHERE record_key = ? RETURNING record_id", (record_key,)
        ).fetchone()
        if row is None:
            return False
        self._writer.execute("DELETE FROM chunks WHERE record_id = ?", (row[0],))
        return True

    def journal(self, record_keys: Iterable[str]) -> None:
        """Mark records whose keyword documents must be rewritten (same transaction as the change)."""
        self._writer.executemany(
            "INSERT OR IGNORE INTO keyword_journal (record_key) VALUES (?)", [(k,) for k in record_keys]
        )

    def clear_journal(self, record_keys: Sequence[str]) -> None:
        """The keyword index has committed these records' documents."""
        with self.transaction():
            self._writer.executemany(
                "DELETE FROM keyword_journal WHERE record_key = ?", [(k,) for k in record_keys]
            )

    def journaled_keys(self) -> list[str]:
        return [k for (k,) in self._writer.execute("SELECT record_key FROM keyword_journal")]

    @property
    def next_slot(self) -> int:
        return int(self._setting("next_slot") or 0)

    def set_next_slot(self, slot: int) -> None:
        self._put_setting("next_slot", str(slot))

    def _setting(self, name: str) -> str | None:
        row = self._writer.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _put_setting(self, name: str, value: str) -> None:
        self._writer.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # -- reads --

    def _reader(self) -> sqlite3.Connection:
        """The calling thread's read connection; the writer's own connection inside its transaction,
        so a batch reads what it has written."""
        if self._writing_thread == threading.get_ident():
            return self._writer
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def get_record(self, record_key: str) -> tuple[int, IndexedRecord] | None:
        row = (
            self._reader()
            .execute("SELECT record_id, doc FROM records WHERE record_key = ?", (record_key,))
            .fetchone()
        )
        return None if row is None else (int(row[0]), record_from_json(row[1]))

    def chunks_of(self, record_id: int) -> list[ChunkRow]:
        rows = self._reader().execute(
            "SELECT slot, record_id, ordinal, text, location FROM chunks"
            " WHERE record_id = ? ORDER BY ordinal",
            (record_id,),
        )
        return [ChunkRow(*row) for row in rows]

    def hits(self, slots: Sequence[int]) -> dict[int, Hit]:
        """The committed chunks (with records) among `slots`; a slot no longer committed is absent."""
        if not slots:
            return {}
        marks = ",".join("?" * len(slots))
        rows = self._reader().execute(
            "SELECT c.slot, c.ordinal, c.text, c.location, r.doc FROM chunks c"
            f" JOIN records r ON r.record_id = c.record_id WHERE c.slot IN ({marks})",
            list(slots),
        )
        records: dict[str, IndexedRecord] = {}
        out: dict[int, Hit] = {}
        for slot, ordinal, text, location, doc in rows:
            record = records.get(doc) or records.setdefault(doc, record_from_json(doc))
            out[slot] = Hit(slot, ordinal, text, location, record)
        return out

    def all_records(self) -> Iterator[tuple[int, IndexedRecord]]:
        for record_id, doc in self._writer.execute("SELECT record_id, doc FROM records"):
            yield int(record_id), record_from_json(doc)

    def all_chunk_slots(self) -> Iterator[tuple[int, int]]:
        """(record id, slot) of every chunk, grouped by record."""
        yield from self._writer.execute("SELECT record_id, slot FROM chunks ORDER BY record_id, slot")

    def record_keys(self) -> set[str]:
        return {k for (k,) in self._reader().execute("SELECT record_key FROM records")}

    def chunk_count(self) -> int:
        return int(self._reader().execute("SELECT count(*) FROM chunks").fetchone()[0])

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._writer.close()
