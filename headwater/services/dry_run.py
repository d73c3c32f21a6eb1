"""The test run of playbook §8, as one call: initialise the connector with its stored config, test
the connection, fetch a sample, and say what a sync would bring, without writing anything.

Nothing reaches the instance's store: the connector runs against a throwaway SQLite store in a
temporary directory, seeded with the organisation, its users and the instance (so grants to known
people resolve as they would), and against a config service that reads the real config but keeps
its writes (a refreshed token) in memory. The connector's own code runs unchanged, through the real
processor, so the counts, record types and grants shown are exactly what a sync would write. The
sample stops after `max_items` items or `timeout_s` seconds; the temporary store is deleted after.

`check_config` runs the first two steps only, with a candidate config instead of the stored one:
`connectors add` / `configure` use it to refuse a config the connector cannot start with, before
anything is saved.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from headwater.config.base import ConfigStore
from headwater.connectors.core.connector import BaseConnector, ConnectorInitError, maybe_await
from headwater.connectors.core.data_store import DataStoreProvider
from headwater.connectors.core.errors import SourceThrottledError, describe, find_cause, redact
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import APPS
from headwater.settings import Settings
from headwater.store.base import GraphStore
from headwater.store.registry import open_store

from .catalog import discover_connectors
from .errors import InvalidArgumentError
from .platform import Platform, config_key, find_instance, open_platform
from .records import record_rows

T = TypeVar("T")
log = logging.getLogger("headwater.dryrun")
WATCH_INTERVAL_S = 0.05


@dataclass
class DryRunStep:
    name: str  # config, init, connection, sample
    ok: bool
    detail: str = ""


@dataclass
class DryRunReport:
    connector_id: str
    name: str
    type: str
    steps: list[DryRunStep] = field(default_factory=list)
    records_by_type: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    sample: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: str | None = None  # why the sample is partial, None when the listing finished
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "connectorId": self.connector_id,
            "name": self.name,
            "type": self.type,
            "ok": self.ok,
            "steps": [asdict(s) for s in self.steps],
            "recordsByType": self.records_by_type,
            "totals": self.totals,
            "sample": self.sample,
            "failures": self.failures,
            "stoppedEarly": self.stopped_early,
            "elapsedS": round(self.elapsed_s, 3),
        }


class ReadThroughConfig:
    """The playbook's config service over the real config store, with writes kept in memory."""

    def __init__(self, store: ConfigStore) -> None:
        self.store = store
        self.written: dict[str, dict[str, Any] | None] = {}

    async def get_config(
        self, key: str, default: dict[str, Any] | None = None, use_cache: bool = False
    ) -> dict[str, Any] | None:
        if key in self.written:
            value = self.written[key]
            return default if value is None else value
        return await self.store.get_config(key, default)

    async def set_config(self, key: str, value: dict[str, Any]) -> None:
        self.written[key] = value

    async def update_config(self, key: str, value: dict[str, Any]) -> None:
        self.written[key] = value

    async def delete_config(self, key: str) -> bool:
        existed = await self.get_config(key) is not None
        self.written[key] = None
        return existed

    def clear_cache(self) -> None:
        """Nothing is cached."""


def _seed(scratch: GraphStore, real: GraphStore, instance: dict[str, Any]) -> None:
    """The organisation, its users (with their organisation edges) and the instance, copied."""
    with real.read() as tx:
        orgs = tx.find_nodes("organizations")
        users = tx.find_nodes("users")
        member_edges = [
            e
            for e in tx.get_edges("belongsTo", from_ids=[f"users/{u['_key']}" for u in users])
            if str(e["_to"]).startswith("organizations/")
        ]
    with scratch.transaction() as tx:
        tx.upsert_nodes("organizations", orgs)
        tx.upsert_nodes("users", users)
        tx.upsert_edges("belongsTo", member_edges)
        tx.upsert_nodes(APPS, [instance])


