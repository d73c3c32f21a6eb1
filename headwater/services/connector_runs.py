"""Syncing connector instances for signed-in people: asking for a sync, its live state and progress,
the run history with the per-item failure ledger, "retry failed", and dynamic filter options.
FastAPI-free; access is checked with `connector_access`.

Syncs run in the sync workers (`headwater serve` / `worker --role sync`), never in the API: asking
for one appends a `{type}.resync` event to `sync-events` (the engine's normal way), which a worker
records on the instance and its scheduler runs. Progress is read from the store: the instance's
state and its current run document, whose counts the sync worker checkpoints while the run goes on
(`sync_sidecar.checkpoint_progress`) and writes finally when it ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable
from typing import Any

from headwater.connectors.core.connector import maybe_await
from headwater.connectors.core.engine import SyncEngine, build_connector
from headwater.connectors.core.errors import describe
from headwater.connectors.core.filters import OptionSourceType
from headwater.connectors.core.instances import (
    COUNT_FIELDS,
    RunOutcome,
    get_run,
    list_failures,
    list_runs,
)
from headwater.errors import NotFoundError
from headwater.events.base import SYNC_EVENTS, SyncActions, sync_event_type
from headwater.models.timeutil import now_ms
from headwater.store.base import GraphStore

from .catalog import connector_metadata, discover_connectors
from .connector_access import Actor, managed_instance, may_manage, visible_instance
from .errors import (
    ConfigValueError,
    ConflictError,
    ConnectorNotReadyError,
    InstanceNotFoundError,
    InvalidArgumentError,
)
from .platform import Platform
from .syncing import expected_size

RUNNING_STATES = frozenset({"SYNCING", "FULL_SYNCING", "THROTTLED"})
MAX_RUNS = 100


def _run_view(run: dict[str, Any], failed_items: int | None = None) -> dict[str, Any]:
    view = {
        "id": str(run["_key"]),
        "full": bool(run.get("full")),
        "outcome": run.get("outcome"),
        "startedAt": run.get("startedAt"),
        "endedAt": run.get("endedAt"),
        "error": run.get("error"),
        "throttleResumes": int(run.get("throttleResumes") or 0),
        "counts": {name: int(run.get(name) or 0) for name in COUNT_FIELDS},
    }
    if failed_items is not None:
        view["failedItems"] = failed_items
    return view


# ---- asking for syncs ------------------------------------------------------------------------------


def request_sync(
    platform: Platform, actor: Actor, connector_id: str, *, full: bool = False
) -> dict[str, Any]:
    """Ask the sync workers for a sync now (`full`: from scratch, re-listing everything). A run in
    progress is not interrupted: the request is run after it. ConflictError for a disabled instance."""
    doc = managed_instance(platform.store, actor, connector_id)
    if not doc.get("isActive", True):
        raise ConflictError(f"{doc.get('name')} is disabled: enable it first")
    SyncEngine(platform.store, platform.config_store).request_sync(connector_id, full=full)
    return {"connectorId": connector_id, "requested": True, "full": full, "status": doc.get("status")}


def retry_failed(platform: Platform, actor: Actor, connector_id: str) -> dict[str, Any]:
    """Retry what failed. Items that failed during the sync (the failure ledger) never became
    records, so no connector can fetch "just those" from the SDK: they are retried by a full sync,
    which re-lists everything but rewrites and re-indexes only what changed. Records whose indexing
    FAILED are re-queued for indexing (`{type}.reindex`, FAILED only)."""
    doc = managed_instance(platform.store, actor, connector_id)
    if not doc.get("isActive", True):
        raise ConflictError(f"{doc.get('name')} is disabled: enable it first")
    last = str(doc.get("lastRunId") or "")
    failed = len(list_failures(platform.store, connector_id, last)) if last else 0
    SyncEngine(platform.store, platform.config_store).request_sync(connector_id, full=True)
    payload = {
        "orgId": doc.get("orgId"),
        "connector": doc.get("type"),
        "connectorId": connector_id,
        "statusFilters": ["FAILED"],
    }
    with platform.store.transaction() as tx:
        tx.append_event(
            SYNC_EVENTS, sync_event_type(str(doc["type"]), SyncActions.REINDEX), payload, key=connector_id
        )
    return {
        "connectorId": connector_id,
        "mode": "full_sync",
        "failedItems": failed,
        "indexingRetried": "records whose indexing FAILED are queued again",
    }


# ---- state and history -------------------------------------------------------------------------


def connector_status(store: GraphStore, actor: Actor, connector_id: str) -> dict[str, Any]:
    """The state, the run in progress (with its counts so far, its elapsed time and the size of the
    last comparable run), the last finished run and the last sync times."""
    doc = visible_instance(store, actor, connector_id)
    run = get_run(store, str(doc["lastRunId"])) if doc.get("lastRunId") else None
    current = run if run is not None and run.get("outcome") == RunOutcome.RUNNING.value else None
    progress = None
    if current is not None:
        counts = _run_view(current)["counts"]
        progress = {
            "runId": str(current["_key"]),
            "full": bool(current.get("full")),
            "startedAt": current.get("startedAt"),
            "elapsedMs": max(0, now_ms() - int(current.get("startedAt") or now_ms())),
            "counts": counts,
            "processed": counts["new"] + counts["updated"] + counts["unchanged"],
            "expected": expected_size(store, connector_id, bool(current.get("full"))),
        }
    return {
        "connectorId": connector_id,
        "status": doc.get("status"),
        "statusReason": doc.get("statusReason"),
        "isActive": bool(doc.get("isActive", True)),
        "isAuthenticated": doc.get("isAuthenticated"),
        "syncRequested": bool(doc.get("syncRequested")),
        "pendingFullSync": bool(doc.get("pendingFullSync")),
        "throttledUntil": doc.get("throttledUntil"),
        "lastSyncStartedAt": doc.get("lastSyncStartedAt"),
        "lastSyncedAt": doc.get("lastSyncEndedAt"),
        "progress": progress,
        "lastRun": _run_view(run) if run is not None and current is None else None,
        "error": doc.get("statusReason") if doc.get("status") in ("FAILED", "NEEDS_REAUTH") else None,
    }


def connector_runs(
    store: GraphStore, actor: Actor, connector_id: str, limit: int = 20
) -> list[dict[str, Any]]:
    """The instance's runs, newest first, each with its counts and how many items failed."""
    if not 1 <= limit <= MAX_RUNS:
        raise InvalidArgumentError(f"limit must be 1 to {MAX_RUNS}, not {limit}")
    visible_instance(store, actor, connector_id)
    per_run: dict[str, int] = {}
    for failure in list_failures(store, connector_id):
        per_run[str(failure.get("runId"))] = per_run.get(str(failure.get("runId")), 0) + 1
    runs = list_runs(store, connector_id, limit=limit)
    return [_run_view(r, per_run.get(str(r["_key"]), 0)) for r in runs]


