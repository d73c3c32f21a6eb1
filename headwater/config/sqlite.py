"""The embedded config store: a `config_kv` table in the store's SQLite file (its own connection, WAL)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

from headwater.config.base import ConfigStore
from headwater.config.crypto import SecretBox
from headwater.models.timeutil import now_ms
from headwater.sqlite_files import open_sqlite, sqlite_path_from_url

SCHEMA = """
CREATE TABLE IF NOT EXISTS config_kv (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER
) WITHOUT ROWID;
"""

T = TypeVar("T")


class SqliteConfigStore(ConfigStore):
    busy_timeout_s = 30.0

    def __init__(self, url: str, box: SecretBox) -> None:
        super().__init__(url, box)
        self.path = sqlite_path_from_url(url)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _open(self) -> None:
        with self._lock:
            if self._conn is not None:
                return
            conn = open_sqlite(self.path, SCHEMA, "config store", self.busy_timeout_s)
            self._conn = conn

    def _close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def connect(self) -> None:
        await asyncio.to_thread(self._open)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                if self._conn is None:
                    raise RuntimeError("the config store is not connected; call connect() first")
                return fn(self._conn)

        return await asyncio.to_thread(call)

    async def _raw_get(self, key: str) -> str | None:
        def op(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT value FROM config_kv WHERE key = ?", (key,)).fetchone()
            return None if row is None else str(row[0])

        return await self._run(op)

    async def _raw_put(self, key: str, token: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO config_kv (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, token, now_ms()),
            )

        await self._run(op)

    async def _raw_delete(self, key: str) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM config_kv WHERE key = ?", (key,)).rowcount > 0

        return await self._run(op)

    async def _raw_list(self, prefix: str) -> list[str]:
        def op(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT key FROM config_kv WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
            )
            return [str(k) for (k,) in rows]

        return await self._run(op)
