"""Fakes shared by the SDK tests: a processor that records calls, and an async runner."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one async test body in a fresh event loop (pytest-asyncio is not a dependency)."""
    return asyncio.run(coro)


class FakeProcessor:
    """Stands in for DataSourceEntitiesProcessor: same constructor and method names, records calls."""

    def __init__(
        self, logger: Any = None, data_store_provider: Any = None, config_service: Any = None
    ) -> None:
        self.logger = logger
        self.data_store_provider = data_store_provider
        self.config_service = config_service
        self.org_id = ""
        self.initialized = False
        self.calls: list[tuple[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.fail_groups = False

    async def initialize(self, org_id: str | None = None) -> None:
        self.initialized = True
        self.org_id = org_id or "org-1"

    async def on_new_records(self, records: list[Any]) -> None:
        self.calls.append(("on_new_records", records))

    async def reindex_existing_records(self, records: list[Any]) -> None:
        self.calls.append(("reindex_existing_records", records))

    async def on_new_app_users(self, users: list[Any]) -> None:
        self.calls.append(("on_new_app_users", users))

    async def on_new_user_groups(self, groups: list[Any]) -> None:
        if self.fail_groups:
            raise RuntimeError("store down")
        self.calls.append(("on_new_user_groups", groups))

    async def get_user_by_user_id(self, user_id: str) -> dict[str, Any] | None:
        return self.users.get(user_id)