def run_failures(store: GraphStore, actor: Actor, connector_id: str, run_id: str) -> dict[str, Any]:
    """One run with its failed items (external id, name, reason, when). Only for those who manage
    the instance: the names may be those of items a member cannot read."""
    doc = managed_instance(store, actor, connector_id)
    run = get_run(store, run_id)
    if run is None or run.get("connectorId") != doc["_key"]:
        raise NotFoundError(f"{doc.get('name')} has no run {run_id!r}")
    items = [
        {
            "externalId": f.get("externalId"),
            "recordName": f.get("recordName"),
            "reason": f.get("reason"),
            "at": f.get("at"),
        }
        for f in list_failures(store, connector_id, run_id)
    ]
    return _run_view(run, len(items)) | {"failures": items}


async def status_events(
    store: GraphStore,
    actor: Actor,
    connector_id: str,
    *,
    poll_s: float = 1.0,
    limit: int | None = None,
    keepalive_s: float = 15.0,
    still_allowed: Callable[[], bool] = lambda: True,
) -> AsyncGenerator[str, None]:
    """Server-Sent Events (`event: status`, data = `connector_status`) at once and whenever the
    status changes, with a comment line every `keepalive_s` of quiet; ends after `limit` status
    events, when the instance is deleted (`event: deleted`), when `still_allowed()` turns false
    on a poll (the caller logged out, lost their token or was deactivated: `event: ended`), or when
    the consumer stops iterating (the client went away). Access is checked before the first
    event, and the instance's visibility again on every poll."""
    visible_instance(store, actor, connector_id)
    sent, last, quiet = 0, None, 0.0
    while limit is None or sent < limit:
        if sent and not still_allowed():
            yield 'event: ended\ndata: {"reason": "signed out"}\n\n'
            return
        try:
            status = connector_status(store, actor, connector_id)
        except InstanceNotFoundError:  # deleted while watched
            yield f"event: deleted\ndata: {json.dumps({'connectorId': connector_id})}\n\n"
            return
        comparable = {k: v for k, v in status.items() if k != "progress"} | {
            "progress": None if status["progress"] is None else status["progress"]["counts"]
        }
        if comparable != last:
            last, quiet = comparable, 0.0
            sent += 1
            yield f"event: status\ndata: {json.dumps(status)}\n\n"
            continue
        if quiet >= keepalive_s:
            quiet = 0.0
            yield ": keepalive\n\n"
        await asyncio.sleep(poll_s)
        quiet += poll_s


