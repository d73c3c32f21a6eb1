"""A driveItem's bytes for the indexing worker (`stream_record`) and its short-lived download URL
(`get_signed_url`).

Content comes through `/content`, whose 302 is followed to the pre-authenticated download URL
without the bearer token. Graph's errors become the ones the worker classifies: throttling and
network failures are retried later, refused credentials need re-authorisation, a deleted item is
gone for good."""

from __future__ import annotations

from collections.abc import AsyncIterator

from headwater.clients.microsoft import (
    AuthError,
    GraphClient,
    GraphConnectionError,
    NotFoundError,
    ThrottledError,
)
from headwater.connectors.sources.microsoft.common.graph import source_error
from headwater.errors import HeadwaterError
from headwater.errors import NotFoundError as HeadwaterNotFound
from headwater.models.entities import FileRecord, Record

CHUNK_BYTES = 256 * 1024


class DriveItemRefusedError(HeadwaterError):
    """The record does not name a file this connector instance serves."""


class DriveItemGoneError(HeadwaterNotFound):
    """The item no longer exists in its drive (deleted since the last sync)."""


def locate(record: Record, connector_id: str) -> tuple[str, str]:
    """(drive id, item id) of one of this instance's file records."""
    if record.connector_id and record.connector_id != connector_id:
        raise DriveItemRefusedError(f"record {record.id} belongs to connector {record.connector_id}")
    if isinstance(record, FileRecord) and not record.is_file:
        raise DriveItemRefusedError(f"record {record.id} is a folder: it has no content")
    drive_id, item_id = record.external_record_group_id, record.external_record_id
    if not drive_id or not item_id:
        raise DriveItemRefusedError(f"record {record.id} names no drive item")
    return drive_id, item_id


def _translated(exc: Exception, what: str) -> BaseException:
    if isinstance(exc, NotFoundError):
        return DriveItemGoneError(f"{what} no longer exists in its drive")
    if isinstance(exc, ThrottledError | AuthError):
        return source_error(exc)
    if isinstance(exc, GraphConnectionError):
        return ConnectionError(str(exc))
    return exc


class DriveItemStream:
    """The file's bytes, read lazily: `async for chunk in stream`, or `body_iterator` and `media_type`
    for a streaming HTTP response (Starlette's shape, without importing a web framework here)."""

    def __init__(self, client: GraphClient, drive_id: str, item_id: str, *, filename: str, media_type: str):
        self.filename = filename
        self.media_type = media_type
        self._client = client
        self._drive_id = drive_id
        self._item_id = item_id
        self.body_iterator: AsyncIterator[bytes] = self._chunks()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.body_iterator

    async def read_all(self) -> bytes:
        return b"".join([chunk async for chunk in self.body_iterator])

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._client.download(self._drive_id, self._item_id, chunk_size=CHUNK_BYTES):
                yield chunk
        except (NotFoundError, ThrottledError, AuthError, GraphConnectionError) as exc:
            raise _translated(exc, f"file {self.filename!r}") from exc


def open_stream(client: GraphClient, record: Record, connector_id: str) -> DriveItemStream:
    drive_id, item_id = locate(record, connector_id)
    media_type = str(record.mime_type or "application/octet-stream")
    return DriveItemStream(client, drive_id, item_id, filename=record.record_name, media_type=media_type)


async def signed_url(client: GraphClient, record: Record, connector_id: str) -> str | None:
    """`@microsoft.graph.downloadUrl`: valid for minutes, needs no token; None for folders."""
    drive_id, item_id = locate(record, connector_id)
    try:
        return await client.download_url(drive_id, item_id)
    except (NotFoundError, ThrottledError, AuthError, GraphConnectionError) as exc:
        raise _translated(exc, f"file {record.record_name!r}") from exc
