"""Canonical JSON and content digests: how the store tells a changed document from an unchanged one
without reading the stored document back."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def dumps(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def edge_id(collection: str, key: str) -> str:
    """The graph id of a node, `collection/key`, as edges reference it."""
    return f"{collection}/{key}"


def split_id(node_id: str) -> tuple[str, str]:
    collection, _, key = node_id.partition("/")
    return collection, key
