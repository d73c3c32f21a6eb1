"""The connector types this installation can run: registered classes plus the `headwater.connectors`
entry points (built-in and third-party), with the builder metadata users choose from."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from headwater.connectors.core.connector import BaseConnector
from headwater.connectors.core.factory import ConnectorFactory, UnknownConnectorError

_discovered = False
_discover_lock = threading.Lock()


def discover_connectors() -> None:
    """Load the entry-point connectors once per process (a broken one is logged and skipped)."""
    global _discovered
    with _discover_lock:
        if not _discovered:
            ConnectorFactory.discover()
            _discovered = True


@dataclass(frozen=True)
class ConnectorType:
    """One connector type as a user sees it in `connectors list`."""

    type: str
    group: str
    description: str
    auth_types: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    sync_strategies: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        return {
            "type": out["type"],
            "group": out["group"],
            "description": out["description"],
            "authTypes": out["auth_types"],
            "scopes": out["scopes"],
            "categories": out["categories"],
            "syncStrategies": out["sync_strategies"],
        }


def _type_of(name: str, cls: type[BaseConnector]) -> ConnectorType:
    meta = metadata_of(cls) or {}
    config = meta.get("config") or {}
    return ConnectorType(
        type=str(meta.get("name") or name),
        group=str(meta.get("appGroup") or ""),
        description=str(meta.get("appDescription") or ""),
        auth_types=list(meta.get("supportedAuthTypes") or []),
        scopes=list(meta.get("connectorScopes") or []),
        categories=list(meta.get("appCategories") or []),
        sync_strategies=list((config.get("sync") or {}).get("supportedStrategies") or []),
    )


def connector_types() -> list[ConnectorType]:
    """Every connector type that can be added, by group then name; hidden connectors left out."""
    discover_connectors()
    found = [
        _type_of(name, cls)
        for name, cls in ConnectorFactory.list_connectors().items()
        if not ((metadata_of(cls) or {}).get("config") or {}).get("hideConnector")
    ]
    return sorted(found, key=lambda t: (t.group.lower(), t.type.lower()))


def connector_class(type_name: str) -> type[BaseConnector]:
    """The class registered under `type_name` (case and spaces ignored)."""
    discover_connectors()
    try:
        return ConnectorFactory.get_connector_class(type_name)
    except UnknownConnectorError as exc:
        raise UnknownConnectorError(f"{exc} — see `headwater connectors list`") from None


def metadata_of(cls: type[BaseConnector]) -> dict[str, Any] | None:
    meta = getattr(cls, "_connector_metadata", None)
    return meta if isinstance(meta, dict) else None


def connector_metadata(type_name: str) -> dict[str, Any]:
    """The builder metadata of a connector type; a class without it gets an empty declaration
    (no fields: nothing to ask)."""
    cls = connector_class(type_name)
    return metadata_of(cls) or {"name": type_name, "supportedAuthTypes": ["NONE"], "config": {}}


def type_name_of(type_name: str) -> str:
    """The canonical (registered) name of a connector type, as instances store it."""
    cls = connector_class(type_name)
    meta = metadata_of(cls)
    if meta and meta.get("name"):
        return str(meta["name"])
    for name, registered in ConnectorFactory.list_connectors().items():
        if registered is cls:
            return name
    return type_name
