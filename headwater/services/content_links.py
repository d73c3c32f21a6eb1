"""Short-lived signed links to a record's content, and the content behind them.

A link is `/api/v1/content/{token}` (under `HEADWATER_PUBLIC_URL` when set). The token is the
capability: whoever holds it may fetch the content until it expires, without a session, so that a
browser can open it in a new tab or a download manager can fetch it. It is therefore short-lived
(5 minutes by default) and narrow:

    token = "v1." + b64url(payload) + "." + b64url(HMAC-SHA256(link key, "v1." + b64url(payload)))
    payload = {"r": record key, "u": user key, "x": expiry (epoch ms)}

The link key is derived from the instance secret (`content_link_key`), never the secret itself,
so a leaked link key signs links and decrypts nothing. Changing any byte of the token breaks the
signature (403); an expired link is 410. Fetching re-checks everything the link was issued on: the
user still exists and is active, is still in the record's organisation, and can still read the
record (a grant removed a second after the link was made stops it at once).

The record's bytes come from its connector instance's `stream_record` (the SDK's content seam, as
indexing reads them), built and initialised for the request and cleaned up when the response ends.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import inspect
import json
import re
import time
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from headwater.config.base import ConfigStore
from headwater.config.crypto import load_or_create_key
from headwater.connectors.core.factory import ConnectorFactory
from headwater.errors import BackendUnavailableError, HeadwaterError, NotFoundError
from headwater.indexing.sources import ConnectorInitFailed, ConnectorPool, InstanceUnavailable
from headwater.models.entities import Record
from headwater.settings import Settings
from headwater.store.base import GraphStore

from .errors import ForbiddenError, InvalidArgumentError
from .record_access import RecordNotFoundError, can_read_record

CONTENT_PATH = "/api/v1/content/"
DEFAULT_TTL_S = 300
MAX_TTL_S = 3600
VERSION = "v1"
GENERIC_TYPE = "application/octet-stream"
# types a browser shows without running anything: the only ones served inline when asked
INLINE_SAFE_TYPES = frozenset(
    {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"}
)


class ContentLinkInvalidError(ForbiddenError):
    """The token is malformed, was changed, or no longer entitles its user to the record."""


class ContentLinkExpiredError(HeadwaterError):
    """The link's time is up (the API answers 410 Gone): ask for a new one."""


class ContentUnavailableError(BackendUnavailableError):
    """The record's source could not be reached or its connector could not start."""


class ContentGoneError(NotFoundError):
    """The source no longer has the content (deleted since the last sync)."""


def content_link_key(instance_secret: bytes) -> bytes:
    """The key links are signed with: its own key, derived from the instance secret."""
    return hmac.new(instance_secret, b"headwater content-link v1", hashlib.sha256).digest()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class LinkClaims:
    """What a valid token says: this user may fetch this record's content until `expires_at`."""

    record_key: str
    user_key: str
    expires_at: int


