"""The config store on PostgreSQL: the same `config_kv` table, through psycopg 3 (async).

URL: ``postgresql://user@host:port/db?schema=NAME``. The `schema` parameter is Headwater's, not
libpq's: it is removed before connecting, the schema is created if missing and used as search_path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import sql

from headwater.config.base import ConfigStore
from headwater.config.crypto import SecretBox
from headwater.errors import BackendUnavailableError, ConfigurationError
from headwater.postgres_url import parse_postgres_url

SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS config_kv ( key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at BIGINT)"
)


class PostgresConfigStore(ConfigStore):
    connect_timeout_s = 10

    def __init__(self, url: str, box: SecretBox) -> None:
        super().__init__(url, box)
        self._dsn, self.schema, self._shown = parse_postgres_url(url)
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def connect(self) -> None:
        if self._conn is not None:
            return
        where = self._shown
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._dsn, autocommit=True, connect_timeout=self.connect_timeout_s
            )
        except psycopg.OperationalError:
            raise self._unavailable() from None
        try:
            try:
                await conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
                )
            except psycopg.errors.UniqueViolation:
                pass  # created concurrently by another connection
            await conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            try:
                await conn.execute(SCHEMA_SQL)
            except psycopg.errors.UniqueViolation:
                pass  # created concurrently by another connection
        except psycopg.Error as exc:
            await conn.close()
            raise ConfigurationError(
                f"cannot prepare the config table on PostgreSQL at {where}: {exc.sqlstate or ''} "
                f"{type(exc).__name__}; check the user may create schemas and tables there"
            ) from None
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    def _unavailable(self) -> BackendUnavailableError:
        return BackendUnavailableError(
            f"cannot reach the PostgreSQL config store at {self._shown}; start PostgreSQL there "
            "or point HEADWATER_CONFIG_URL at a running server"
        )

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """The connection; a lost server becomes BackendUnavailableError (no SQL, no values in it)."""
        try:
            yield self.conn
        except psycopg.OperationalError:
            raise self._unavailable() from None

    @property
    def conn(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None:
            raise RuntimeError("the config store is not connected; call connect() first")
        return self._conn

    async def _raw_get(self, key: str) -> str | None:
        async with self._guard() as conn:
            cur = await conn.execute("SELECT value FROM config_kv WHERE key = %s", (key,))
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def _raw_put(self, key: str, token: str) -> None:
        async with self._guard() as conn:
            await conn.execute(
                "INSERT INTO config_kv (key, value, updated_at)"
                " VALUES (%s, %s, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, token),
            )

    async def _raw_delete(self, key: str) -> bool:
        async with self._guard() as conn:
            cur = await conn.execute("DELETE FROM config_kv WHERE key = %s", (key,))
        return cur.rowcount > 0

    async def _raw_list(self, prefix: str) -> list[str]:
        async with self._guard() as conn:
            cur = await conn.execute("SELECT key FROM config_kv WHERE starts_with(key, %s)", (prefix,))
            rows = await cur.fetchall()
        return [str(k) for (k,) in rows]
