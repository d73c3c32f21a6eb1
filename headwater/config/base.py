"""The config store: namespaced keys whose values are JSON documents encrypted whole.

Keys (``/services/connectors/{id}/config``, ...) stay plaintext so that listing by prefix works;
each value is serialised to JSON and sealed with AES-256-GCM (associated data = the key) before a
backend sees it. A backend stores and returns opaque token strings only: it implements the four
``_raw_*`` methods, and this class does validation, serialisation and encryption.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any

from headwater.config.crypto import SecretBox

MAX_KEY_LENGTH = 1024

KEY_RULE = (
    "a config key starts with '/', is made of non-empty '/'-separated segments, has no '.' or '..' "
    "segment, no control characters, and at most 1024 characters, e.g. /services/connectors/<id>/config"
)


def _has_control_chars(text: str) -> bool:
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def validate_key(key: str) -> str:
    """`key` if it is a valid config key, else ValueError stating the rule."""
    if not isinstance(key, str):
        raise ValueError(f"invalid config key {key!r}: not a string; {KEY_RULE}")
    if (
        not key.startswith("/")
        or len(key) > MAX_KEY_LENGTH
        or _has_control_chars(key)
        or any(seg in ("", ".", "..") for seg in key[1:].split("/"))
    ):
        raise ValueError(f"invalid config key {key!r}: {KEY_RULE}")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: '/' alone, or a key, optionally with a trailing '/'."""
    if not isinstance(prefix, str):
        raise ValueError(f"invalid config key prefix {prefix!r}: not a string; {KEY_RULE}")
    if prefix == "/":
        return prefix
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


class ConfigStore(ABC):
    """Encrypted key -> JSON-object store. Use as ``async with store: ...`` or connect()/close()."""

    def __init__(self, url: str, box: SecretBox) -> None:
        self.url = url
        self.box = box

    # -- lifecycle --

    @abstractmethod
    async def connect(self) -> None:
        """Open the connection and create the table / check the server; idempotent."""

    @abstractmethod
    async def close(self) -> None:
        """Release the connection; idempotent."""

    async def __aenter__(self) -> ConfigStore:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- what a backend implements: opaque tokens under validated keys --

    @abstractmethod
    async def _raw_get(self, key: str) -> str | None:
        """The stored token under `key`, or None."""

    @abstractmethod
    async def _raw_put(self, key: str, token: str) -> None:
        """Store `token` under `key`, replacing any previous one."""

    @abstractmethod
    async def _raw_delete(self, key: str) -> bool:
        """Remove `key`; True when it existed."""

    @abstractmethod
    async def _raw_list(self, prefix: str) -> list[str]:
        """Keys that start with `prefix` (plain string prefix), any order."""

    # -- the public contract --

    async def get(self, key: str) -> dict[str, Any] | None:
        """The decrypted document under `key`, or None. SecretDecryptionError on wrong key / tampering."""
        validate_key(key)
        token = await self._raw_get(key)
        if token is None:
            return None
        document: dict[str, Any] = json.loads(self.box.decrypt(token, key.encode("utf-8")))
        return document

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Encrypt `value` (a JSON-serialisable dict) and store it under `key`."""
        validate_key(key)
        if not isinstance(value, dict):
            raise TypeError(f"a config value must be a dict (a JSON object), not {type(value).__name__}")
        try:
            plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            # the message names the offending type or value kind, never the document
            raise TypeError(f"the config value for {key!r} is not JSON-serialisable: {exc}") from None
        await self._raw_put(key, self.box.encrypt(plaintext.encode("utf-8"), key.encode("utf-8")))

    async def delete(self, key: str) -> bool:
        """Remove `key`; True if it existed."""
        validate_key(key)
        return await self._raw_delete(key)

    async def list_keys(self, prefix: str = "/") -> list[str]:
        """Sorted keys that start with `prefix` (a string prefix: '/services/connectors/' lists them all)."""
        validate_prefix(prefix)
        return sorted(await self._raw_list(prefix))

    # -- the playbook's ConfigurationService names --

    async def get_config(self, key: str, default: dict[str, Any] | None = None) -> dict[str, Any] | None:
        value = await self.get(key)
        return default if value is None else value

    async def set_config(self, key: str, value: dict[str, Any]) -> None:
        await self.put(key, value)

    async def delete_config(self, key: str) -> bool:
        return await self.delete(key)
