"""Serving a local file's bytes to the indexing worker, and refusing anything outside the roots.

A record names its file by root (its record group) and a stored relative path. Before a byte is
read: the record must be this instance's, a file, under a root that is still configured; the path
must be relative, without `.`, `..` or empty parts; and the file is reached from the root one name
at a time without following links (`FsAccess.folder` / `open_file`). A link swapped in after the
sync, anywhere on the way, makes the open fail: the request is refused, it never reads outside the
root. Every file below a root is visible to the same people (the root's grants), so serving the
file now at the record's path is serving what those people may read.
"""

from __future__ import annotations

import asyncio
import errno
import os
import weakref
from collections.abc import AsyncIterator, Sequence

from headwater.connectors.sources.localfs.fsaccess import FsAccess
from headwater.connectors.sources.localfs.mapping import mime_type_of
from headwater.connectors.sources.localfs.names import display_name, os_parts
from headwater.connectors.sources.localfs.settings import Root
from headwater.errors import HeadwaterError, NotFoundError
from headwater.models.entities import FileRecord, Record

STREAM_CHUNK = 256 * 1024


class LocalFileRefusedError(HeadwaterError):
    """The record does not name a file this connector may serve; the message says why."""


class LocalFileGoneError(NotFoundError):
    """The file was removed (or replaced by something that is not a file) after the last sync."""


class LocalFileStream:
    """A local file's content, read lazily in chunks: `async for chunk in stream`, or hand
    `body_iterator` and `media_type` to a streaming HTTP response (the shape of Starlette's
    StreamingResponse, without importing a web framework here). The file descriptor is closed when
    the content was read to the end, on `close()`, or when the stream is garbage collected."""

    def __init__(self, fd: int, *, filename: str, media_type: str, size: int) -> None:
        self.filename = filename
        self.media_type = media_type
        self.size = size  # at opening; the file may still change while it is read
        self._fd = fd
        self._close = weakref.finalize(self, os.close, fd)
        self.body_iterator: AsyncIterator[bytes] = self._chunks()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.body_iterator

    async def read_all(self) -> bytes:
        return b"".join([chunk async for chunk in self.body_iterator])

    def close(self) -> None:
        self._close()

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(os.read, self._fd, STREAM_CHUNK):
                yield chunk
        finally:
            self.close()


def open_record(record: Record, *, connector_id: str, roots: Sequence[Root], fs: FsAccess) -> LocalFileStream:
    """The content of a file record, or LocalFileRefusedError / LocalFileGoneError saying why not."""
    label = f"record {record.id} ({record.record_name!r})"
    if record.connector_id != connector_id:
        raise LocalFileRefusedError(
            f"{label} belongs to connector instance {record.connector_id!r}, "
            f"not to this one ({connector_id!r})"
        )
    if not isinstance(record, FileRecord) or not record.is_file:
        raise LocalFileRefusedError(f"{label} is not a file: only files have content to stream")
    root = next((r for r in roots if r.group_id == record.external_record_group_id), None)
    if root is None:
        raise LocalFileRefusedError(
            f"{label} is not under a folder this connector syncs (was its folder removed from "
            "'Folders to sync'?)"
        )
    parts = checked_parts(record.local_fs_relative_path, label)
    try:
        with fs.folder(root.path, parts[:-1]) as folder_fd:
            fd = fs.open_file(folder_fd, parts[-1])
    except OSError as exc:
        raise _refusal(exc, label, root) from None
    size = os.fstat(fd).st_size
    name = display_name(parts[-1])
    return LocalFileStream(fd, filename=name, media_type=mime_type_of(name), size=size)


def checked_parts(stored: str | None, label: str) -> list[str]:
    """The os names of a stored relative path; LocalFileRefusedError for anything that could climb
    out of the root or is not a plain relative path."""
    if not stored:
        raise LocalFileRefusedError(f"{label} has no path below its folder")
    if stored.startswith("/"):
        raise LocalFileRefusedError(f"{label} has an absolute path; only paths below its folder are served")
    parts = os_parts(stored)
    if any(part in ("", ".", "..") or "/" in part or "\x00" in part for part in parts):
        raise LocalFileRefusedError(
            f"{label} has a path with '.', '..', empty or malformed parts; it is not served"
        )
    return parts


def _refusal(exc: OSError, label: str, root: Root) -> HeadwaterError:
    if exc.errno == errno.ELOOP:
        return LocalFileRefusedError(
            f"{label}: its path below {root.display} now goes through a symbolic link; links are never "
            "followed, so it is not served"
        )
    if exc.errno in (errno.ENOENT, errno.ENOTDIR) or exc.errno is None:
        return LocalFileGoneError(
            f"{label} is no longer a file in {root.display}; the next sync updates its record"
        )
    return LocalFileRefusedError(f"{label} cannot be read: {exc.strerror or exc}")
