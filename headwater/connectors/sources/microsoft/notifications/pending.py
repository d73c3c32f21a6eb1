"""Scopes with a change notification not yet synced: what the webhook receiver leaves for the connector.

One sync point per connector instance (`PENDING_KEY`) holds `{"scopes": {scope: notified_at_ms}}`. The
receiver adds a scope (`mark_pending`); the connector's incremental sync reads the map (`pending_scopes`),
syncs those scopes, and removes each one in the same transaction as that scope's new delta link
(`stage_clear_pending`) — unless a newer notification arrived meanwhile, which then stays pending. Both
sides read-modify-write under one named lock, so neither loses the other's update on any backend.

The documents have the shape `SyncPoint` reads (`read_sync_point` sees them), and a full sync's
"delete every sync point" clears them, which is right: a full sync covers every scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from headwater.connectors.core.sync_point import SYNC_POINTS, SyncDataPointType, SyncPoint
from headwater.store.base import GraphStore, Transaction

PENDING_KEY = "microsoft/notifications/pending"
_DOC_NAMESPACE = uuid.UUID("0f3c1a52-6b7e-4d0e-9d57-a3b1f2c4e801")


def sync_point_doc(
    *, org_id: str, connector_id: str, full_key: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """A `syncPoints` document as `SyncPoint` stores one (without timestamps: an unchanged one is not
    rewritten)."""
    return {
        "_key": str(uuid.uuid5(_DOC_NAMESPACE, f"{connector_id}\x00{full_key}")),
        "orgId": org_id,
        "connectorId": connector_id,
        "syncPointKey": full_key,
        "syncDataPointType": SyncDataPointType.RECORDS.value,
        **data,
    }


def pending_full_key(org_id: str, connector_id: str) -> str:
    return f"{org_id}/{connector_id}/{SyncDataPointType.RECORDS.value}/{PENDING_KEY}"


def _lock_name(connector_id: str) -> str:
    return f"microsoft-notifications-pending:{connector_id}"


def _stored(tx: Transaction, connector_id: str, full_key: str) -> dict[str, Any] | None:
    return tx.get_node_by_external_id(SYNC_POINTS, connector_id, full_key)


def _write(tx: Transaction, org_id: str, connector_id: str, full_key: str, scopes: dict[str, int]) -> None:
    doc = sync_point_doc(org_id=org_id, connector_id=connector_id, full_key=full_key, data={"scopes": scopes})
    stored = _stored(tx, connector_id, full_key)
    if stored is not None:
        doc["_key"] = stored["_key"]
    tx.upsert_nodes(SYNC_POINTS, [doc])


def mark_pending(store: GraphStore, *, org_id: str, connector_id: str, scope: str, at_ms: int) -> None:
    """Note that `scope` of the instance changed at `at_ms` (one transaction of its own)."""
    full_key = pending_full_key(org_id, connector_id)
    with store.transaction() as tx:
        tx.lock(_lock_name(connector_id))
        stored = _stored(tx, connector_id, full_key)
        scopes = dict(stored.get("scopes") or {}) if stored else {}
        scopes[scope] = max(int(scopes.get(scope, 0)), at_ms)
        _write(tx, org_id, connector_id, full_key, scopes)


async def pending_scopes(sync_point: SyncPoint) -> dict[str, int]:
    """scope -> when it was last notified, for the instance of `sync_point`."""
    data = await sync_point.read_sync_point(PENDING_KEY)
    scopes = data.get("scopes")
    return {str(k): int(v) for k, v in scopes.items()} if isinstance(scopes, dict) else {}


def stage_clear_pending(sync_point: SyncPoint, scope: str, seen_at_ms: int) -> None:
    """Remove `scope` from the pending map with the processor's next commit (the one carrying the scope's
    new delta link), unless it was notified again after `seen_at_ms`."""
    processor = sync_point.processor
    connector_id, org_id = sync_point.connector_id, sync_point.org_id
    full_key = pending_full_key(org_id, connector_id)

    def clear(tx: Transaction) -> None:
        tx.lock(_lock_name(connector_id))
        stored = _stored(tx, connector_id, full_key)
        scopes = dict(stored.get("scopes") or {}) if stored else {}
        if scope in scopes and int(scopes[scope]) <= seen_at_ms:
            del scopes[scope]
            _write(tx, org_id, connector_id, full_key, scopes)

    if processor is None:
        with sync_point.data_store_provider.store.transaction() as tx:
            clear(tx)
        return
    processor.stage_write(("microsoft-pending", connector_id, scope), clear)
