"""Playbook path of SyncPoint: re-exports ``headwater.connectors.core.sync_point`` (lazily)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the real names; at run time they resolve on first use
    from headwater.connectors.core.sync_point import (
        SyncDataPointType,
        SyncPoint,
        generate_record_sync_point_key,
    )

_TARGET = "headwater.connectors.core.sync_point"
__all__ = ["SyncDataPointType", "SyncPoint", "generate_record_sync_point_key"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(_TARGET), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
