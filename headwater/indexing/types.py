"""The values that flow through indexing: parsed blocks, chunks and their locations, index rows, hits.

Plain dataclasses shared by every seam, so that a parser, the chunker, an index backend and search
agree on one shape without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class BlockKind(StrEnum):
    """What a parsed block is; the chunker keeps headings with their sections, rows with their table."""

    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE_ROW = "table_row"  # text is "col: value; col: value" so a row stands alone in a chunk
    CODE = "code"
    QUOTE = "quote"
    METADATA = "metadata"  # e.g. an email's headers, a slide's title line


@dataclass(slots=True)
class Location:
    """Where a piece of text sits in its document, for citations. Only what the format has is set."""

    page: int | None = None  # PDF pages, 1-based
    slide: int | None = None  # PPTX slides, 1-based
    sheet: str | None = None  # XLSX sheet name
    row: int | None = None  # first table row (1-based, header excluded) of the chunk
    heading: str | None = None  # the nearest heading path, "Intro > Setup"
    line: int | None = None  # first line (text, code, CSV), 1-based

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Location:
        return cls(**{k: v for k, v in (data or {}).items() if k in cls.__slots__})


@dataclass(slots=True)
class Block:
    """One structural unit a parser found."""

    text: str
    kind: BlockKind = BlockKind.PARAGRAPH
    location: Location = field(default_factory=Location)
    level: int = 0  # heading level (1 = top) for HEADING blocks
    # TABLE_ROW blocks: the table's column names, "Name | Age", repeated at the top of each table chunk
    table_header: str | None = None


@dataclass(slots=True)
class Attachment:
    """A file embedded in a parsed document (an email's attachment): becomes a child record."""

    name: str
    mime_type: str
    content: bytes


@dataclass(slots=True)
class ParsedDocument:
    blocks: list[Block]
    title: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    # what a limit cut off ("only the first 2000 pages were indexed"): shown beside a COMPLETED status
    warnings: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not any(b.text.strip() for b in self.blocks)


@dataclass(slots=True)
class Chunk:
    """A piece of a document small enough to embed, with where it came from."""

    ordinal: int  # 0-based position within the record
    text: str
    location: Location = field(default_factory=Location)


@dataclass(slots=True)
class IndexedRecord:
    """The record-level facts the index keeps beside a record's chunks (for filters and hits)."""

    record_key: str
    org_id: str
    connector_id: str
    record_type: str
    record_name: str
    # node ids that may read it: users/K, groups/K, roles/K, organizations/O, domains/d, anyone/O
    principals: frozenset[str]
    content_hash: str
    record_group_id: str | None = None
    connector_name: str | None = None  # the connector type, e.g. "LOCAL_FILESYSTEM"
    web_url: str | None = None
    mime_type: str | None = None
    updated_at: int = 0  # epoch ms of the source's last change, for date filters


@dataclass(slots=True)
class IndexedChunk:
    ordinal: int
    text: str
    vector: Any  # numpy float32 array of the index's dimensions, unit length
    location: Location = field(default_factory=Location)


@dataclass(slots=True)
class SearchFilters:
    """Narrowing a search. Principals are not a filter here: they are a required argument of every
    search call, applied inside the backend's query before ranking."""

    connector_ids: frozenset[str] | None = None
    record_types: frozenset[str] | None = None
    record_group_ids: frozenset[str] | None = None
    updated_after: int | None = None  # epoch ms, inclusive
    updated_before: int | None = None  # epoch ms, exclusive


@dataclass(slots=True)
class ScoredChunk:
    """One hit from one retriever (keyword or vector), best first."""

    record_key: str
    ordinal: int
    score: float
    text: str
    location: Location
    record: IndexedRecord