async def _bounded(step: Awaitable[T], timeout_s: float, what: str) -> T:
    try:
        return await asyncio.wait_for(step, timeout_s)
    except TimeoutError:
        raise ConnectorInitError(f"{what} did not finish within {timeout_s:g} s") from None


async def _sample(
    connector: BaseConnector, processor: Any, max_items: int, timeout_s: float
) -> tuple[str | None, BaseException | None]:
    """Run the connector's full sync until it ends, `max_items` items were handed in, or time is up;
    (why it stopped early or None, the error it raised or None)."""
    task = asyncio.create_task(connector.run_sync())
    started = time.monotonic()
    stopped: str | None = None
    while not task.done():
        await asyncio.wait({task}, timeout=WATCH_INTERVAL_S)
        if task.done():
            break
        if processor.stats.discovered >= max_items:
            stopped = f"stopped after {processor.stats.discovered} items (the sample limit is {max_items})"
        elif time.monotonic() - started > timeout_s:
            stopped = f"stopped after {timeout_s:g} s (the time limit)"
        if stopped:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    error = None if task.cancelled() else task.exception()
    if error is not None and find_cause(error, SourceThrottledError) is not None:
        throttle = find_cause(error, SourceThrottledError)
        stopped = f"the source throttled the sample (retry after {getattr(throttle, 'retry_after_s', '?')} s)"
        error = None
    return stopped, error


def _read_sample(report: DryRunReport, scratch: GraphStore, sample_size: int) -> None:
    with scratch.read() as tx:
        docs = [
            d
            for d in tx.find_nodes("records", connector_id=report.connector_id)
            if not d.get("isPlaceholder")
        ]
        docs.sort(key=lambda d: (str(d.get("recordName") or "").lower(), str(d["_key"])))
        report.records_by_type = dict(sorted(Counter(str(d.get("recordType")) for d in docs).items()))
        report.totals = {
            "records": len(docs),
            "recordGroups": len(tx.find_nodes("recordGroups", connector_id=report.connector_id)),
            "groups": len(tx.find_nodes("groups", connector_id=report.connector_id)),
            "permissions": len(tx.get_edges("permissions")),
        }
        report.sample = record_rows(tx, docs[:sample_size], {report.connector_id: report.name})


@asynccontextmanager
async def _scratch_provider(platform: Platform, instance: dict[str, Any]) -> AsyncIterator[DataStoreProvider]:
    """A data store provider over a throwaway store seeded for `instance`, deleted on exit."""
    with tempfile.TemporaryDirectory(prefix="headwater-dry-run-") as scratch_dir:
        scratch = open_store(f"sqlite:///{Path(scratch_dir) / 'dry-run.db'}")
        try:
            _seed(scratch, platform.store, instance)
            yield DataStoreProvider(
                scratch, connector_id=str(instance["_key"]), secret_box=platform.config_store.box
            )
        finally:
            scratch.close()


async def dry_run_connector(
    settings: Settings,
    name: str,
    *,
    sample_size: int = 10,
    max_items: int = 1000,
    timeout_s: float = 60.0,
    factory: Any = ConnectorFactory,
) -> DryRunReport:
    """The §8 test run of instance `name`; see the module docstring. Each step's outcome is in the
    report (a failed step stops the later ones); nothing is written to the instance's stores."""
    if sample_size < 0 or max_items < 1 or timeout_s <= 0:
        raise InvalidArgumentError("the sample size must be >= 0, max items >= 1 and the timeout > 0")
    discover_connectors()
    started = time.monotonic()
    async with open_platform(settings) as platform:
        instance = find_instance(platform.store, name)
        report = DryRunReport(str(instance["_key"]), str(instance.get("name")), str(instance.get("type")))
        config = ReadThroughConfig(platform.config_store)
        if await config.get_config(config_key(report.connector_id)) is None:
            detail = f"no config stored — run `headwater connectors configure {report.name}`"
            report.steps.append(DryRunStep("config", False, detail))
            return report
        report.steps.append(DryRunStep("config", True, "stored config found"))
        async with _scratch_provider(platform, instance) as provider:
            await _run_steps(report, instance, provider, config, factory, timeout_s, max_items)
            _read_sample(report, provider.store, sample_size)
    report.elapsed_s = time.monotonic() - started
    return report


