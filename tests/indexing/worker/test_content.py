"""Bytes from whatever `stream_record` returns, and from signed URLs, always within the size cap."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.responses import Response, StreamingResponse

from headwater.indexing.content import (
    ContentError,
    ContentGone,
    ContentTooLarge,
    ContentUnavailable,
    download,
    read_content,
)

from .helpers import run


async def _pieces(closed: list[bool]) -> AsyncIterator[bytes]:
    try:
        for _ in range(100):
            yield b"0123456789"
    finally:
        closed.append(True)


def _sync_pieces() -> Iterator[str]:
    yield "hello "
    yield "world"


def test_every_shape_a_connector_returns_is_read() -> None:
    async def coro() -> bytes:
        return b"awaited"

    assert run(read_content(b"raw")) == b"raw"
    assert run(read_content("text é")) == "text é".encode()
    assert run(read_content(None)) == b""
    assert run(read_content(coro())) == b"awaited"
    assert run(read_content(Response(b"plain response"))) == b"plain response"
    assert run(read_content(StreamingResponse(_pieces([])))) == b"0123456789" * 100
    assert run(read_content(_sync_pieces())) == b"hello world"
    assert run(read_content(io.BytesIO(b"file object"))) == b"file object"
    with pytest.raises(ContentError, match="holds no content"):
        run(read_content(12345))


def test_content_over_the_cap_is_refused_and_the_stream_closed() -> None:
    closed: list[bool] = []
    with pytest.raises(ContentTooLarge, match="larger than the indexing limit"):
        run(read_content(StreamingResponse(_pieces(closed)), max_bytes=55))
    assert closed == [True]
    with pytest.raises(ContentTooLarge):
        run(read_content(b"x" * 11, max_bytes=10))
    with pytest.raises(ContentTooLarge):
        run(read_content(io.BytesIO(b"x" * 11), max_bytes=10))


def _client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


def test_signed_urls_are_downloaded_and_failures_told_apart() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/ok":
            return httpx.Response(200, content=b"signed bytes")
        if path == "/busy":
            return httpx.Response(503, headers={"Retry-After": "7"})
        if path == "/expired":
            return httpx.Response(403)
        if path == "/gone":
            return httpx.Response(404)
        if path == "/big":
            return httpx.Response(200, content=b"x" * 100)
        return httpx.Response(400)

    async def go() -> None:
        async with _client(httpx.MockTransport(answer)) as client:
            assert await download("https://files.test/ok?sig=secret", client) == b"signed bytes"
            with pytest.raises(ContentUnavailable) as busy:
                await download("https://files.test/busy", client)
            assert busy.value.retry_after_s == 7.0
            with pytest.raises(ContentUnavailable):
                await download("https://files.test/expired", client)  # a new URL may work next time
            with pytest.raises(ContentGone):
                await download("https://files.test/gone", client)
            with pytest.raises(ContentTooLarge):
                await download("https://files.test/big", client, max_bytes=10)
            with pytest.raises(ContentError, match="HTTP 400"):
                await download("https://files.test/bad", client)

    run(go())


def test_a_network_failure_is_transient_and_never_quotes_the_signed_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async def go() -> None:
        async with _client(httpx.MockTransport(refuse)) as client:
            with pytest.raises(ContentUnavailable) as failed:
                await download("https://files.test/doc?sig=very-secret", client)
            assert "very-secret" not in str(failed.value)

    run(go())
