"""A record's bytes, from whatever a connector's `stream_record` returns, or from a signed URL.

Connectors written after the playbook return a Starlette `StreamingResponse` (its `body_iterator`
yields the bytes), but plenty return the bytes themselves, a plain `Response` (`.body`), an async or
sync iterator of chunks, a file object, text, or None (nothing to fetch). Indexing must not import
the web framework (DESIGN.md, "Which part may use which"), so responses are read duck-typed.

Every reader stops at `max_bytes`: a file over the cap is `ContentTooLarge` (a permanent failure,
the file will not shrink by retrying), and the connector's stream is closed, not drained.
A download that fails in a way that may pass (network error, 429, 5xx, an expired signed URL) is
`ContentUnavailable`, which the worker retries.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from headwater.errors import HeadwaterError

if TYPE_CHECKING:  # pragma: no cover - httpx is only needed when a signed URL is downloaded
    import httpx

DEFAULT_MAX_CONTENT_BYTES = 200 * 1024 * 1024
# statuses worth another try: throttling, server trouble, and a signed URL that expired
TRANSIENT_STATUSES = frozenset({401, 403, 408, 425, 429, 500, 502, 503, 504})


class ContentError(HeadwaterError):
    """The record's content could not be read."""


class ContentTooLarge(ContentError):
    """The content is over the size cap; retrying cannot help."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the file is larger than the indexing limit of {_megabytes(max_bytes)}")
        self.max_bytes = max_bytes


class ContentUnavailable(ContentError):
    """The content could not be fetched this time (network, throttling, server error): retry.
    `retry_after_s` is the source's Retry-After when it sent one."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ContentGone(ContentError):
    """The source says the content does not exist (404 / 410): a permanent failure."""


async def read_content(source: Any, *, max_bytes: int = DEFAULT_MAX_CONTENT_BYTES) -> bytes:
    """The bytes of what `stream_record` returned. None means no content (b"")."""
    if inspect.isawaitable(source):
        source = await source
    if source is None:
        return b""
    if isinstance(source, bytes | bytearray | memoryview):
        return _capped(bytes(source), max_bytes)
    if isinstance(source, str):
        return _capped(source.encode(), max_bytes)
    body_iterator = getattr(source, "body_iterator", None)  # StreamingResponse
    if body_iterator is not None:
        return await _read_chunks(body_iterator, max_bytes)
    body = getattr(source, "body", None)  # a plain Response
    if isinstance(body, bytes | bytearray | memoryview):
        return _capped(bytes(body), max_bytes)
    read = getattr(source, "read", None)  # a file object, sync or async
    if callable(read):
        data = read(max_bytes + 1)
        if inspect.isawaitable(data):
            data = await data
        return _capped(data.encode() if isinstance(data, str) else bytes(data), max_bytes)
    if isinstance(source, AsyncIterable | Iterable) and not isinstance(source, Mapping):
        return await _read_chunks(source, max_bytes)
    raise ContentError(f"stream_record returned {type(source).__name__}, which holds no content we can read")


async def download(
    url: str, client: httpx.AsyncClient, *, max_bytes: int = DEFAULT_MAX_CONTENT_BYTES
) -> bytes:
    """GET a signed URL through the injected client, streaming, capped at `max_bytes`."""
    import httpx

    try:
        async with client.stream("GET", url) as response:
            status = response.status_code
            if status in TRANSIENT_STATUSES:
                raise ContentUnavailable(
                    f"the download answered HTTP {status}", _retry_after(response.headers.get("retry-after"))
                )
            if status in (404, 410):
                raise ContentGone(f"the source no longer has this file (HTTP {status})")
            if status >= 400:
                raise ContentError(f"the download was refused (HTTP {status})")
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise ContentTooLarge(max_bytes)
            return await _read_chunks(response.aiter_bytes(), max_bytes)
    except httpx.TransportError as exc:
        # the message names the host at most; signed URLs' query strings never reach a reason
        raise ContentUnavailable(f"the download failed: {type(exc).__name__}") from exc


async def _read_chunks(chunks: AsyncIterable[Any] | Iterable[Any], max_bytes: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    try:
        if isinstance(chunks, AsyncIterable):
            async for chunk in chunks:
                size = _append(parts, chunk, size, max_bytes)
        else:
            for chunk in chunks:
                size = _append(parts, chunk, size, max_bytes)
    finally:
        await _close(chunks)
    return b"".join(parts)


def _append(parts: list[bytes], chunk: Any, size: int, max_bytes: int) -> int:
    data = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
    size += len(data)
    if size > max_bytes:
        raise ContentTooLarge(max_bytes)
    parts.append(data)
    return size


async def _close(chunks: Any) -> None:
    """Close a generator we stopped reading early, so the connector's file or socket is released."""
    for name in ("aclose", "close"):
        closer = getattr(chunks, name, None)
        if callable(closer):
            result = closer()
            if inspect.isawaitable(result):
                await result
            return


def _capped(data: bytes, max_bytes: int) -> bytes:
    if len(data) > max_bytes:
        raise ContentTooLarge(max_bytes)
    return data


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the worker's own backoff applies


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"
