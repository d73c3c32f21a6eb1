"""Helpers for the config store tests."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one async test body in a fresh event loop (pytest-asyncio is not a dependency)."""
    return asyncio.run(coro)
