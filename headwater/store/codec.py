"""Canonical JSON and content digests: how the store tells a changed document from an unchanged one
without reading the stored document back."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def dumps(doc: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, UTF-8."""
    return orjson.dumps(doc, option=_SORTED).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def digest_bytes(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def dumps_with_digest(doc: Any) -> tuple[str, str]:
    """(canonical JSON, its digest), hashing the encoded bytes once."""
    raw = orjson.dumps(doc, option=_SORTED)
    return raw.decode(), hashlib.blake2b(raw, digest_size=12).hexdigest()


def edge_id(collection: str, key: str) -> str:
    """The graph id of a node, `collection/key`, as edges reference it."""
    return f"{collection}/{key}"


def split_id(node_id: str) -> tuple[str, str]:
    collection, _, key = node_id.partition("/")
    return collection, key
