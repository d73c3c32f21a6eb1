"""Removing a connector instance from the command line (`headwater connectors remove`).

The CLI runs on the server with the operator's authority, so it may remove any instance, personal
ones included. It removes through the same `connector_admin.delete_connector` as the API and the
web UI (records with their edges and permissions, record groups, groups, sync points, run history,
config and OAuth flow state, and a `bulkDeleteRecords` event in the same transaction, on which the
indexing worker removes the search index entries), acting as the instance's owner with admin
rights: the one actor every access rule lets manage it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater.settings import Settings

from .connector_admin import delete_connector
from .platform import find_instance, open_platform


@dataclass(frozen=True)
class _Operator:
    """The server's operator, acting on one instance (an `Actor` for the access rules)."""

    user_key: str
    org_key: str
    is_admin: bool = True


async def removal_preview(settings: Settings, name: str) -> dict[str, Any]:
    """What removing the instance named `name` (or with that id) deletes: `{"id", "name", "type",
    "scope", "records"}`. InstanceNotFoundError lists the names there are."""
    async with open_platform(settings, with_config=False) as platform:
        doc = find_instance(platform.store, name)
        with platform.store.read() as tx:
            records = len(tx.find_nodes("records", connector_id=str(doc["_key"])))
    return {
        "id": str(doc["_key"]),
        "name": str(doc.get("name") or doc["_key"]),
        "type": str(doc.get("type") or ""),
        "scope": str(doc.get("scope") or "personal"),
        "records": records,
    }


async def remove_instance(settings: Settings, name: str) -> dict[str, Any]:
    """Delete the instance and everything it synced: `{"connectorId", "name", "deleted",
    "scheduled", "deletedRecords"}`. While a worker is syncing it, the deletion is handed to that
    worker (`deleted` False, `scheduled` True) and the instance is disabled meanwhile."""
    async with open_platform(settings) as platform:
        doc = find_instance(platform.store, name)
        operator = _Operator(str(doc.get("createdBy") or ""), str(doc.get("orgId") or ""))
        result = await delete_connector(platform, operator, str(doc["_key"]))
    return result | {"name": str(doc.get("name") or doc["_key"])}
