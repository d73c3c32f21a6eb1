"""The sync engine: runs connector syncs, one per instance at a time across all workers.

    engine = SyncEngine(store, config_store, ConnectorFactory)
    run = await engine.run_sync(connector_id)            # one run, now; returns the run document
    engine.request_sync(connector_id)                    # "sync now": a `{type}.resync` event
    await engine.serve(stop)                             # consume sync-events + scheduled syncs

A run (`run_sync`):
  1. in one store transaction under the instance's lock: take the lease (`lease.py`), set the state
     SYNCING (FULL_SYNCING when a full sync is asked or pending), write the run (`running`);
  2. build a `DataStoreProvider` for this instance, the connector (with its processor) through the
     factory, and `init()` it: False or `ConnectorInitError` -> FAILED with the reason;
  3. full: delete the instance's sync points and clear `pendingFullSync`, then `run_sync()`;
     otherwise `run_incremental_sync()`. A heartbeat thread renews the lease every lease_s / 3;
  4. `SourceThrottledError` -> what was buffered is committed, the state is THROTTLED until
     now + Retry-After, the run sleeps (cancellably) and resumes with `run_incremental_sync()` from
     the committed sync points; after `max_throttle_resumes` it ends `throttled` (the scheduler
     picks it up again once `throttledUntil` has passed). `SourceAuthError` -> NEEDS_REAUTH;
     anything else -> FAILED with a redacted reason. One bad item is the processor's failure
     ledger's business (`processor.record_failure`) and never reaches the engine;
  5. `processor.flush()`, then in one transaction: the run's end, counts (`processor.stats`),
     failures (`processor.failures`) into the ledger, state IDLE, lease released; `cleanup()`.
Cancelling (`cancel`) ends the run `cancelled` with state IDLE: buffered writes are dropped,
committed pages stay (with their sync points, so the next run continues after them). A worker that
shuts down (`serve` stopping) ends its runs `interrupted` and leaves the state SYNCING with the
lease released, so any worker's scheduler resumes them at once.

The heartbeat is a thread, not an asyncio task: a connector that never yields to the event loop
(a synchronous client, a long CPU-bound mapping) must not let its lease expire. A renewal that
finds the lease taken over cancels the run (`lease_lost`); it then writes nothing to the instance.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from headwater.config.base import ConfigStore
from headwater.config.configuration_service import ConfigurationService
from headwater.connectors.core import lease
from headwater.connectors.core.connector import BaseConnector, ConnectorInitError, maybe_await
from headwater.connectors.core.data_store import DataStoreProvider
from headwater.connectors.core.errors import (
    SourceAuthError,
    SourceThrottledError,
    describe,
    find_cause,
    redact,
)
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import (
    APPS,
    SYNC_RUNS,
    InstanceStatus,
    RunOutcome,
    counts_of,
    delete_history,
    failure_docs,
    get_instance,
    instance_lock,
    list_instances,
    new_run_doc,
    set_status,
    trim_history,
    update_instance,
    update_instance_tx,
)
from headwater.connectors.core.scheduler import due_reason
from headwater.errors import NotFoundError
from headwater.events.base import (
    RECORD_EVENTS,
    SYNC_CONSUMER_GROUP,
    SYNC_EVENTS,
    Event,
    SyncActions,
    parse_sync_event_type,
    sync_event_type,
)
from headwater.events.store_log import StoreEventLog
from headwater.models.constants import EventTypes
from headwater.models.timeutil import now_ms
from headwater.store.base import GraphStore

SKIPPED = "skipped"
CONNECTOR_OWNED_NODES = ("recordGroups", "groups", "roles", "syncPoints")
REINDEX_BATCH = 100


class _InitFailed(Exception):
    """init() returned False or raised ConnectorInitError: the run ends FAILED with this reason."""


class _Heartbeat(threading.Thread):
    """Renews a run's lease every `interval_s`; cancels the run's task if the lease was taken over."""

    def __init__(
        self,
        engine: SyncEngine,
        connector_id: str,
        run_id: str,
        loop: asyncio.AbstractEventLoop,
        task: asyncio.Task[Any],
    ) -> None:
        super().__init__(name=f"sync-heartbeat-{connector_id}", daemon=True)
        self.engine = engine
        self.connector_id = connector_id
        self.run_id = run_id
        self.loop = loop
        self.task = task
        self.lost = False
        self._halt = threading.Event()

    def run(self) -> None:
        engine = self.engine
        while not self._halt.wait(engine.heartbeat_s):
            try:
                held = lease.renew(
                    engine.store, self.connector_id, engine.worker_id, self.run_id, engine.lease_s
                )
            except Exception as exc:  # the store is briefly unreachable: try again next beat
                engine.logger.warning("sync %s: lease renewal failed: %s", self.connector_id, describe(exc))
                continue
            if not held:
                self.lost = True
                engine.logger.warning(
                    "sync %s: lease lost to another worker; stopping run %s", self.connector_id, self.run_id
                )
                self.loop.call_soon_threadsafe(self.task.cancel)
                return

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=max(5.0, self.engine.lease_s))


class SyncEngine:
    """Runs syncs of connector instances (`apps` nodes, see `instances.py`) in this worker."""

    def __init__(
        self,
        store: GraphStore,
        config_store: ConfigStore,
        factory: Any = ConnectorFactory,
        *,
        worker_id: str | None = None,
        lease_s: float = 30.0,
        heartbeat_s: float | None = None,
        logger: logging.Logger | None = None,
        max_throttle_resumes: int = 10,
        max_throttle_wait_s: float = 900.0,
        history_limit: int = 100,
        scheduler_interval_s: float = 1.0,
    ) -> None:
        if lease_s <= 0:
            raise ValueError("lease_s must be positive")
        self.store = store
        self.config_store = config_store
        self.factory = factory
        self.worker_id = worker_id or lease.default_worker_id()
        self.lease_s = lease_s
        self.heartbeat_s = heartbeat_s if heartbeat_s is not None else lease_s / 3
        self.logger = logger or logging.getLogger("headwater.sync")
        self.max_throttle_resumes = max_throttle_resumes
        self.max_throttle_wait_s = max_throttle_wait_s
        self.history_limit = history_limit
        self.scheduler_interval_s = scheduler_interval_s
        self._tasks: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self._results: dict[str, dict[str, Any]] = {}
        self._interrupting: set[str] = set()
        self._background: set[asyncio.Task[Any]] = set()

    # ---- one run -------------------------------------------------------------------------------

    def is_running(self, connector_id: str) -> bool:
        """Whether this worker is running a sync of the instance now."""
        return connector_id in self._tasks

    async def run_sync(
        self, connector_id: str, *, full: bool = False, only_if_due: bool = False
    ) -> dict[str, Any]:
        """Run one sync of the instance and return its run document; or, when it cannot start,
        `{"outcome": "skipped", "reason": ...}` (already running here or on another live worker,
        inactive, or - with `only_if_due` - no longer due). NotFoundError for an unknown instance."""
        if connector_id in self._tasks:
            return _skipped(connector_id, "already running")
        run_id = str(uuid.uuid4())
        started = self._start(connector_id, run_id, full, only_if_due)
        if isinstance(started, str):
            return _skipped(connector_id, started)
        instance, effective_full = started
        task = asyncio.create_task(
            self._execute(instance, run_id, effective_full), name=f"sync:{connector_id}"
        )
        self._tasks[connector_id] = task
        try:
            return await task
        except asyncio.CancelledError:
            me = asyncio.current_task()
            result = self._results.get(run_id)
            if result is not None and (me is None or me.cancelling() == 0):
                return result  # the run was cancelled (cancel(), lease lost), not our caller
            raise
        finally:
            if self._tasks.get(connector_id) is task:
                del self._tasks[connector_id]
            self._results.pop(run_id, None)

    def cancel(self, connector_id: str) -> bool:
        """Cancel this worker's running sync of the instance; False when none is running here."""
        task = self._tasks.get(connector_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def _start(
        self, connector_id: str, run_id: str, full: bool, only_if_due: bool
    ) -> tuple[dict[str, Any], bool] | str:
        now = now_ms()
        with self.store.transaction() as tx:
            tx.lock(instance_lock(connector_id))
            instance = tx.get_node(APPS, connector_id)
            if instance is None:
                raise NotFoundError(f"no connector instance {connector_id!r}")
            if not instance.get("isActive", True):
                return "inactive"
            held = lease.read_lease(tx, connector_id)
            if held is not None and held.get("owner") != self.worker_id and lease.is_live(held, now):
                return f"already running on {held.get('owner')}"
            if only_if_due and due_reason(instance, now, lease_live=False) is None:
                return "not due"
            lease.acquire_tx(tx, connector_id, self.worker_id, run_id, self.lease_s)
            previous = (
                tx.get_node(SYNC_RUNS, str(instance.get("lastRunId") or ""))
                if instance.get("lastRunId")
                else None
            )
            if previous is not None and previous.get("outcome") == RunOutcome.RUNNING.value:
                # its worker died (or lost the lease and never wrote its end): close it
                previous.update({"endedAt": now, "outcome": RunOutcome.ABANDONED.value})
                tx.upsert_nodes(SYNC_RUNS, [previous])
            effective_full = full or bool(instance.get("pendingFullSync"))
            status = InstanceStatus.FULL_SYNCING if effective_full else InstanceStatus.SYNCING
            instance = set_status(
                tx,
                connector_id,
                status,
                None,
                lastSyncStartedAt=now,
                lastRunId=run_id,
                syncRequested=False,
                pendingFullSync=effective_full,
            )
            tx.upsert_nodes(
                SYNC_RUNS,
                [
                    new_run_doc(
                        connector_id,
                        run_id,
                        org_id=str(instance.get("orgId") or ""),
                        worker_id=self.worker_id,
                        full=effective_full,
                        started_at=now,
                    )
                ],
            )
        self.logger.info(
            "sync %s: run %s started (%s)", connector_id, run_id, "full" if effective_full else "incremental"
        )
        return instance, effective_full

    async def _execute(self, instance: dict[str, Any], run_id: str, full: bool) -> dict[str, Any]:
        connector_id = str(instance["_key"])
        me = asyncio.current_task()
        assert me is not None
        heartbeat = _Heartbeat(self, connector_id, run_id, asyncio.get_running_loop(), me)
        heartbeat.start()
        connector: BaseConnector | None = None
        processor: Any = None
        outcome = RunOutcome.COMPLETED
        status: InstanceStatus | None = InstanceStatus.IDLE
        reason: str | None = None
        throttled_until: int | None = None
        resumes = 0
        cancelled: asyncio.CancelledError | None = None
        syncing = InstanceStatus.FULL_SYNCING if full else InstanceStatus.SYNCING
        try:
            connector = await self._build(instance)
            processor = connector.data_entities_processor
            reset = getattr(processor, "reset_stats", None)
            if callable(reset):
                reset()
            await self._init(connector)
            if full:
                await self._begin_full(connector_id, run_id, processor)
            step: Callable[[], Awaitable[None]] = (
                connector.run_sync if full else connector.run_incremental_sync
            )
            while True:
                try:
                    await step()
                    break
                except Exception as exc:
                    throttle = find_cause(exc, SourceThrottledError)
                    if not isinstance(throttle, SourceThrottledError):
                        raise
                    await _flush(processor)  # what was read before the throttle stays
                    resumes += 1
                    wait_s = min(throttle.retry_after_s, self.max_throttle_wait_s)
                    throttled_until = now_ms() + int(wait_s * 1000)
                    reason = f"throttled by the source; resuming after {wait_s:g} s"
                    if resumes > self.max_throttle_resumes:
                        outcome, status = RunOutcome.THROTTLED, InstanceStatus.THROTTLED
                        reason = f"still throttled after {self.max_throttle_resumes} resumes; retrying later"
                        break
                    self._set_state(
                        connector_id,
                        run_id,
                        InstanceStatus.THROTTLED,
                        reason,
                        throttled_until=throttled_until,
                    )
                    self.logger.info("sync %s: %s", connector_id, reason)
                    await asyncio.sleep(wait_s)
                    self._set_state(connector_id, run_id, syncing, None)
                    reason, throttled_until = None, None
                    step = connector.run_incremental_sync
            if outcome is RunOutcome.COMPLETED:
                await _flush(processor)
        except asyncio.CancelledError as exc:
            cancelled = exc
            if heartbeat.lost:
                outcome, status = RunOutcome.LEASE_LOST, None
            elif connector_id in self._interrupting:
                outcome, status = RunOutcome.INTERRUPTED, None
                reason = "the worker shut down; the sync resumes from its last checkpoint"
            else:
                outcome, status, reason = RunOutcome.CANCELLED, InstanceStatus.IDLE, "cancelled"
            discard = getattr(processor, "discard", None)
            if callable(discard):
                discard()  # buffered, uncommitted writes are dropped (committed pages stay)
        except _InitFailed as exc:
            outcome, status, reason = RunOutcome.FAILED, InstanceStatus.FAILED, redact(str(exc))
        except Exception as exc:
            auth = find_cause(exc, SourceAuthError)
            if auth is not None:
                outcome, status, reason = RunOutcome.NEEDS_REAUTH, InstanceStatus.NEEDS_REAUTH, describe(auth)
            else:
                outcome, status, reason = RunOutcome.FAILED, InstanceStatus.FAILED, describe(exc)
            self.logger.warning("sync %s: run %s %s: %s", connector_id, run_id, outcome.value, reason)
            try:  # pages read before the failure are kept (without a sync point that is safe)
                await _flush(processor)
            except Exception as flush_exc:
                self.logger.warning("sync %s: final flush failed: %s", connector_id, describe(flush_exc))
        finally:
            heartbeat.stop()
            run = self._finish(
                instance,
                run_id,
                outcome=outcome,
                status=status,
                reason=reason,
                throttled_until=throttled_until,
                processor=processor,
                resumes=resumes,
                lease_lost=heartbeat.lost,
            )
            if connector is not None:
                try:
                    await maybe_await(connector.cleanup())
                except Exception as exc:
                    self.logger.warning("sync %s: cleanup failed: %s", connector_id, describe(exc))
        self.logger.info("sync %s: run %s %s", connector_id, run_id, outcome.value)
        if cancelled is not None:
            self._results[run_id] = run
            raise cancelled
        return run

    async def _build(self, instance: dict[str, Any]) -> BaseConnector:
        return await build_connector(self.store, self.config_store, instance, self.factory, self.logger)

    async def _init(self, connector: BaseConnector) -> None:
        try:
            ok = await connector.init()
        except ConnectorInitError as exc:
            raise _InitFailed(str(exc) or "the connector could not be initialised") from exc
        if not ok:
            raise _InitFailed("the connector could not be initialised (init() returned False; see its log)")

    async def _begin_full(self, connector_id: str, run_id: str, processor: Any) -> None:
        """A full sync starts from nothing: the instance's sync points go, `pendingFullSync` clears."""
        await _flush(processor)
        with self.store.transaction() as tx:
            tx.lock(instance_lock(connector_id))
            if not lease.holds_tx(tx, connector_id, self.worker_id, run_id):
                raise asyncio.CancelledError()  # taken over before we began: stop quietly
            points = tx.find_nodes("syncPoints", connector_id=connector_id)
            tx.delete_nodes("syncPoints", [d["_key"] for d in points])
            update_instance_tx(tx, connector_id, {"pendingFullSync": False})

    def _set_state(
        self,
        connector_id: str,
        run_id: str,
        status: InstanceStatus,
        reason: str | None,
        *,
        throttled_until: int | None = None,
    ) -> None:
        with self.store.transaction() as tx:
            tx.lock(instance_lock(connector_id))
            if lease.holds_tx(tx, connector_id, self.worker_id, run_id) and tx.get_node(APPS, connector_id):
                set_status(tx, connector_id, status, reason, throttled_until=throttled_until)

    def _finish(
        self,
        instance: dict[str, Any],
        run_id: str,
        *,
        outcome: RunOutcome,
        status: InstanceStatus | None,
        reason: str | None,
        throttled_until: int | None,
        processor: Any,
        resumes: int,
        lease_lost: bool,
    ) -> dict[str, Any]:
        connector_id = str(instance["_key"])
        org_id = str(instance.get("orgId") or "")
        counts = counts_of(getattr(processor, "stats", None))
        failures = list(getattr(processor, "failures", None) or [])
        now = now_ms()
        with self.store.transaction() as tx:
            tx.lock(instance_lock(connector_id))
            run = tx.get_node(SYNC_RUNS, run_id) or new_run_doc(
                connector_id, run_id, org_id=org_id, worker_id=self.worker_id, full=False, started_at=now
            )
            run.update(counts)
            run.update(
                {
                    "endedAt": now,
                    "outcome": outcome.value,
                    "error": reason if outcome is not RunOutcome.COMPLETED else None,
                    "throttleResumes": resumes,
                }
            )
            if tx.get_node(APPS, connector_id) is None:
                return run  # the instance was deleted meanwhile: nothing to record it under
            tx.upsert_nodes(SYNC_RUNS, [run])
            tx.upsert_nodes("syncFailures", failure_docs(connector_id, run_id, org_id, failures))
            if not lease_lost and lease.holds_tx(tx, connector_id, self.worker_id, run_id):
                if status is not None:
                    set_status(
                        tx, connector_id, status, reason, throttled_until=throttled_until, lastSyncEndedAt=now
                    )
                else:
                    update_instance_tx(tx, connector_id, {"lastSyncEndedAt": now})
                lease.release_tx(tx, connector_id, self.worker_id, run_id)
            trim_history(tx, connector_id, self.history_limit)
        return run

    # ---- events ----------------------------------------------------------------------------------

    async def handle_event(self, event: Event | dict[str, Any]) -> dict[str, Any] | None:
        """Act on one `sync-events` event (an `Event` or an envelope `{eventType, payload}`) and wait
        for the result: `.start` / `.resync` run a sync (full when `fullSync` or a pending full sync),
        `.init` checks the connector can start, `.reindex` re-publishes records, `.delete` removes
        the instance and everything it synced."""
        event_type, payload = _unpack(event)
        _, action = parse_sync_event_type(event_type)
        connector_id = str(payload.get("connectorId") or "")
        if not connector_id:
            self.logger.warning("sync event %s without a connectorId ignored", event_type)
            return None
        if action in (SyncActions.START, SyncActions.RESYNC):
            if not self.mark_requested(connector_id, bool(payload.get("fullSync"))):
                return _skipped(connector_id, "no such instance")
            return await self.run_sync(connector_id)
        if action is SyncActions.INIT:
            return await self.check_init(connector_id)
        if action is SyncActions.REINDEX:
            return await self.reindex(connector_id, payload)
        return await self.delete_instance(connector_id)

    def mark_requested(self, connector_id: str, full: bool = False) -> bool:
        """Record a sync request on the instance (durably: the scheduler runs it even if this worker
        dies now); False when there is no such instance."""
        fields: dict[str, Any] = {"syncRequested": True}
        if full:
            fields["pendingFullSync"] = True
        try:
            update_instance(self.store, connector_id, **fields)
        except NotFoundError:
            self.logger.warning("sync request for unknown connector instance %s ignored", connector_id)
            return False
        return True

    def request_sync(self, connector_id: str, full: bool = False) -> None:
        """ "Sync now": append a `{type}.resync` event for the instance to `sync-events`."""
        instance = get_instance(self.store, connector_id)
        if instance is None:
            raise NotFoundError(f"no connector instance {connector_id!r}")
        payload = {
            "orgId": instance.get("orgId"),
            "connector": instance.get("type"),
            "connectorId": connector_id,
            "scope": instance.get("scope"),
            "fullSync": full,
        }
        with self.store.transaction() as tx:
            tx.append_event(
                SYNC_EVENTS,
                sync_event_type(str(instance["type"]), SyncActions.RESYNC),
                payload,
                key=connector_id,
            )

    async def check_init(self, connector_id: str) -> dict[str, Any]:
        """Build and `init()` the connector (after it was configured or re-authorised): on success a
        FAILED / NEEDS_REAUTH instance that is not syncing goes back to IDLE; on failure it shows why."""
        instance = get_instance(self.store, connector_id)
        if instance is None:
            raise NotFoundError(f"no connector instance {connector_id!r}")
        connector: BaseConnector | None = None
        status, reason = InstanceStatus.IDLE, None
        try:
            connector = await self._build(instance)
            await self._init(connector)
        except _InitFailed as exc:
            status, reason = InstanceStatus.FAILED, redact(str(exc))
        except Exception as exc:
            auth = find_cause(exc, SourceAuthError)
            status = InstanceStatus.NEEDS_REAUTH if auth is not None else InstanceStatus.FAILED
            reason = describe(auth or exc)
        finally:
            if connector is not None:
                try:
                    await maybe_await(connector.cleanup())
                except Exception as exc:
                    self.logger.warning("connector %s: cleanup failed: %s", connector_id, describe(exc))
        with self.store.transaction() as tx:
            tx.lock(instance_lock(connector_id))
            current = tx.get_node(APPS, connector_id)
            if current is not None and not lease.is_live(lease.read_lease(tx, connector_id)):
                now_status = current.get("status")
                if status is not InstanceStatus.IDLE or now_status in (
                    InstanceStatus.FAILED.value,
                    InstanceStatus.NEEDS_REAUTH.value,
                ):
                    set_status(tx, connector_id, status, reason)
        return {"connectorId": connector_id, "ok": status is InstanceStatus.IDLE, "reason": reason}

    async def reindex(self, connector_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Re-publish the instance's records for indexing: one record (`recordId`), or those whose
        indexing status is in `statusFilters` (default FAILED), through `connector.reindex_records`."""
        instance = get_instance(self.store, connector_id)
        if instance is None:
            raise NotFoundError(f"no connector instance {connector_id!r}")
        record_id = payload.get("recordId")
        filters = set(payload.get("statusFilters") or ["FAILED"])
        with self.store.read() as tx:
            docs = tx.find_nodes("records", connector_id=connector_id)
        keys = [
            str(d["_key"])
            for d in docs
            if (d["_key"] == record_id if record_id else d.get("indexingStatus") in filters)
            and not d.get("isPlaceholder")
        ]
        connector = await self._build(instance)
        try:
            await self._init(connector)
            for start in range(0, len(keys), REINDEX_BATCH):
                with self.store.read() as tx:
                    records = tx.get_records(keys[start : start + REINDEX_BATCH])
                await connector.reindex_records(list(records.values()))
            await _flush(connector.data_entities_processor)
        finally:
            await maybe_await(connector.cleanup())
        return {"connectorId": connector_id, "records": len(keys)}

    async def delete_instance(self, connector_id: str) -> dict[str, Any] | None:
        """Delete the instance and everything it synced (records with their type documents and edges,
        record groups, groups, roles, sync points, run history, its config), and publish
        `bulkDeleteRecords` in the same transaction. Platform users are kept."""
        task = self._tasks.get(connector_id)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        existing = get_instance(self.store, connector_id)
        if existing is not None:
            hook_args = (self.store, self.config_store, existing, INSTANCE_REMOVED, self.factory, self.logger)
            await call_instance_hook(*hook_args)
        with self.store.transaction() as tx:
            tx.lock(instance_lock(connector_id))
            instance = tx.get_node(APPS, connector_id)
            if instance is None:
                return None
            records = tx.find_nodes("records", connector_id=connector_id)
            tx.delete_records([str(d["_key"]) for d in records])
            for collection in CONNECTOR_OWNED_NODES:
                tx.delete_nodes(
                    collection, [str(d["_key"]) for d in tx.find_nodes(collection, connector_id=connector_id)]
                )
            delete_history(tx, connector_id)
            tx.delete_nodes(lease.SYNC_LEASES, [connector_id])
            tx.delete_nodes(APPS, [connector_id])
            payload = {
                "orgId": instance.get("orgId"),
                "connectorId": connector_id,
                "virtualRecordIds": sorted(
                    {str(d["virtualRecordId"]) for d in records if d.get("virtualRecordId")}
                ),
                "totalRecords": len(records),
            }
            tx.append_event(RECORD_EVENTS, EventTypes.BULK_DELETE_RECORDS.value, payload, key=connector_id)
        try:
            await self.config_store.delete(f"/services/connectors/{connector_id}/config")
        except Exception as exc:
            self.logger.warning("connector %s: config not deleted: %s", connector_id, describe(exc))
        return {"connectorId": connector_id, "deletedRecords": len(records)}

    # ---- the worker loop ---------------------------------------------------------------------------

    async def serve(self, stop: asyncio.Event, *, poll_interval_s: float = 0.1) -> None:
        """Consume `sync-events` (consumer group `sync_consumer_group`) and run due syncs until `stop`
        is set. Sync requests are recorded on the instance before their event's offset is committed,
        and run by the scheduler as background tasks, so a long sync never stalls the consumer."""
        consumer = StoreEventLog(self.store).consumer(SYNC_CONSUMER_GROUP, SYNC_EVENTS, member=self.worker_id)
        next_tick = 0.0
        try:
            while not stop.is_set():
                events = consumer.poll(max_events=100)
                for event in events:
                    await self._accept(event)
                if events:
                    consumer.commit(events)
                if events or time.monotonic() >= next_tick:
                    self.schedule_due()
                    next_tick = time.monotonic() + self.scheduler_interval_s
                try:
                    await asyncio.wait_for(stop.wait(), poll_interval_s)
                except TimeoutError:
                    pass
        finally:
            consumer.close()
            await self.shutdown()

    async def _accept(self, event: Event) -> None:
        try:
            _, action = parse_sync_event_type(event.event_type)
            connector_id = str(event.payload.get("connectorId") or "")
            if action in (SyncActions.START, SyncActions.RESYNC):
                if connector_id:
                    self.mark_requested(connector_id, bool(event.payload.get("fullSync")))
            elif action is SyncActions.REINDEX:
                self._spawn(self.handle_event(event))
            else:
                await self.handle_event(event)
        except Exception as exc:  # one bad event must not block the partition
            self.logger.warning(
                "sync event %s at offset %s failed: %s", event.event_type, event.offset, describe(exc)
            )

    def schedule_due(self) -> list[str]:
        """Start (as background tasks) the syncs of every due instance not running here; returns
        their ids. The lease and a re-check under the instance lock keep workers from doubling up."""
        now = now_ms()
        live = lease.live_leases(self.store)
        started: list[str] = []
        for instance in list_instances(self.store, active_only=True):
            connector_id = str(instance["_key"])
            if connector_id in self._tasks or due_reason(instance, now, connector_id in live) is None:
                continue
            self._spawn(self.run_sync(connector_id, only_if_due=True))
            started.append(connector_id)
        return started

    def _spawn(self, coro: Awaitable[Any]) -> None:
        async def logged() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.logger.warning("background sync work failed: %s", describe(exc))

        task = asyncio.create_task(logged())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def shutdown(self) -> None:
        """Interrupt this worker's running syncs (state stays SYNCING, lease released: any worker
        resumes them) and wait for background work to end."""
        for connector_id, task in list(self._tasks.items()):
            self._interrupting.add(connector_id)
            task.cancel()
        for task in list(self._background):
            task.cancel()
        pending = [*self._tasks.values(), *self._background]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self._interrupting.clear()


async def build_connector(
    store: GraphStore,
    config_store: ConfigStore,
    instance: dict[str, Any],
    factory: Any = ConnectorFactory,
    logger: logging.Logger | None = None,
) -> BaseConnector:
    """A connector for an instance (`apps` document), through the factory, with its own data store
    provider and config service: what a sync runs, and what the indexing worker streams content
    through. Not initialised yet (`init()` is the caller's)."""
    connector_id = str(instance["_key"])
    logger = logger or logging.getLogger("headwater.sync")
    provider = DataStoreProvider(store, connector_id=connector_id, secret_box=config_store.box)
    config_service = ConfigurationService(logger, config_store)
    connector: BaseConnector = await factory.create_connector(
        str(instance["type"]),
        logger,
        provider,
        config_service,
        connector_id=connector_id,
        scope=str(instance.get("scope") or "personal"),
        created_by=instance.get("createdBy"),
        org_id=instance.get("orgId") or None,
    )
    return connector


INSTANCE_REMOVED, INSTANCE_DISABLED = "on_instance_removed", "on_instance_disabled"
HOOK_TIMEOUT_S = 60.0


async def call_instance_hook(
    store: GraphStore,
    config_store: ConfigStore,
    instance: dict[str, Any],
    hook: str,
    factory: Any = ConnectorFactory,
    logger: logging.Logger | None = None,
) -> bool:
    """Build and `init()` the instance's connector and call one of its lifecycle hooks
    (`INSTANCE_REMOVED` before a delete, `INSTANCE_DISABLED` after a disable). Best effort: a failure
    or a hook running past `HOOK_TIMEOUT_S` is logged and False returned, never raised, so it never
    blocks the delete or disable. A connector class that does not override the hook is not built."""
    logger = logger or logging.getLogger("headwater.sync")
    connector_id = str(instance["_key"])
    if hook not in (INSTANCE_REMOVED, INSTANCE_DISABLED):
        raise ValueError(f"unknown connector lifecycle hook {hook!r}")
    get_class = getattr(factory, "get_connector_class", None)
    if callable(get_class):
        try:
            connector_cls = get_class(str(instance.get("type")))
        except Exception:  # an unknown type has no hook to call
            return False
        if getattr(connector_cls, hook, None) is getattr(BaseConnector, hook):
            return False
    connector: BaseConnector | None = None
    try:
        connector = await build_connector(store, config_store, instance, factory, logger)
        if not await connector.init():
            raise ConnectorInitError("init() returned False")
        await asyncio.wait_for(getattr(connector, hook)(), HOOK_TIMEOUT_S)
        return True
    except Exception as exc:
        logger.warning("connector %s: %s failed (ignored): %s", connector_id, hook, describe(exc))
        return False
    finally:
        if connector is not None:
            try:
                await maybe_await(connector.cleanup())
            except Exception as exc:
                logger.warning("connector %s: cleanup failed: %s", connector_id, describe(exc))


async def _flush(processor: Any) -> None:
    flush = getattr(processor, "flush", None)
    if callable(flush):
        await maybe_await(flush())


def _skipped(connector_id: str, reason: str) -> dict[str, Any]:
    return {"connectorId": connector_id, "outcome": SKIPPED, "reason": reason}


def _unpack(event: Event | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if isinstance(event, Event):
        return event.event_type, event.payload
    return str(event.get("eventType", "")), dict(event.get("payload") or {})
