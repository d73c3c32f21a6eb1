"""Playbook path of DataSourceEntitiesProcessor: re-exports ``headwater.connectors.core.processor``.

Resolved on first use (module ``__getattr__``), so importing this package never imports the processor.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the real names; at run time they resolve on first use
    from headwater.connectors.core.processor import DataSourceEntitiesProcessor

_TARGET = "headwater.connectors.core.processor"
__all__ = ["DataSourceEntitiesProcessor"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(_TARGET), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
