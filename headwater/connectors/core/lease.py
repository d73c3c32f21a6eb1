"""The sync lease: one sync per connector instance at a time, across any number of worker processes.

A lease is a `syncLeases` node keyed by the connector id: `{owner, runId, expiresAt, acquiredAt,
renewedAt}` (epoch ms, wall clock: workers on several machines need clocks within a fraction of
the lease length). Every read-check-write of it runs in a store transaction holding the named
lock `instance_lock(connector_id)` (an advisory lock on PostgreSQL; SQLite runs one writer at a
time anyway), so two workers can never both see the lease free and both take it.

  * acquire: free, expired, or held by this same worker id (a restarted worker with a stable id
    takes its own stale lease back at once) -> taken, with a new run id; else refused.
  * renew (the heartbeat, every lease_s / 3): only while (owner, runId) still match; extends
    expiresAt. A refused renewal means another worker took the lease over: the run must stop.
  * release: deletes the lease if (owner, runId) match.

A worker killed mid-sync leaves its lease to expire; the next worker takes it over and resumes
from the sync points the dead one committed.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

from headwater.connectors.core.instances import instance_lock
from headwater.models.timeutil import now_ms
from headwater.store.base import GraphStore, Transaction

SYNC_LEASES = "syncLeases"


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def is_live(lease: dict[str, Any] | None, now: int | None = None) -> bool:
    return lease is not None and int(lease.get("expiresAt") or 0) > (now if now is not None else now_ms())


def read_lease(tx: Transaction, connector_id: str) -> dict[str, Any] | None:
    return tx.get_node(SYNC_LEASES, connector_id)


def live_leases(store: GraphStore) -> dict[str, dict[str, Any]]:
    """connector id -> lease, for the unexpired leases."""
    now = now_ms()
    with store.read() as tx:
        docs = tx.find_nodes(SYNC_LEASES)
    return {str(d["_key"]): d for d in docs if is_live(d, now)}


def acquire_tx(
    tx: Transaction, connector_id: str, owner: str, run_id: str, lease_s: float
) -> dict[str, Any] | None:
    """Take the lease inside `tx` (which must hold `instance_lock`); None when another live worker
    holds it, else the lease document written."""
    now = now_ms()
    held = read_lease(tx, connector_id)
    if held is not None and held.get("owner") != owner and is_live(held, now):
        return None
    lease = {
        "_key": connector_id,
        "owner": owner,
        "runId": run_id,
        "acquiredAt": now,
        "renewedAt": now,
        "expiresAt": now + int(lease_s * 1000),
    }
    tx.upsert_nodes(SYNC_LEASES, [lease])
    return lease


def holds_tx(tx: Transaction, connector_id: str, owner: str, run_id: str) -> bool:
    held = read_lease(tx, connector_id)
    return held is not None and held.get("owner") == owner and held.get("runId") == run_id


def renew(store: GraphStore, connector_id: str, owner: str, run_id: str, lease_s: float) -> bool:
    """Extend the lease; False when (owner, run id) no longer hold it."""
    with store.transaction() as tx:
        tx.lock(instance_lock(connector_id))
        held = read_lease(tx, connector_id)
        if held is None or held.get("owner") != owner or held.get("runId") != run_id:
            return False
        now = now_ms()
        tx.upsert_nodes(SYNC_LEASES, [{**held, "renewedAt": now, "expiresAt": now + int(lease_s * 1000)}])
        return True


def release_tx(tx: Transaction, connector_id: str, owner: str, run_id: str) -> bool:
    if not holds_tx(tx, connector_id, owner, run_id):
        return False
    tx.delete_nodes(SYNC_LEASES, [connector_id])
    return True


def release(store: GraphStore, connector_id: str, owner: str, run_id: str) -> bool:
    with store.transaction() as tx:
        tx.lock(instance_lock(connector_id))
        return release_tx(tx, connector_id, owner, run_id)
