"""One record's way from the graph to chunks: decide, fetch, parse, chunk — and how the index should
change. Embedding and the index write happen in batches across records (`worker.py`, `writer.py`);
this module decides what they get.

The decision, in order:
  1. the record is gone from the store -> remove it from the index (no status: nothing to hold it);
  2. it is not meant to be indexed (a folder, a placeholder, internal, indexing switched off, its
     connector instance disabled) -> AUTO_INDEX_OFF, removed from the index;
  3. its content hash equals the index's -> COMPLETED without fetching, parsing or embedding; the
     index's record-level facts (name, principals, URL) are refreshed. The hash is the connector's
     revision or checksum when it reports one (checked BEFORE downloading), else a SHA-256 of the
     bytes (checked after), combined with a fingerprint of how chunks were made (embedding model,
     chunk size, pipeline version): a new model re-embeds everything, a new byte never re-embeds;
  4. fetch the bytes (over the size cap: FAILED; a transient failure is retried);
  5. no bytes -> EMPTY; parse (UnsupportedFileType -> FILE_TYPE_NOT_SUPPORTED, ParseError ->
     FAILED with the parser's reason, both removed from the index) and chunk; no text -> EMPTY;
  6. otherwise -> chunks to embed, then COMPLETED (with the parser's warnings as the reason).

Email attachments the parser hands back are parsed too and indexed as part of the same record, under
a heading "Attachment: <name>" (one level deep; an attachment that cannot be parsed is named in the
reason). They are not records of their own: the mail's permissions are theirs.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from headwater.connectors.core.errors import SourceAuthError, SourceThrottledError, find_cause
from headwater.errors import BackendUnavailableError, HeadwaterError
from headwater.indexing.content import ContentError, ContentUnavailable
from headwater.indexing.parsing.base import ParseError, ParseLimits, UnsupportedFileType
from headwater.indexing.sources import ConnectorInitFailed, ContentFetcher, InstanceUnavailable
from headwater.indexing.status import TransientFailure, reason_of
from headwater.indexing.types import Block, BlockKind, Chunk, IndexedRecord, Location, ParsedDocument
from headwater.models.constants import MimeTypes, ProgressStatus
from headwater.models.documents import plain
from headwater.models.entities import FileRecord, Record

TRANSIENT_FETCH_ERRORS: tuple[type[BaseException], ...] = (
    ContentUnavailable,
    ConnectorInitFailed,
    SourceThrottledError,
    SourceAuthError,
    BackendUnavailableError,
    ConnectionError,
    TimeoutError,
)
# Bump when parsing or chunking changes in a way that should re-index everything.
PIPELINE_VERSION = "1"
FOLDER_MIME_TYPES = frozenset({MimeTypes.FOLDER.value, MimeTypes.GOOGLE_DRIVE_FOLDER.value})

ParseFn = Callable[..., ParsedDocument]
ChunkFn = Callable[..., list[Chunk]]


class Action(StrEnum):
    EMBED = "embed"  # new chunks: embed them, replace the record's chunks
    REFRESH = "refresh"  # content unchanged: refresh record-level facts only
    REMOVE = "remove"  # nothing to search: the record's chunks go


@dataclass(slots=True)
class Plan:
    """What indexing one record comes to, before embedding."""

    key: str
    action: Action
    record: Record | None = None
    status: ProgressStatus | None = None  # the terminal status to write (None: leave it)
    reason: str | None = None
    content_hash: str | None = None
    chunks: list[Chunk] = field(default_factory=list)


def pipeline_fingerprint(model_name: str, dimensions: int, chunk_max_tokens: int) -> str:
    """How chunks and vectors were made; part of every content hash."""
    return f"{model_name}/{dimensions}/t{chunk_max_tokens}/v{PIPELINE_VERSION}"


def not_indexable_reason(record: Record) -> str | None:
    """Why a record has no content to index, or None when it has."""
    if record.is_placeholder:
        return "a placeholder for an item that has not synced yet"
    if record.is_internal:
        return "an internal record"
    if (isinstance(record, FileRecord) and not record.is_file) or plain(
        record.mime_type
    ) in FOLDER_MIME_TYPES:
        return "a folder has no content of its own"
    return None


def source_hash(record: Record) -> str | None:
    """The content's identity as the source reports it, when it does."""
    if record.md5_hash:
        return f"md5:{record.md5_hash}"
    if record.external_revision_id:
        return f"rev:{record.external_revision_id}"
    return None


def indexed_record(record: Record, principals: frozenset[str], content_hash: str) -> IndexedRecord:
    """The record-level facts the index keeps beside a record's chunks."""
    return IndexedRecord(
        record_key=record.id,
        org_id=record.org_id,
        connector_id=record.connector_id,
        record_type=plain(record.record_type),
        record_name=record.record_name,
        principals=principals,
        content_hash=content_hash,
        record_group_id=record.record_group_id,
        connector_name=str(plain(record.connector_name)) if record.connector_name else None,
        web_url=record.weburl,
        mime_type=str(plain(record.mime_type)) if record.mime_type else None,
        updated_at=record.source_updated_at or record.updated_at,
    )


