"""ConnectorFactory: connector name -> class, and building instances (reference §2.7).

Connectors Headwater ships call ``register_connector``; third-party connectors are found through the
``headwater.connectors`` entry-point group (``discover()``), declared in their package's metadata::

    [project.entry-points."headwater.connectors"]
    acme_wiki = "acme_headwater.wiki:AcmeWikiConnector"

A class is registered under its ``_connector_metadata["name"]`` (the builder's name), else under
the entry point's name. Lookup normalises a name the way event types do: lower case, spaces removed
("SharePoint Online" -> "sharepointonline"). A broken entry point is logged and skipped.
"""

from __future__ import annotations

import inspect
import logging
from importlib.metadata import EntryPoint, entry_points
from logging import Logger
from typing import Any, ClassVar

from headwater.connectors.core.connector import BaseConnector
from headwater.errors import HeadwaterError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "headwater.connectors"
# what the factory offers a connector's create_connector, in the reference's order
_FACTORY_ARGUMENTS = ("connector_id", "scope", "created_by")


class UnknownConnectorError(HeadwaterError, KeyError):
    """No connector is registered under the name; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def normalize_connector_name(name: str) -> str:
    """The lookup key of a connector name: lower case, spaces removed."""
    return str(name).lower().replace(" ", "")


class ConnectorFactory:
    """Registry of connector classes; class-level state shared by the process."""

    _connector_registry: ClassVar[dict[str, type[BaseConnector]]] = {}
    _display_names: ClassVar[dict[str, str]] = {}

    @classmethod
    def register_connector(cls, name: str, connector_cls: type[BaseConnector]) -> None:
        """Register `connector_cls` under `name`; re-registering the same class is a no-op, another
        class under a taken name is a HeadwaterError."""
        if not isinstance(connector_cls, type) or not issubclass(connector_cls, BaseConnector):
            raise HeadwaterError(f"connector {name!r}: {connector_cls!r} is not a BaseConnector subclass")
        key = normalize_connector_name(name)
        if not key:
            raise HeadwaterError("a connector needs a non-empty name")
        existing = cls._connector_registry.get(key)
        if existing is not None and existing is not connector_cls:
            raise HeadwaterError(
                f"connector name {name!r} is taken by {existing.__module__}.{existing.__qualname__}; "
                f"cannot also register {connector_cls.__module__}.{connector_cls.__qualname__}"
            )
        cls._connector_registry[key] = connector_cls
        cls._display_names[key] = str(name)

    @classmethod
    def unregister_connector(cls, name: str) -> None:
        key = normalize_connector_name(name)
        cls._connector_registry.pop(key, None)
        cls._display_names.pop(key, None)

    @classmethod
    def get_connector_class(cls, name: str) -> type[BaseConnector]:
        found = cls._connector_registry.get(normalize_connector_name(name))
        if found is None:
            known = ", ".join(sorted(cls._display_names.values())) or "none registered"
            raise UnknownConnectorError(f"unknown connector {name!r}; known connectors: {known}")
        return found

    @classmethod
    def list_connectors(cls) -> dict[str, type[BaseConnector]]:
        """Registered name (as registered) -> class."""
        return {cls._display_names[key]: value for key, value in cls._connector_registry.items()}

    @classmethod
    def list_metadata(cls) -> list[dict[str, Any]]:
        """The builder metadata (``_connector_metadata``) of every registered class that has it."""
        out: list[dict[str, Any]] = []
        for connector_cls in cls._connector_registry.values():
            meta = getattr(connector_cls, "_connector_metadata", None)
            if isinstance(meta, dict):
                out.append(meta)
        return out

    @classmethod
    def discover(cls, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Load and register the connectors of every installed ``headwater.connectors`` entry point.
        Returns the names registered; a broken entry point is logged and skipped."""
        registered: list[str] = []
        for ep in entry_points(group=group):
            name = cls._load_entry_point(ep)
            if name is not None:
                registered.append(name)
        return registered

    @classmethod
    def _load_entry_point(cls, ep: EntryPoint) -> str | None:
        origin = f"entry point {ep.name!r} ({ep.value}) of {getattr(ep.dist, 'name', '?')}"
        try:
            loaded = ep.load()
        except Exception as exc:
            log.warning("connector %s skipped: it failed to load: %s: %s", origin, type(exc).__name__, exc)
            return None
        if not isinstance(loaded, type) or not issubclass(loaded, BaseConnector):
            log.warning("connector %s skipped: %r is not a BaseConnector subclass", origin, loaded)
            return None
        meta = getattr(loaded, "_connector_metadata", None)
        name = meta.get("name") if isinstance(meta, dict) and meta.get("name") else ep.name
        try:
            cls.register_connector(str(name), loaded)
        except HeadwaterError as exc:
            log.warning("connector %s skipped: %s", origin, exc)
            return None
        return str(name)

    @classmethod
    async def create_connector(
        cls,
        name: str,
        logger: Logger,
        data_store_provider: Any,
        config_service: Any,
        connector_id: str,
        scope: str,
        created_by: str | None,
        org_id: str | None = None,
        **kwargs: Any,
    ) -> BaseConnector:
        """Build an instance through the class's ``create_connector``, passing only the arguments its
        signature accepts (the playbook's takes just logger, data store provider, config service),
        then set connector_id / scope / created_by on it and the processor's org_id when given."""
        connector_cls = cls.get_connector_class(name)
        offered: dict[str, Any] = {
            "connector_id": connector_id,
            "scope": scope,
            "created_by": created_by,
            "org_id": org_id,
            **kwargs,
        }
        params = inspect.signature(connector_cls.create_connector).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        named = {
            p.name
            for p in params.values()
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        }
        passed = {
            key: value
            for key, value in offered.items()
            if key in named or (takes_any and (key in _FACTORY_ARGUMENTS or key in kwargs))
        }
        connector = await connector_cls.create_connector(
            logger, data_store_provider, config_service, **passed
        )
        connector.connector_id = connector_id
        connector.scope = str(scope)
        connector.created_by = created_by
        if org_id is not None:
            connector.data_entities_processor.org_id = org_id
        return connector