class ContentLinks:
    """Issues and checks content links. `clock` returns epoch milliseconds (tests move it)."""

    def __init__(
        self,
        key: bytes,
        *,
        ttl_s: int = DEFAULT_TTL_S,
        clock: Callable[[], int] = now_ms,
        base_url: str | None = None,
    ) -> None:
        if not 1 <= ttl_s <= MAX_TTL_S:
            raise InvalidArgumentError(f"a content link lives 1 to {MAX_TTL_S} seconds, not {ttl_s}")
        if len(key) < 32:
            raise ValueError("the content-link key must be at least 32 bytes")
        self._key = key
        self.ttl_s = ttl_s
        self.clock = clock
        self.base_url = (base_url or "").rstrip("/")  # "" = links relative to this server

    @classmethod
    def from_settings(cls, settings: Settings) -> ContentLinks:
        """The instance's signer: the key derived from its secret, the lifetime from
        `HEADWATER_CONTENT_LINK_SECONDS`, links absolute under `HEADWATER_PUBLIC_URL` when it is
        set. Reads the key file: make one per process and keep it."""
        return cls(
            content_link_key(load_or_create_key(settings)),
            ttl_s=settings.content_link_seconds,
            base_url=settings.public_url,
        )

    # ---- issuing ---------------------------------------------------------------------------------

    def issue(self, store: GraphStore, *, user_key: str, org_key: str, record_key: str) -> dict[str, Any]:
        """`{"url": "/api/v1/content/<token>", "expiresAt": epoch ms}` for a record the user may
        read (the URL prefixed with `base_url` when there is one); `RecordNotFoundError` otherwise
        (exactly as the record's metadata answers)."""
        with store.read() as tx:
            if not can_read_record(tx, user_key, org_key, record_key):
                raise RecordNotFoundError(record_key)
        expires_at = self.clock() + self.ttl_s * 1000
        token = self.sign(LinkClaims(record_key, user_key, expires_at))
        return {"url": self.base_url + CONTENT_PATH + token, "expiresAt": expires_at}

    def sign(self, claims: LinkClaims) -> str:
        payload = json.dumps(
            {"r": claims.record_key, "u": claims.user_key, "x": claims.expires_at}, separators=(",", ":")
        ).encode()
        signed = f"{VERSION}.{_b64(payload)}"
        return f"{signed}.{_b64(self._mac(signed))}"

    def _mac(self, signed: str) -> bytes:
        return hmac.new(self._key, signed.encode(), hashlib.sha256).digest()

    # ---- checking --------------------------------------------------------------------------------

    def verify(self, token: str) -> LinkClaims:
        """The claims of an authentic, unexpired token. `ContentLinkInvalidError` (changed or
        malformed) or `ContentLinkExpiredError`. The signature is checked before anything in the
        payload is believed."""
        version, _, rest = token.partition(".")
        body, _, mac = rest.partition(".")
        if version != VERSION or not body or not mac:
            raise ContentLinkInvalidError("this is not a content link token: ask for a new link")
        try:
            presented = _unb64(mac)
        except ValueError:
            raise ContentLinkInvalidError("the content link is damaged: ask for a new link") from None
        if not hmac.compare_digest(presented, self._mac(f"{version}.{body}")):
            raise ContentLinkInvalidError("the content link was changed or is not from this instance")
        try:
            data = json.loads(_unb64(body))
            claims = LinkClaims(str(data["r"]), str(data["u"]), int(data["x"]))
        except (ValueError, KeyError, TypeError):  # signed by us, so only a format change lands here
            raise ContentLinkInvalidError("the content link is damaged: ask for a new link") from None
        if self.clock() >= claims.expires_at:
            raise ContentLinkExpiredError("the content link has expired: ask for a new one")
        return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


# ---- the content ---------------------------------------------------------------------------------


@dataclass
class RecordContent:
    """A record's content on its way to the caller: iterate `chunks` once (it releases the
    connector at the end, or when closed early)."""

    chunks: AsyncIterator[bytes]
    media_type: str
    filename: str
    size: int | None

    def headers(self, *, inline: bool = False) -> dict[str, str]:
        """Response headers: a download with a safe file name, never cached by anything shared,
        never sniffed or run as a page of this site, no Referer carrying the token onwards."""
        show_inline = inline and self.media_type in INLINE_SAFE_TYPES
        headers = {
            "Content-Disposition": content_disposition(self.filename, inline=show_inline),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Referrer-Policy": "no-referrer",
        }
        if self.size is not None:
            headers["Content-Length"] = str(self.size)
        return headers


