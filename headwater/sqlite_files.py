"""Embedded SQLite files: where a `sqlite:///` URL points, and how every Headwater SQLite file is
opened (the store, the event log and the config store may share one file, so they share the tuning)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

from headwater.errors import ConfigurationError


def sqlite_path_from_url(url: str) -> Path:
    """`sqlite:///relative.db`, `sqlite:////abs/path.db` -> a path."""
    parsed = urlparse(url)
    if parsed.scheme != "sqlite":
        raise ConfigurationError(f"not a SQLite URL: {url!r}; write sqlite:///path/to/headwater.db")
    # sqlite:///rel.db has path "/rel.db"; sqlite:////abs.db has path "//abs.db"
    raw = unquote(parsed.path)[1:]
    if not raw:
        raise ConfigurationError(f"the SQLite URL {url!r} names no file; write sqlite:///path/to/file.db")
    return Path(raw)


def open_sqlite(path: Path, schema: str, what: str, busy_timeout_s: float = 30.0) -> sqlite3.Connection:
    """A connection to an embedded database file, created if missing, with the tuning every
    Headwater SQLite file shares (the store, event and config tables may live in one file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        # 16 KiB pages suit kilobyte-sized documents in WITHOUT ROWID tables; takes effect only
        # on a new file, so it comes before WAL is switched on
        conn.execute("PRAGMA page_size = 16384")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -200000")
        conn.execute("PRAGMA temp_store = MEMORY")
        # checkpoint every ~64 MiB of WAL instead of every 16 MiB: hot index pages are copied back
        # to the database file a quarter as often during bulk syncs
        conn.execute("PRAGMA wal_autocheckpoint = 4000")
        conn.executescript(schema)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigurationError(
            f"cannot open the SQLite {what} at {path}: {exc}; check that the directory exists and is writable"
        ) from exc
    return conn