# ---- dynamic filter options ------------------------------------------------------------------------


async def filter_options(
    platform: Platform,
    actor: Actor,
    connector_id: str,
    filter_name: str,
    *,
    page: int = 1,
    limit: int = 20,
    search: str | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """One page of options of a dynamic filter field, fetched by the connector with its stored
    config (`{options: [{id, label}], page, limit, hasMore, cursor?}`)."""
    if page < 1 or not 1 <= limit <= 100:
        raise InvalidArgumentError("page must be at least 1 and limit 1 to 100")
    doc = managed_instance(platform.store, actor, connector_id)
    filters = (connector_metadata(str(doc["type"])).get("config") or {}).get("filters") or {}
    declared = [
        f
        for category in ("sync", "indexing")
        for f in ((filters.get(category) or {}).get("schema") or {}).get("fields") or []
        if f.get("name") == filter_name
    ]
    if not declared or declared[0].get("optionSourceType") != OptionSourceType.DYNAMIC.value:
        raise ConfigValueError(
            filter_name, f"{doc.get('type')} has no filter {filter_name!r} with dynamic options"
        )
    if str(doc.get("authType") or "").startswith("OAUTH") and not doc.get("isAuthenticated"):
        raise ConnectorNotReadyError(f"{doc.get('name')} is not authorised yet: authorise it to list options")
    discover_connectors()
    connector = await build_connector(platform.store, platform.config_store, doc)
    try:
        if not await connector.init():
            raise ConnectorNotReadyError(f"{doc.get('name')} could not start with its config")
        response = await connector.get_filter_options(
            filter_name, page=page, limit=limit, search=search, cursor=cursor
        )
    except ConnectorNotReadyError:
        raise
    except Exception as exc:  # the connector's own failure (source down, not implemented): say why
        raise ConnectorNotReadyError(
            f"{doc.get('name')}: the options could not be listed: {describe(exc)}"
        ) from None
    finally:
        await maybe_await(connector.cleanup())
    if not response.success:
        raise ConnectorNotReadyError(
            f"{doc.get('name')}: {response.message or 'the options could not be listed'}"
        )
    return response.to_dict()


def can_manage(store: GraphStore, actor: Actor, connector_id: str) -> bool:
    """Whether `actor` may change the instance (False when they see it read-only)."""
    return may_manage(actor, visible_instance(store, actor, connector_id))
