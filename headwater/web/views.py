"""What pages show about connector instances, shaped for templates: state as a badge, the last
run, indexing progress, the type's icon. Visibility is `connector_access`'s (the API's rules).

Synchronous store reads: pages call these through `ApiState.call` (a worker thread).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from headwater.api.deps import Caller
from headwater.api.state import ApiState
from headwater.connectors.core.instances import get_run
from headwater.models.timeutil import now_ms
from headwater.services import connector_forms
from headwater.services.connector_access import may_manage, visible_instances
from headwater.services.connector_runs import connector_status

RUNNING_STATES = frozenset({"SYNCING", "FULL_SYNCING", "THROTTLED"})
BADGES = {
    "IDLE": ("ok", "Idle"),
    "SYNCING": ("running", "Syncing"),
    "FULL_SYNCING": ("running", "Full resync"),
    "THROTTLED": ("warn", "Throttled — resumes by itself"),
    "NEEDS_REAUTH": ("bad", "Needs sign-in again"),
    "FAILED": ("bad", "Failed"),
}
WAIT_FOR_WORKER_MS = 120_000  # after this, a request no worker took is not shown as pending
# indexing states that are final: the record is searchable, or will never be (with a reason)
FINAL_INDEXING = frozenset({"COMPLETED", "FAILED", "AUTO_INDEX_OFF", "FILE_TYPE_NOT_SUPPORTED", "EMPTY"})


def icon_url(connector_type: str | None) -> str:
    """The type's icon, served by the connectors API."""
    return connector_forms.icon_url(str(connector_type or "unknown"))


def indexing_counts(state: ApiState, connector_id: str) -> dict[str, int]:
    """How many of the instance's records are in each indexing state (placeholders left out)."""
    with state.store.read() as tx:
        docs = tx.find_nodes("records", connector_id=connector_id)
    counts = Counter(str(d.get("indexingStatus") or "QUEUED") for d in docs if not d.get("isPlaceholder"))
    return dict(counts)


def history_key(run: dict[str, Any] | None) -> str:
    """What the sync history shows of the newest run, as a token: it changes when a run starts
    and when it ends, so `app.js` re-fetches the history when the status's token differs from
    the one the history was rendered with. Works on stored runs and on their API views."""
    if run is None:
        return ""
    return f"{run.get('_key') or run.get('id')}:{run.get('outcome') or ''}"


def _percent(progress: dict[str, Any] | None) -> int | None:
    """How far a run is, when the last comparable run says how big it will be."""
    if not progress or not progress.get("expected"):
        return None
    done = int(progress.get("processed") or 0) + int((progress.get("counts") or {}).get("failed") or 0)
    return min(99, int(done * 100 / int(progress["expected"])))


def connector_summary(
    state: ApiState, caller: Caller, doc: dict[str, Any], *, requested_at: int | None = None
) -> dict[str, Any]:
    """The instance as templates show it. `requested_at` (epoch ms) is when the viewer asked for a
    sync: until a worker starts a run after it, the sync counts as waiting (a request is an event
    for the workers, invisible on the instance until one picks it up)."""
    status = str(doc.get("status") or "IDLE")
    kind, label = BADGES.get(status, ("", status.title()))
    if not doc.get("isActive", True):
        kind, label = "", "Disabled"
    run = get_run(state.store, str(doc["lastRunId"])) if doc.get("lastRunId") else None
    live = connector_status(state.store, caller, str(doc["_key"]))
    progress = live.get("progress")
    counts = indexing_counts(state, str(doc["_key"]))
    total = sum(counts.values())
    final = sum(n for s, n in counts.items() if s in FINAL_INDEXING)
    waiting = (
        requested_at is not None
        and int(doc.get("lastSyncStartedAt") or 0) < requested_at
        and 0 <= now_ms() - requested_at < WAIT_FOR_WORKER_MS
        and progress is None
    )
    syncing = status in RUNNING_STATES or bool(doc.get("syncRequested")) or progress is not None or waiting
    return {
        "id": str(doc["_key"]),
        "requestedAt": requested_at if waiting else None,
        "name": doc.get("name"),
        "type": doc.get("type"),
        "scope": doc.get("scope") or "personal",
        "isActive": bool(doc.get("isActive", True)),
        "status": status,
        "statusReason": doc.get("statusReason"),
        "badge": kind,
        "label": label,
        "syncing": syncing,
        "indexing": total > final,
        "busy": syncing or total > final,
        "records": total,
        "indexed": final,
        "indexedPercent": int(final * 100 / total) if total else 0,
        "indexingCounts": counts,
        "lastRun": run if progress is None else None,
        "historyKey": history_key(run),
        "progress": progress,
        "progressPercent": _percent(progress),
        "icon": icon_url(doc.get("type")),
        "canManage": may_manage(caller, doc),
    }


def visible_connectors(state: ApiState, caller: Caller) -> list[dict[str, Any]]:
    """The instances the caller may see, as templates show them, by name."""
    return [connector_summary(state, caller, doc) for doc in visible_instances(state.store, caller)]
