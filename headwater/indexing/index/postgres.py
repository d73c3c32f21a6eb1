"""The PostgreSQL search index: pgvector for vectors, tsvector full-text search, principals as text[].

URL: `postgresql://user@host:5432/db?schema=NAME` (see headwater.postgres_url). Tables `search_*` are
created on open in that schema, and `CREATE EXTENSION IF NOT EXISTS vector` (PostgreSQL must have
pgvector >= 0.8 installed, for iterative index scans; Debian's packages may lack it). Every
write is one transaction, so there is no crash window: readers see a batch entirely or not at all.

Layout: `search_records` holds each record's facts as one JSON document; `search_chunks` holds
the chunks with their vector, text, a generated `tsv` (record name weighted A + text) and, copied
from the record, the columns searches filter on: `principals text[]` (GIN), connector, type,
group, updated_at. The copy is what lets one query filter and rank on one table, so the
permission filter `principals && $user_principals` is applied inside the query, before ORDER BY
and LIMIT. A permission or metadata change rewrites these columns; vectors are not recomputed.

Vector search: `ORDER BY embedding <#> $q` (negative inner product; vectors are unit length, so
this is cosine) with an HNSW index and `hnsw.iterative_scan = relaxed_order`, so that a selective
filter does not starve the index scan (without it pgvector returns ef_search candidates and then
filters, 13 % recall at 2 % selectivity in the dependency probe); the outer query restores the
exact order. The planner may also take the GIN principals index and sort exactly, which is what
it does for small allowed sets.

Keyword search: PostgreSQL's ts_rank has no inverse document frequency, so a query word found
everywhere would weigh as much as a rare one. Each query word therefore gets a BM25 IDF weight
from its document frequency (counted through the GIN index, capped at `DF_CAP` documents), and the
score is the sum over words of IDF x ts_rank. Words are ORed, like BM25, not ANDed like
websearch_to_tsquery.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from headwater.errors import BackendUnavailableError, ConfigurationError
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.index.codec import (
    clean_principals,
    location_from_json,
    location_to_json,
    query_vector,
    record_from_json,
    record_to_json,
    vector_matrix,
)
from headwater.indexing.index.postgres_sql import (
    CHUNK_COLUMNS,
    COPY_TYPES,
    RANK_WEIGHTS,
    RECORD_COLUMNS,
    SCHEMA,
    filter_sql,
    record_values,
)
from headwater.indexing.types import IndexedChunk, IndexedRecord, ScoredChunk, SearchFilters
from headwater.postgres_url import parse_postgres_url

CONNECT_TIMEOUT_S = 10
DF_CAP = 20_000  # document frequencies above this are counted as this (counting is a GIN scan)
SMALL_TABLE = 10_000  # below this many rows (by the planner's estimate) chunks are counted exactly
MAX_QUERY_WORDS = 32
HNSW_EF_SEARCH = 100
_WORD = re.compile(r"\w+")


class PostgresSearchIndex(SearchIndex):
    def __init__(self, url: str, dimensions: int) -> None:
        self.dimensions = dimensions
        self._conninfo, self._schema, self._shown = parse_postgres_url(url)
        self._write_mutex = threading.RLock()
        self._batch_depth = 0
        self._batch_thread: int | None = None
        self._local = threading.local()
        self._readers: list[psycopg.Connection[Any]] = []
        self._readers_lock = threading.Lock()
        self._search_path: sql.Composable | None = None
        self._writer = self._connect(create=True)

    # -- connections --

    def _connect(self, *, create: bool = False) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.OperationalError as exc:
            raise BackendUnavailableError(
                f"cannot reach the PostgreSQL search index at {self._shown}: {exc}"
            ) from exc
        try:
            if create:
                self._create_schema(conn)
            assert self._search_path is not None
            conn.execute(sql.SQL("SET search_path TO {}").format(self._search_path))
            conn.execute("SET hnsw.iterative_scan = relaxed_order")
            conn.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(HNSW_EF_SEARCH)))
            register_vector(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _create_schema(self, conn: psycopg.Connection[Any]) -> None:
        schema = sql.Identifier(self._schema)
        with conn.transaction():
            # one lock for concurrent first opens (CREATE ... IF NOT EXISTS races on the catalog)
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('headwater search index schema'))")
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
            except (psycopg.errors.FeatureNotSupported, psycopg.errors.UndefinedFile) as exc:
                raise ConfigurationError(
                    f"PostgreSQL at {self._shown} has no pgvector extension; install it"
                    " (e.g. the postgresql-NN-pgvector package) or use the embedded index"
                ) from exc
            # the vector type lives where the extension was first created: keep it on the path
            (ext_schema,) = conn.execute(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                " WHERE e.extname = 'vector'"
            ).fetchone() or ("public",)
            self._search_path = sql.SQL(", ").join([schema, sql.Identifier(ext_schema)])
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(self._search_path))
            conn.execute(SCHEMA.format(dimensions=int(self.dimensions)))
            conn.execute(
                "INSERT INTO search_settings (name, value) VALUES ('dimensions', %s) ON CONFLICT DO NOTHING",
                (str(self.dimensions),),
            )
            (stored,) = conn.execute(
                "SELECT value FROM search_settings WHERE name = 'dimensions'"
            ).fetchone() or ("",)
        if stored != str(self.dimensions):
            raise ConfigurationError(
                f"the search index in schema {self._schema!r} holds {stored}-dimensional vectors, but the"
                f" embedder makes {self.dimensions}; use the same embedding model or another schema"
            )

    def _reading(self) -> psycopg.Connection[Any]:
        """The writer's connection inside its own batch (to read its writes), else this thread's."""
        if self._batch_thread == threading.get_ident():
            return self._writer
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._connect()
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    # -- writes --

    @contextmanager
    def batch(self) -> Iterator[None]:
        with self._write_mutex:
            if self._batch_depth:
                self._batch_depth += 1
                try:
                    yield
                finally:
                    self._batch_depth -= 1
                return
            self._batch_depth, self._batch_thread = 1, threading.get_ident()
            try:
                with self._writer.transaction():
                    yield
            finally:
                self._batch_depth, self._batch_thread = 0, None

    def replace_record(self, record: IndexedRecord, chunks: Sequence[IndexedChunk]) -> None:
        self.replace_records([(record, chunks)])

    def replace_records(self, items: Sequence[tuple[IndexedRecord, Sequence[IndexedChunk]]]) -> None:
        latest = {record.record_key: (record, chunks) for record, chunks in items}
        prepared = [
            (record, chunks, vector_matrix(chunks, self.dimensions)) for record, chunks in latest.values()
        ]
        with self.batch(), self._writer.cursor() as cur:
            cur.executemany(
                "INSERT INTO search_records (record_key, doc) VALUES (%s, %s)"
                " ON CONFLICT (record_key) DO UPDATE SET doc = EXCLUDED.doc",
                [(record.record_key, record_to_json(record)) for record, _, _ in prepared],
            )
            cur.execute(
                "DELETE FROM search_chunks WHERE record_key IN (SELECT unnest(%s::text[]))", (list(latest),)
            )
            columns = sql.SQL(", ").join(map(sql.Identifier, CHUNK_COLUMNS))
            with cur.copy(
                sql.SQL("COPY search_chunks ({}) FROM STDIN (FORMAT BINARY)").format(columns)
            ) as copy:
                copy.set_types(COPY_TYPES)
                for record, chunks, vectors in prepared:
                    shared = record_values(record)
                    for chunk, vector in zip(chunks, vectors, strict=True):
                        location = location_to_json(chunk.location)
                        copy.write_row(
                            (record.record_key, chunk.ordinal, chunk.text, location, vector, *shared)
                        )

    def update_record(self, record: IndexedRecord) -> bool:
        with self.batch():
            updated = self._writer.execute(
                "UPDATE search_records SET doc = %s WHERE record_key = %s",
                (record_to_json(record), record.record_key),
            ).rowcount
            if not updated:
                return False
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(column)) for column in RECORD_COLUMNS
            )
            self._writer.execute(
                sql.SQL("UPDATE search_chunks SET {} WHERE record_key = %s").format(assignments),
                (*record_values(record), record.record_key),
            )
            return True

    def set_principals(self, record_key: str, principals: Collection[str]) -> bool:
        readers = clean_principals(principals)
        with self.batch():
            row = self._writer.execute(
                "SELECT doc FROM search_records WHERE record_key = %s FOR UPDATE", (record_key,)
            ).fetchone()
            if row is None:
                return False
            return self.update_record(replace(record_from_json(row[0]), principals=readers))

    def delete_records(self, record_keys: Collection[str]) -> int:
        if isinstance(record_keys, str):
            raise TypeError("delete_records takes a collection of record keys, not one string")
        keys = list(dict.fromkeys(record_keys))
        if not keys:
            return 0
        with self.batch():
            # chunks go with their record (ON DELETE CASCADE)
            return int(
                self._writer.execute(
                    "DELETE FROM search_records WHERE record_key IN (SELECT unnest(%s::text[]))", (keys,)
                ).rowcount
            )

    # -- reads --

    def get_record(self, record_key: str) -> IndexedRecord | None:
        row = (
            self._reading()
            .execute("SELECT doc FROM search_records WHERE record_key = %s", (record_key,))
            .fetchone()
        )
        return None if row is None else record_from_json(row[0])

    def get_chunks(self, record_key: str) -> list[IndexedChunk]:
        rows = self._reading().execute(
            "SELECT ordinal, text, location, embedding FROM search_chunks"
            " WHERE record_key = %s ORDER BY ordinal",
            (record_key,),
        )
        return [
            IndexedChunk(
                ordinal=ordinal,
                text=text,
                vector=np.asarray(embedding.to_numpy(), dtype=np.float32),
                location=location_from_json(location),
            )
            for ordinal, text, location, embedding in rows
        ]

    def vector_search(
        self, vector: Any, principals: Collection[str], k: int = 50, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        query = query_vector(vector, self.dimensions)
        readers = clean_principals(principals)
        if not readers or k <= 0:
            return []
        params: dict[str, Any] = {"q": query, "readers": sorted(readers), "k": k}
        where = filter_sql(filters, params)
        rows = (
            self._reading()
            .execute(
                "SELECT c.record_key, c.ordinal, c.text, c.location, r.doc, -c.distance FROM ("
                "  SELECT c.record_key, c.ordinal, c.text, c.location, c.embedding <#> %(q)s AS distance"
                "  FROM search_chunks c WHERE c.principals && %(readers)s::text[]" + where + ""
                "  ORDER BY c.embedding <#> %(q)s LIMIT %(k)s"
                ") c JOIN search_records r USING (record_key) ORDER BY c.distance, c.record_key, c.ordinal",
                params,
            )
            .fetchall()
        )
        return [self._scored(row) for row in rows]

    def keyword_search(
        self, query: str, principals: Collection[str], k: int = 50, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        readers = clean_principals(principals)
        words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))[:MAX_QUERY_WORDS]
        if not readers or not words or k <= 0:
            return []
        conn = self._reading()
        # each word's tsquery (empty for stop words) and its document frequency, capped
        rows = conn.execute(
            "SELECT q::text, (SELECT count(*) FROM (SELECT 1 FROM search_chunks c WHERE c.tsv @@ q"
            f"  LIMIT {DF_CAP}) s) FROM unnest(%s::text[]) AS w(word),"
            "  LATERAL plainto_tsquery('english', w.word) AS q WHERE numnode(q) > 0",
            (words,),
        ).fetchall()
        if not rows:
            return []
        total = self._chunk_estimate(conn)
        terms = [term for term, _ in rows]
        weights = [math.log(1 + (max(total, df) - df + 0.5) / (df + 0.5)) for _, df in rows]
        params: dict[str, Any] = {
            "any": " | ".join(f"({term})" for term in terms),
            "terms": terms,
            "weights": weights,
            "readers": sorted(readers),
            "k": k,
        }
        where = filter_sql(filters, params)
        rows = conn.execute(
            "SELECT c.record_key, c.ordinal, c.text, c.location, r.doc, c.score FROM ("
            "  SELECT c.record_key, c.ordinal, c.text, c.location,"
            f"   (SELECT sum(ts_rank('{RANK_WEIGHTS}', c.tsv, t.q, 1) * t.w)"
            "     FROM unnest(%(terms)s::tsquery[], %(weights)s::float8[]) AS t(q, w)) AS score"
            "  FROM search_chunks c WHERE c.tsv @@ %(any)s::tsquery"
            "  AND c.principals && %(readers)s::text[]" + where + ""
            "  ORDER BY score DESC, c.record_key, c.ordinal LIMIT %(k)s"
            ") c JOIN search_records r USING (record_key) ORDER BY c.score DESC, c.record_key, c.ordinal",
            params,
        ).fetchall()
        return [self._scored(row) for row in rows]

    @staticmethod
    def _chunk_estimate(conn: psycopg.Connection[Any]) -> int:
        """How many chunks there are: the planner's estimate for big tables, an exact count for small."""
        row = conn.execute(
            "SELECT CASE WHEN reltuples >= %s THEN reltuples::bigint"
            " ELSE (SELECT count(*) FROM search_chunks) END"
            " FROM pg_class WHERE oid = 'search_chunks'::regclass",
            (SMALL_TABLE,),
        ).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _scored(row: tuple[Any, ...]) -> ScoredChunk:
        record_key, ordinal, text, location, doc, score = row
        return ScoredChunk(
            record_key=record_key,
            ordinal=ordinal,
            score=float(score),
            text=text,
            location=location_from_json(location),
            record=record_from_json(doc),
        )

    def count_chunks(self) -> int:
        row = self._reading().execute("SELECT count(*) FROM search_chunks").fetchone()
        return int(row[0]) if row else 0

    def record_keys(self) -> set[str]:
        return {key for (key,) in self._reading().execute("SELECT record_key FROM search_records")}

    def close(self) -> None:
        with self._write_mutex:
            with self._readers_lock:
                for conn in self._readers:
                    conn.close()
                self._readers.clear()
            self._writer.close()