async def open_content(
    store: GraphStore,
    config_store: ConfigStore,
    claims: LinkClaims,
    *,
    factory: Any = ConnectorFactory,
) -> RecordContent:
    """Re-check the link's user and record, then start streaming the record from its source."""
    record = await asyncio.to_thread(_recheck, store, claims)
    pool = ConnectorPool(store, config_store, factory)
    try:
        connector = await pool.get(record.connector_id)
        source = connector.stream_record(record)
        if inspect.isawaitable(source):
            source = await source
    except InstanceUnavailable as exc:
        await pool.close()
        raise ContentUnavailableError(f"the record's connector is unavailable: {exc}") from None
    except ConnectorInitFailed as exc:
        await pool.close()
        raise ContentUnavailableError(f"cannot reach the record's source: {exc}") from None
    except NotFoundError as exc:
        await pool.close()
        raise ContentGoneError(f"the source no longer has this record's content: {exc}") from None
    except BaseException:
        await pool.close()
        raise
    media_type = str(getattr(source, "media_type", None) or record.mime_type or GENERIC_TYPE)
    # only bytes in hand have a length we can promise: a file that grows while it streams would
    # break a declared Content-Length mid-response, so streams go out chunked
    size = len(source) if isinstance(source, bytes | bytearray | memoryview) else None
    return RecordContent(
        _released(_chunks_of(source), pool),
        _plain_type(media_type),
        safe_filename(record.record_name),
        size,
    )


def _recheck(store: GraphStore, claims: LinkClaims) -> Record:
    with store.read() as tx:
        user = tx.get_node("users", claims.user_key)
        if user is None or user.get("isActive") is False:
            raise ContentLinkInvalidError("the user this link was made for is no longer active")
        org_key = str(user.get("orgId") or "")
        if not can_read_record(tx, claims.user_key, org_key, claims.record_key):
            raise ContentLinkInvalidError("the user this link was made for can no longer read the record")
        record = tx.get_record(claims.record_key)
    if record is None:  # pragma: no cover - can_read_record just found it
        raise RecordNotFoundError(claims.record_key)
    return record


def _plain_type(media_type: str) -> str:
    value = media_type.split(";", 1)[0].strip().lower()
    return value if re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", value) else GENERIC_TYPE


async def _chunks_of(source: Any) -> AsyncIterator[bytes]:
    """The bytes of whatever `stream_record` returned (the shapes `indexing.content` reads), in chunks."""
    if source is None:
        return
    if isinstance(source, bytes | bytearray | memoryview):
        yield bytes(source)
        return
    if isinstance(source, str):
        yield source.encode()
        return
    body_iterator = getattr(source, "body_iterator", None)
    body = getattr(source, "body", None)
    if body_iterator is None and isinstance(body, bytes | bytearray | memoryview):
        yield bytes(body)
        return
    chunks = body_iterator if body_iterator is not None else source
    if body_iterator is None and callable(getattr(source, "read", None)):
        chunks = _file_chunks(source)
    if not isinstance(chunks, AsyncIterable | Iterable) or isinstance(chunks, Mapping):
        raise ContentUnavailableError(
            f"the connector returned {type(source).__name__}, which holds no content"
        )
    try:
        if isinstance(chunks, AsyncIterable):
            async for chunk in chunks:
                yield chunk.encode() if isinstance(chunk, str) else bytes(chunk)
        else:
            for chunk in chunks:
                yield chunk.encode() if isinstance(chunk, str) else bytes(chunk)
    finally:
        for name in ("aclose", "close"):
            closer = getattr(chunks, name, None) or getattr(source, name, None)
            if callable(closer):
                result = closer()
                if inspect.isawaitable(result):
                    await result
                break


async def _file_chunks(file: Any, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    while True:
        data = file.read(size)
        if inspect.isawaitable(data):
            data = await data
        if not data:
            return
        yield data.encode() if isinstance(data, str) else bytes(data)


async def _released(chunks: AsyncIterator[bytes], pool: ConnectorPool) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        await pool.close()


# ---- file names ----------------------------------------------------------------------------------


def safe_filename(name: str | None) -> str:
    """A file name for Content-Disposition: no path, no control characters, no quotes."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" and ch not in '"')
    text = text.strip().strip(".") or "download"
    return text[:200]


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """RFC 6266: an ASCII fallback for old clients and the exact name as RFC 5987 `filename*`."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._ ()+-]", "_", ascii_name).strip() or "download"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
