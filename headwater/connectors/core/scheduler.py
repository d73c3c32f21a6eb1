"""When an instance is due for a sync: what the engine's scheduler loop asks of every instance.

An active instance is due when
  * a sync was requested (`syncRequested`: "sync now", a `.start` / `.resync` event), or
  * it was syncing (SYNCING / FULL_SYNCING) but no live lease covers it: its worker died or shut
    down mid-sync, and the run is resumed from its committed sync points, or
  * it is THROTTLED and `throttledUntil` has passed (a run that gave up waiting), or
  * it has an interval (`intervalMinutes`, fractions allowed) and the last sync started at least
    that long ago (or never did).
NEEDS_REAUTH instances are not synced on schedule: only an explicit request runs them (after the
user reconnected). A live lease makes nothing due: someone is syncing it.
"""

from __future__ import annotations

from typing import Any

from headwater.connectors.core.instances import InstanceStatus

SYNCING_STATES = frozenset({InstanceStatus.SYNCING.value, InstanceStatus.FULL_SYNCING.value})


def due_reason(instance: dict[str, Any], now: int, lease_live: bool) -> str | None:
    """Why `instance` should be synced now, or None when it should not."""
    if lease_live or not instance.get("isActive", True):
        return None
    status = instance.get("status") or InstanceStatus.IDLE.value
    if instance.get("syncRequested"):
        return "requested"
    if status in SYNCING_STATES:
        return "resume"
    if status == InstanceStatus.NEEDS_REAUTH.value:
        return None
    if status == InstanceStatus.THROTTLED.value:
        until = instance.get("throttledUntil")
        return "throttle-over" if until is None or int(until) <= now else None
    interval = instance.get("intervalMinutes")
    if interval is None or float(interval) <= 0:
        return None
    last = instance.get("lastSyncStartedAt")
    if last is None or int(last) + float(interval) * 60_000 <= now:
        return "scheduled"
    return None
