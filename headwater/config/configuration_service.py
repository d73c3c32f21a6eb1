"""Playbook path ``app.config.configuration_service``: ``ConfigurationService(logger, key_value_store)``.

A thin wrapper over Headwater's encrypted ``ConfigStore`` with the playbook's method names. There is
no cache: ``use_cache`` is accepted for compatibility and every read goes to the store, so a value
written by another process is seen at once.
"""

from __future__ import annotations

from logging import Logger
from typing import Any

from headwater.config.base import ConfigStore


class ConfigurationService:
    def __init__(self, logger: Logger, key_value_store: ConfigStore) -> None:
        self.logger = logger
        self.store = key_value_store

    async def get_config(
        self, key: str, default: dict[str, Any] | None = None, use_cache: bool = False
    ) -> dict[str, Any] | None:
        """The document under `key`, or `default` when there is none."""
        return await self.store.get_config(key, default)

    async def set_config(self, key: str, value: dict[str, Any]) -> None:
        await self.store.set_config(key, value)

    async def update_config(self, key: str, value: dict[str, Any]) -> None:
        """Replace the document under `key` (the playbook's update is a whole-value write)."""
        await self.store.set_config(key, value)

    async def delete_config(self, key: str) -> bool:
        return await self.store.delete_config(key)

    def clear_cache(self) -> None:
        """No cache to clear; kept for the playbook's callers."""