async def check_config(
    platform: Platform,
    instance: dict[str, Any],
    config: dict[str, Any],
    *,
    timeout_s: float = 30.0,
    factory: Any = ConnectorFactory,
) -> DryRunReport:
    """Start the connector of `instance` (stored or about to be) with the candidate `config` and
    test its connection, writing nothing: whether saving that config would give a working instance."""
    discover_connectors()
    report = DryRunReport(str(instance["_key"]), str(instance.get("name")), str(instance.get("type")))
    overlay = ReadThroughConfig(platform.config_store)
    overlay.written[config_key(report.connector_id)] = config
    async with _scratch_provider(platform, instance) as provider:
        await _run_steps(report, instance, provider, overlay, factory, timeout_s, max_items=None)
    return report


async def _run_steps(
    report: DryRunReport,
    instance: dict[str, Any],
    provider: DataStoreProvider,
    config: ReadThroughConfig,
    factory: Any,
    timeout_s: float,
    max_items: int | None,
) -> None:
    """init, connection, and (with `max_items`) the sample, each recorded in `report`."""
    try:
        connector: BaseConnector = await factory.create_connector(
            report.type,
            log,
            provider,
            config,
            connector_id=report.connector_id,
            scope=str(instance.get("scope") or "personal"),
            created_by=instance.get("createdBy"),
            org_id=instance.get("orgId") or None,
        )
    except Exception as exc:  # the class or its constructor is broken, not the config
        report.steps.append(DryRunStep("init", False, f"the connector could not be built: {describe(exc)}"))
        return
    try:
        if not await _step(
            report, "init", connector.init(), timeout_s, "the connector started with its config"
        ):
            return
        if not await _step(
            report,
            "connection",
            maybe_await(connector.test_connection_and_access()),
            timeout_s,
            "the source answered with these credentials",
        ):
            return
        if max_items is not None:
            await _sample_step(report, connector, max_items, timeout_s)
    finally:
        try:
            await maybe_await(connector.cleanup())
        except Exception as exc:
            log.warning("connector %s: cleanup after the dry run failed: %s", report.name, describe(exc))


async def _sample_step(
    report: DryRunReport, connector: BaseConnector, max_items: int, timeout_s: float
) -> None:
    processor = connector.data_entities_processor
    stopped, error = await _sample(connector, processor, max_items, timeout_s)
    try:
        await maybe_await(processor.flush())  # into the scratch store, to be read back
    except Exception as exc:
        error = error or exc
    report.stopped_early = stopped
    report.failures = [
        {"externalId": f.external_id, "recordName": f.record_name, "reason": f.reason}
        for f in getattr(processor, "failures", [])
    ]
    if error is not None:
        report.steps.append(DryRunStep("sample", False, f"the sync failed: {describe(error)}"))
    else:
        count = processor.stats.discovered
        report.steps.append(DryRunStep("sample", True, stopped or f"the listing finished: {count} items"))


async def _step(
    report: DryRunReport, name: str, call: Awaitable[Any], timeout_s: float, success: str
) -> bool:
    try:
        ok = await _bounded(call, timeout_s, name)
    except ConnectorInitError as exc:
        report.steps.append(DryRunStep(name, False, redact(str(exc)) or "the connector refused to start"))
        return False
    except Exception as exc:
        report.steps.append(DryRunStep(name, False, describe(exc)))
        return False
    if ok is False:
        detail = (
            "init() returned False (see the log above)"
            if name == "init"
            else "the connection test failed (check the credentials and that the source is reachable)"
        )
        report.steps.append(DryRunStep(name, False, detail))
        return False
    report.steps.append(DryRunStep(name, True, success))
    return True
