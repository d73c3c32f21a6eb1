"""Indexing: record events -> content (through the connector's `stream_record`) -> parse -> chunk ->
embed -> the search index, with a terminal status for every record.

Seams, each an interface in its `base.py` with backends beside it:
- `parsing`: bytes + MIME type -> `ParsedDocument` (blocks that keep their location).
- `chunking`: `ParsedDocument` -> `Chunk`s that keep headings, pages, slides and table rows.
- `embeddings`: texts -> unit vectors (`Embedder`; local MiniLM by default, any OpenAI-compatible endpoint).
- `index`: chunks with vectors, BM25 text and the record's effective principals (`SearchIndex`;
  tantivy + faiss embedded by default, PostgreSQL with pgvector for servers).
- `worker`: consumes `record-events` and moves each record through QUEUED -> IN_PROGRESS -> a terminal state.
"""
