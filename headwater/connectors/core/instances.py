"""Connector instances, their sync run history and their failure ledger, as store documents.

An instance is an `apps` node keyed by its connector id::

    {_key, name, type (the registry name), scope, orgId, createdBy, isActive,
     status: IDLE | SYNCING | FULL_SYNCING | THROTTLED | NEEDS_REAUTH | FAILED,
     statusReason, throttledUntil (ms), intervalMinutes (None: no scheduled syncs),
     lastSyncStartedAt, lastSyncEndedAt, lastRunId, pendingFullSync, syncRequested,
     createdAtTimestamp, updatedAtTimestamp}

A run is a `syncRuns` node (`_key` = run id): connectorId, orgId, workerId, full, startedAt,
endedAt, outcome (running, completed, failed, cancelled, throttled, needs_reauth, interrupted,
lease_lost, abandoned), the counts (discovered, new, updated, unchanged, deleted, skipped, failed), error,
throttleResumes. A failure is a `syncFailures` node: connectorId, runId, externalId, recordName,
reason, at.

Every read-check-write of an instance runs under the named lock `instance_lock(connector_id)`, the
same lock the sync lease takes (`headwater.connectors.core.lease`), so one lock order exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from headwater.errors import NotFoundError
from headwater.models.timeutil import now_ms
from headwater.store.base import GraphStore, Transaction
from headwater.store.schema import IDENTITY_FIELDS

APPS = "apps"
SYNC_RUNS = "syncRuns"
SYNC_FAILURES = "syncFailures"
COUNT_FIELDS = ("discovered", "new", "updated", "unchanged", "deleted", "skipped", "failed")
_FAILURE_NAMESPACE = uuid.UUID("0f6f7a5e-2b1c-4d7e-9c1a-6a3e5b2d9f40")


class InstanceStatus(StrEnum):
    IDLE = "IDLE"
    SYNCING = "SYNCING"
    FULL_SYNCING = "FULL_SYNCING"
    THROTTLED = "THROTTLED"
    NEEDS_REAUTH = "NEEDS_REAUTH"
    FAILED = "FAILED"


class RunOutcome(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    THROTTLED = "throttled"  # still throttled after the allowed number of resumes
    NEEDS_REAUTH = "needs_reauth"
    INTERRUPTED = "interrupted"  # the worker shut down; another resumes from the sync points
    LEASE_LOST = "lease_lost"  # the lease expired and another worker took the instance over
    ABANDONED = "abandoned"  # its worker died mid-run; found so by the run that took over


def instance_lock(connector_id: str) -> str:
    """The named store lock that serialises writes to one instance and its sync lease."""
    return f"headwater:connector:{connector_id}"


# ---- instances -----------------------------------------------------------------------------------


def create_instance(
    store: GraphStore,
    *,
    type: str,
    connector_id: str | None = None,
    name: str | None = None,
    scope: str = "personal",
    org_id: str = "",
    created_by: str | None = None,
    interval_minutes: float | None = None,
    is_active: bool = True,
) -> dict[str, Any]:
    """Create a connector instance (IDLE); ValueError when the id is taken."""
    key = connector_id or str(uuid.uuid4())
    now = now_ms()
    doc: dict[str, Any] = {
        "_key": key,
        "name": name or type,
        "type": type,
        "scope": scope,
        "orgId": org_id,
        "createdBy": created_by,
        "isActive": is_active,
        "status": InstanceStatus.IDLE.value,
        "statusReason": None,
        "throttledUntil": None,
        "intervalMinutes": interval_minutes,
        "lastSyncStartedAt": None,
        "lastSyncEndedAt": None,
        "lastRunId": None,
        "pendingFullSync": False,
        "syncRequested": False,
        "createdAtTimestamp": now,
        "updatedAtTimestamp": now,
    }
    with store.transaction() as tx:
        tx.lock(instance_lock(key))
        if tx.get_node(APPS, key) is not None:
            raise ValueError(f"a connector instance with id {key!r} exists already")
        tx.upsert_nodes(APPS, [doc])
    return doc


def get_instance(store: GraphStore, connector_id: str) -> dict[str, Any] | None:
    with store.read() as tx:
        return tx.get_node(APPS, connector_id)


def require_instance(tx: Transaction, connector_id: str) -> dict[str, Any]:
    doc = tx.get_node(APPS, connector_id)
    if doc is None:
        raise NotFoundError(f"no connector instance {connector_id!r}")
    return doc


def list_instances(
    store: GraphStore, *, org_id: str | None = None, type: str | None = None, active_only: bool = False
) -> list[dict[str, Any]]:
    """Instances, optionally of one organisation / connector type / active ones only, by key."""
    with store.read() as tx:
        docs = tx.find_nodes(APPS, org_id=org_id)
    return [
        d
        for d in docs
        if d.get("type") is not None  # apps nodes written by others (placeholders) are not instances
        and (type is None or str(d.get("type", "")).lower() == type.lower())
        and (not active_only or d.get("isActive", True))
    ]


def update_instance_tx(tx: Transaction, connector_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Merge `fields` into the instance inside `tx` (the caller holds `instance_lock`)."""
    doc = dict(require_instance(tx, connector_id))
    changed = {k: v for k, v in fields.items() if doc.get(k) != v}
    if not changed:
        return doc
    doc.update(changed)
    doc["updatedAtTimestamp"] = now_ms()
    tx.upsert_nodes(APPS, [doc])
    return doc