class RecordPipeline:
    """Turns a record into a `Plan`. `parse` and `chunk` default to the project's parser registry and
    chunker (imported on first use); tests pass their own."""

    def __init__(
        self,
        fetcher: ContentFetcher,
        *,
        fingerprint: str,
        parse_limits: ParseLimits | None = None,
        chunk_max_tokens: int = 256,
        parse: ParseFn | None = None,
        chunk: ChunkFn | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.fingerprint = fingerprint
        self.parse_limits = parse_limits or ParseLimits()
        self.chunk_max_tokens = chunk_max_tokens
        self._parse = parse
        self._chunk = chunk

    async def plan(self, key: str, record: Record | None, indexed: IndexedRecord | None) -> Plan:
        """The plan for a record's content event; TransientFailure when it should be retried."""
        if record is None:
            return Plan(key, Action.REMOVE)
        why_not = not_indexable_reason(record)
        if why_not is not None:
            return Plan(key, Action.REMOVE, record, ProgressStatus.AUTO_INDEX_OFF, why_not)
        declared = source_hash(record)
        if declared is not None:
            full = f"{declared}|{self.fingerprint}"
            if indexed is not None and indexed.content_hash == full:
                return Plan(key, Action.REFRESH, record, ProgressStatus.COMPLETED, content_hash=full)
        try:
            content = await self.fetcher.fetch(record)
        except InstanceUnavailable as exc:
            status = ProgressStatus.AUTO_INDEX_OFF if exc.disabled else ProgressStatus.FAILED
            return Plan(key, Action.REMOVE, record, status, str(exc))
        except Exception as exc:
            if _is_permanent_fetch_failure(exc):
                return Plan(key, Action.REMOVE, record, ProgressStatus.FAILED, reason_of(exc, "fetching"))
            raise TransientFailure.from_exception(exc, "fetching") from exc
        full = f"{declared or 'sha256:' + hashlib.sha256(content).hexdigest()}|{self.fingerprint}"
        if indexed is not None and indexed.content_hash == full:
            return Plan(key, Action.REFRESH, record, ProgressStatus.COMPLETED, content_hash=full)
        if not content:
            return Plan(key, Action.REMOVE, record, ProgressStatus.EMPTY, content_hash=full)
        plan = await asyncio.to_thread(self._parse_and_chunk, key, record, content)
        plan.content_hash = full
        return plan

    def _parse_and_chunk(self, key: str, record: Record, content: bytes) -> Plan:
        """CPU work, run in a thread (parsers isolate themselves in worker processes)."""
        parse, chunk = self._functions()
        mime = plain(record.mime_type)
        try:
            doc = parse(
                content,
                mime_type=None if mime == MimeTypes.UNKNOWN.value else mime,
                name=_file_name(record),
                limits=self.parse_limits,
            )
        except UnsupportedFileType as exc:
            return Plan(key, Action.REMOVE, record, ProgressStatus.FILE_TYPE_NOT_SUPPORTED, str(exc) or None)
        except ParseError as exc:
            return Plan(
                key, Action.REMOVE, record, ProgressStatus.FAILED, str(exc) or "the file could not be parsed"
            )
        warnings = list(doc.warnings) + _add_attachments(doc, parse, self.parse_limits)
        reason = "; ".join(warnings) or None
        if doc.is_empty:
            return Plan(key, Action.REMOVE, record, ProgressStatus.EMPTY, reason)
        chunks = [c for c in chunk(doc, max_tokens=self.chunk_max_tokens) if c.text.strip()]
        if not chunks:
            return Plan(key, Action.REMOVE, record, ProgressStatus.EMPTY, reason)
        return Plan(key, Action.EMBED, record, ProgressStatus.COMPLETED, reason, chunks=chunks)

    def _functions(self) -> tuple[ParseFn, ChunkFn]:
        if self._parse is None:
            from headwater.indexing.parsing.registry import parse_document

            self._parse = parse_document
        if self._chunk is None:
            from headwater.indexing.chunking import chunk_document

            self._chunk = chunk_document
        return self._parse, self._chunk


def _add_attachments(doc: ParsedDocument, parse: ParseFn, limits: ParseLimits) -> list[str]:
    """Append each attachment's text to `doc` under its own heading; returns warnings for the ones
    that could not be read."""
    warnings: list[str] = []
    for attachment in doc.attachments:
        try:
            inner = parse(
                attachment.content, mime_type=attachment.mime_type, name=attachment.name, limits=limits
            )
        except (ParseError, UnsupportedFileType) as exc:
            warnings.append(f"attachment {attachment.name!r} was not indexed: {exc}")
            continue
        heading = f"Attachment: {attachment.name}"
        doc.blocks.append(Block(heading, BlockKind.HEADING, Location(heading=heading), level=1))
        for block in inner.blocks:
            inner_heading = block.location.heading
            block.location.heading = f"{heading} > {inner_heading}" if inner_heading else heading
            if block.kind is BlockKind.HEADING:
                block.level += 1
            doc.blocks.append(block)
    return warnings


def _file_name(record: Record) -> str:
    """The name parsers see: the record's name, with the file's extension when the name lacks it."""
    name = record.record_name or record.external_record_id
    extension = getattr(record, "extension", None)
    if extension and not name.lower().endswith("." + extension.lower().lstrip(".")):
        name = f"{name}.{extension.lstrip('.')}"
    return name


def _is_permanent_fetch_failure(exc: BaseException) -> bool:
    """Retrying cannot help: the connector cannot stream, refused on purpose or says the file is gone
    (Headwater's own errors say what to do), or the content is over the size cap. The network, the
    source's throttling or credentials, an unavailable backend and unforeseen errors may pass."""
    if any(find_cause(exc, kind) is not None for kind in TRANSIENT_FETCH_ERRORS):
        return False
    if find_cause(exc, ContentError) is not None or find_cause(exc, NotImplementedError) is not None:
        return True
    return isinstance(exc, HeadwaterError)


def describe_plan(plan: Plan) -> dict[str, Any]:
    """A plan in words, for logs."""
    return {
        "record": plan.key,
        "action": plan.action.value,
        "status": plan.status.value if plan.status else None,
        "chunks": len(plan.chunks),
    }
