"""The SQL of the PostgreSQL search index: its tables, and the parts of queries built from arguments."""

from __future__ import annotations

from typing import Any

from headwater.indexing.types import IndexedRecord, SearchFilters

SCHEMA = """
CREATE TABLE IF NOT EXISTS search_settings (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS search_records (
    record_key text COLLATE "C" PRIMARY KEY,
    doc text NOT NULL
);
CREATE TABLE IF NOT EXISTS search_chunks (
    record_key text COLLATE "C" NOT NULL REFERENCES search_records (record_key) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    text text NOT NULL,
    location text NOT NULL,
    embedding vector({dimensions}) NOT NULL,
    record_name text NOT NULL,
    principals text[] NOT NULL,
    connector_id text NOT NULL,
    record_type text NOT NULL,
    record_group_id text,
    updated_at bigint NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', record_name), 'A') || to_tsvector('english', text)
    ) STORED,
    PRIMARY KEY (record_key, ordinal)
);
CREATE INDEX IF NOT EXISTS search_chunks_tsv ON search_chunks USING gin (tsv);
CREATE INDEX IF NOT EXISTS search_chunks_principals ON search_chunks USING gin (principals);
CREATE INDEX IF NOT EXISTS search_chunks_embedding ON search_chunks USING hnsw (embedding vector_ip_ops);
"""

# the record-level columns copied onto every chunk, in this order
RECORD_COLUMNS = (
    "record_name",
    "principals",
    "connector_id",
    "record_type",
    "record_group_id",
    "updated_at",
)
CHUNK_COLUMNS = ("record_key", "ordinal", "text", "location", "embedding", *RECORD_COLUMNS)
COPY_TYPES = ["text", "int4", "text", "text", "vector", "text", "text[]", "text", "text", "text", "int8"]
# ts_rank weights {D, C, B, A}: a word in the record name (A) counts like one in the text (D)
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 0.1}"


def record_values(record: IndexedRecord) -> tuple[Any, ...]:
    return (
        record.record_name,
        sorted(record.principals),
        record.connector_id,
        record.record_type,
        record.record_group_id,
        record.updated_at,
    )


def filter_sql(filters: SearchFilters | None, params: dict[str, Any]) -> str:
    """AND-clauses over search_chunks (alias c) for `filters`, their values put in `params`."""
    if filters is None:
        return ""
    clauses = []
    for column, values in (
        ("connector_id", filters.connector_ids),
        ("record_type", filters.record_types),
        ("record_group_id", filters.record_group_ids),
    ):
        if values is not None:
            params[column] = sorted(values)
            clauses.append(f" AND c.{column} = ANY(%({column})s::text[])")
    if filters.updated_after is not None:
        params["after"] = filters.updated_after
        clauses.append(" AND c.updated_at >= %(after)s")
    if filters.updated_before is not None:
        params["before"] = filters.updated_before
        clauses.append(" AND c.updated_at < %(before)s")
    return "".join(clauses)