def update_instance(store: GraphStore, connector_id: str, **fields: Any) -> dict[str, Any]:
    """Merge camelCase `fields` into the instance document; returns it. NotFoundError if none."""
    if "_key" in fields:
        raise ValueError("an instance's _key cannot change")
    with store.transaction() as tx:
        tx.lock(instance_lock(connector_id))
        return update_instance_tx(tx, connector_id, fields)


def set_status(
    tx: Transaction,
    connector_id: str,
    status: InstanceStatus,
    reason: str | None = None,
    *,
    throttled_until: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return update_instance_tx(
        tx,
        connector_id,
        {
            "status": status.value,
            "statusReason": reason,
            "throttledUntil": throttled_until if status is InstanceStatus.THROTTLED else None,
            **fields,
        },
    )


# ---- run history ---------------------------------------------------------------------------------


def new_run_doc(
    connector_id: str, run_id: str, *, org_id: str, worker_id: str, full: bool, started_at: int
) -> dict[str, Any]:
    return {
        "_key": run_id,
        "connectorId": connector_id,
        "orgId": org_id,
        "workerId": worker_id,
        "full": full,
        "startedAt": started_at,
        "endedAt": None,
        "outcome": RunOutcome.RUNNING.value,
        **dict.fromkeys(COUNT_FIELDS, 0),
        "error": None,
        "throttleResumes": 0,
    }


def get_run(store: GraphStore, run_id: str) -> dict[str, Any] | None:
    with store.read() as tx:
        return tx.get_node(SYNC_RUNS, run_id)


def _of_connector(tx: Transaction, collection: str, connector_id: str) -> list[dict[str, Any]]:
    # When the store indexes these collections by connector (IDENTITY_FIELDS), ask it; otherwise
    # filter: run history is trimmed per connector, so the collection stays small.
    if collection in IDENTITY_FIELDS:
        return tx.find_nodes(collection, connector_id=connector_id)
    return [d for d in tx.find_nodes(collection) if d.get("connectorId") == connector_id]


def list_runs(store: GraphStore, connector_id: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The instance's runs, newest first."""
    with store.read() as tx:
        runs = _of_connector(tx, SYNC_RUNS, connector_id)
    runs.sort(key=lambda r: (r.get("startedAt") or 0, r["_key"]), reverse=True)
    return runs[:limit] if limit is not None else runs


def list_failures(store: GraphStore, connector_id: str, run_id: str | None = None) -> list[dict[str, Any]]:
    """The failure ledger of an instance (of one run when `run_id` is given), oldest first."""
    with store.read() as tx:
        docs = _of_connector(tx, SYNC_FAILURES, connector_id)
    if run_id is not None:
        docs = [d for d in docs if d.get("runId") == run_id]
    docs.sort(key=lambda d: (d.get("at") or 0, d.get("externalId") or ""))
    return docs


def failure_docs(
    connector_id: str, run_id: str, org_id: str, failures: Iterable[Any]
) -> list[dict[str, Any]]:
    """`syncFailures` documents for `ItemFailure`-like objects (external_id, reason, at_ms,
    record_name); one per (run, external id), the last reason winning."""
    docs: dict[str, dict[str, Any]] = {}
    for f in failures:
        external_id = str(getattr(f, "external_id", "") or "")
        key = str(uuid.uuid5(_FAILURE_NAMESPACE, f"{connector_id}\x00{run_id}\x00{external_id}"))
        docs[key] = {
            "_key": key,
            "connectorId": connector_id,
            "orgId": org_id,
            "runId": run_id,
            "externalId": external_id,
            "recordName": getattr(f, "record_name", None),
            "reason": str(getattr(f, "reason", "") or ""),
            "at": int(getattr(f, "at_ms", 0) or now_ms()),
        }
    return list(docs.values())


def trim_history(tx: Transaction, connector_id: str, keep: int) -> int:
    """Delete the instance's runs beyond the newest `keep`, with their failures."""
    runs = _of_connector(tx, SYNC_RUNS, connector_id)
    if len(runs) <= keep:
        return 0
    runs.sort(key=lambda r: (r.get("startedAt") or 0, r["_key"]), reverse=True)
    old = {r["_key"] for r in runs[keep:]}
    failures = [d["_key"] for d in _of_connector(tx, SYNC_FAILURES, connector_id) if d.get("runId") in old]
    tx.delete_nodes(SYNC_FAILURES, failures)
    return tx.delete_nodes(SYNC_RUNS, sorted(old))


def delete_history(tx: Transaction, connector_id: str) -> None:
    tx.delete_nodes(SYNC_FAILURES, [d["_key"] for d in _of_connector(tx, SYNC_FAILURES, connector_id)])
    tx.delete_nodes(SYNC_RUNS, [d["_key"] for d in _of_connector(tx, SYNC_RUNS, connector_id)])


def counts_of(stats: Any) -> dict[str, int]:
    """The count fields of a `SyncStats`-like object (zeros for what it lacks)."""
    if stats is None:
        return dict.fromkeys(COUNT_FIELDS, 0)
    as_dict = getattr(stats, "as_dict", None)
    values: dict[str, Any] = as_dict() if callable(as_dict) else {}
    return {name: int(values.get(name, getattr(stats, name, 0)) or 0) for name in COUNT_FIELDS}


def keys_of(docs: Sequence[dict[str, Any]]) -> list[str]:
    return [str(d["_key"]) for d in docs]
