"""Running syncs from a command (with live progress), and what the instances did: state, last run,
run history with the failure ledger.

The engine runs a connector it builds itself, so progress is read from the side: the engine is
given a factory that hands each connector through and remembers its processor, and a poller reads
the processor's live counts (`SyncStats`) while the run goes on. No engine change is needed, and
the counts are the very ones the run document gets at the end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.connectors.core.connector import BaseConnector
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import (
    RunOutcome,
    get_instance,
    get_run,
    list_failures,
    list_instances,
    list_runs,
)
from headwater.settings import Settings
from headwater.store.base import GraphStore

from .catalog import discover_connectors
from .connectors import instance_view
from .errors import InstanceNotFoundError, InvalidArgumentError
from .local_folders import forbid_headwater_data
from .platform import find_instance, open_platform, open_store_only

log = logging.getLogger("headwater.sync")


@dataclass(frozen=True)
class SyncProgress:
    """Where one run is: counts so far (committed, except `discovered`, counted when handed in)."""

    connector_id: str
    name: str
    elapsed_s: float
    discovered: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0
    failed: int = 0
    expected: int | None = None  # the last comparable run's size, for an ETA; None: unknown
    status: str | None = None  # the instance state (SYNCING, FULL_SYNCING, THROTTLED, ...)
    done: bool = False

    @property
    def processed(self) -> int:
        return self.new + self.updated + self.unchanged

    @property
    def rate(self) -> float:
        """Records committed per second."""
        return self.processed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left if this run is as big as the last comparable one; None when unknown."""
        if self.expected is None or self.rate <= 0 or self.processed + self.failed >= self.expected:
            return None
        return (self.expected - self.processed - self.failed) / self.rate


class ObservingFactory:
    """A connector factory for the engine that remembers each connector's processor by instance."""

    def __init__(self, factory: Any = ConnectorFactory) -> None:
        self.factory = factory
        self.processors: dict[str, Any] = {}

    async def create_connector(self, name: str, *args: Any, **kwargs: Any) -> BaseConnector:
        connector: BaseConnector = await self.factory.create_connector(name, *args, **kwargs)
        self.processors[str(kwargs.get("connector_id") or connector.connector_id)] = (
            connector.data_entities_processor
        )
        return connector


def expected_size(store: GraphStore, connector_id: str, full: bool) -> int | None:
    """How many items the last completed run of the same kind discovered (the ETA's yardstick)."""
    for run in list_runs(store, connector_id, limit=20):
        if run.get("outcome") == RunOutcome.COMPLETED.value and bool(run.get("full")) == full:
            return int(run.get("discovered") or 0) or None
    return None


def _progress(
    doc: dict[str, Any], processor: Any, started: float, expected: int | None, status: str | None, done: bool
) -> SyncProgress:
    stats = getattr(processor, "stats", None)
    counts = stats.as_dict() if stats is not None and hasattr(stats, "as_dict") else {}
    discovered = int(counts.get("discovered", 0))
    return SyncProgress(
        connector_id=str(doc["_key"]),
        name=str(doc.get("name")),
        elapsed_s=time.monotonic() - started,
        discovered=discovered,
        new=int(counts.get("new", 0)),
        updated=int(counts.get("updated", 0)),
        unchanged=int(counts.get("unchanged", 0)),
        deleted=int(counts.get("deleted", 0)),
        skipped=int(counts.get("skipped", 0)),
        failed=int(counts.get("failed", 0)),
        expected=expected if expected is None or expected >= discovered else None,
        status=status,
        done=done,
    )


async def run_syncs(
    settings: Settings,
    names: Sequence[str] | None = None,
    *,
    full: bool = False,
    on_progress: Callable[[SyncProgress], None] | None = None,
    poll_s: float = 0.2,
) -> list[dict[str, Any]]:
    """Sync the named instances (None: every active one), one after the other, in this process;
    returns their run documents with `name` and `type` added (`outcome: skipped` with a `reason`
    for one that could not start). `on_progress` is called every `poll_s` seconds and at the end.
    Interrupting (Ctrl-C) cancels the run in progress: what it committed stays, and the next run
    continues from its sync points."""
    if poll_s <= 0:
        raise InvalidArgumentError("poll_s must be positive")
    discover_connectors()
    forbid_headwater_data(settings)  # Local FS syncs here never read Headwater's own data
    async with open_platform(settings) as platform:
        store = platform.store
        if names:
            targets = [find_instance(store, n) for n in dict.fromkeys(names)]
        else:
            targets = sorted(list_instances(store, active_only=True), key=lambda d: str(d.get("name")))
            if not targets:
                raise InstanceNotFoundError(
                    "no active connector instances to sync — add one with `headwater connectors add`"
                )
        factory = ObservingFactory()
        engine = SyncEngine(store, platform.config_store, factory, logger=log)
        results = []
        for doc in targets:
            connector_id = str(doc["_key"])
            expected = expected_size(store, connector_id, full)
            started = time.monotonic()
            task = asyncio.create_task(engine.run_sync(connector_id, full=full))
            try:
                while True:
                    finished, _ = await asyncio.wait({task}, timeout=poll_s)
                    if on_progress is not None:
                        current = get_instance(store, connector_id) or doc
                        on_progress(
                            _progress(
                                doc,
                                factory.processors.get(connector_id),
                                started,
                                expected,
                                current.get("status"),
                                bool(finished),
                            )
                        )
                    if finished:
                        break
            except asyncio.CancelledError:
                engine.cancel(connector_id)
                await asyncio.gather(task, return_exceptions=True)
                raise
            results.append(task.result() | {"name": doc.get("name"), "type": doc.get("type")})
    return results


def _last_run(store: GraphStore, doc: dict[str, Any]) -> dict[str, Any] | None:
    run_id = doc.get("lastRunId")
    return get_run(store, str(run_id)) if run_id else None


def instances_status(settings: Settings) -> list[dict[str, Any]]:
    """Every connector instance with its state and its last run, by name."""
    store = open_store_only(settings)
    try:
        docs = sorted(list_instances(store), key=lambda d: str(d.get("name")).lower())
        return [instance_view(d) | {"lastRun": _last_run(store, d)} for d in docs]
    finally:
        store.close()


def run_history(settings: Settings, name: str, limit: int = 20) -> dict[str, Any]:
    """One instance, its runs (newest first, each with its failed items) and its state."""
    if limit < 1:
        raise InvalidArgumentError(f"limit must be at least 1, not {limit}")
    store = open_store_only(settings)
    try:
        doc = find_instance(store, name)
        runs = list_runs(store, str(doc["_key"]), limit=limit)
        failures: dict[str, list[dict[str, Any]]] = {}
        for failure in list_failures(store, str(doc["_key"])):
            failures.setdefault(str(failure.get("runId")), []).append(
                {
                    "externalId": failure.get("externalId"),
                    "recordName": failure.get("recordName"),
                    "reason": failure.get("reason"),
                    "at": failure.get("at"),
                }
            )
        return instance_view(doc) | {
            "runs": [run | {"failures": failures.get(str(run["_key"]), [])} for run in runs]
        }
    finally:
        store.close()
