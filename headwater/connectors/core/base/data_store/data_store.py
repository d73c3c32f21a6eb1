"""Playbook path of DataStoreProvider: re-exports ``headwater.connectors.core.data_store`` (lazily)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the real names; at run time they resolve on first use
    from headwater.connectors.core.data_store import DataStoreProvider

_TARGET = "headwater.connectors.core.data_store"
__all__ = ["DataStoreProvider"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(_TARGET), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
