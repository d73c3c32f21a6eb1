"""The worker loop: `serve()` consumes sync-events and fires scheduled syncs; "sync now"; resuming
an instance whose worker died mid-sync; `.delete` and `.init` events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import create_instance, get_instance, list_runs, update_instance
from headwater.events.base import sync_event_type
from headwater.store.base import GraphStore
from tests.connectors.engine.helpers import (
    LOG,
    ORG,
    SYNTH,
    Plan,
    SynthConnector,
    events,
    open_config,
    records_by_ext,
    register_synth,
    run,
    seed_org,
    synth_ext,
)


@pytest.fixture(autouse=True)
def synth() -> Iterator[None]:
    register_synth()
    yield
    ConnectorFactory.unregister_connector(SYNTH)
    SynthConnector.PLANS.clear()


async def _serve_until(engine: SyncEngine, done: Callable[[], bool], timeout_s: float = 10.0) -> None:
    stop = asyncio.Event()
    server = asyncio.create_task(engine.serve(stop, poll_interval_s=0.02))
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        while not done():
            assert asyncio.get_running_loop().time() < deadline, "timed out"
            assert not server.done(), server
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await server


def test_scheduled_instance_is_synced_every_interval(store: GraphStore, tmp_path: Path) -> None:
    seed_org(store)
    plan = Plan(total=10, page=5)
    SynthConnector.PLANS["sched"] = plan
    SynthConnector.PLANS["manual"] = Plan(total=10, page=5)
    create_instance(store, type=SYNTH, connector_id="sched", org_id=ORG, interval_minutes=0.3 / 60)
    create_instance(store, type=SYNTH, connector_id="manual", org_id=ORG)  # no interval: never

    async def body() -> None:
        config = await open_config(tmp_path)
        try:
            engine = SyncEngine(store, config, logger=LOG, scheduler_interval_s=0.05)
            await _serve_until(engine, lambda: len(list_runs(store, "sched")) >= 3)
        finally:
            await config.close()

    run(body())
    runs = list_runs(store, "sched")
    assert all(r["outcome"] == "completed" for r in runs)
    starts = sorted(r["startedAt"] for r in runs)
    assert all(b - a >= 300 for a, b in zip(starts, starts[1:], strict=False))  # the interval holds
    assert sorted(records_by_ext(store, "sched")) == [synth_ext(i) for i in range(10)]
    assert list_runs(store, "manual") == []


def test_sync_now_and_start_events_run_through_serve(store: GraphStore, tmp_path: Path) -> None:
    seed_org(store)
    SynthConnector.PLANS["c1"] = Plan(total=10, page=5)
    create_instance(store, type=SYNTH, connector_id="c1", org_id=ORG)

    async def body() -> None:
        config = await open_config(tmp_path)
        try:
            engine = SyncEngine(store, config, logger=LOG, scheduler_interval_s=0.05)
            engine.request_sync("c1")
            await _serve_until(engine, lambda: len(list_runs(store, "c1")) == 1 and _idle(store, "c1"))
            with store.transaction() as tx:  # what the API appends for "full sync"
                tx.append_event(
                    "sync-events",
                    sync_event_type(SYNTH, "start"),
                    {"orgId": ORG, "connectorId": "c1", "fullSync": True},
                    key="c1",
                )
            await _serve_until(engine, lambda: len(list_runs(store, "c1")) == 2 and _idle(store, "c1"))
        finally:
            await config.close()

    run(body())
    newest, oldest = list_runs(store, "c1")
    assert (oldest["outcome"], oldest["full"], oldest["new"]) == ("completed", False, 10)
    assert (newest["outcome"], newest["full"], newest["unchanged"]) == ("completed", True, 10)
    inst = get_instance(store, "c1")
    assert inst is not None
    assert (inst["syncRequested"], inst["pendingFullSync"]) == (False, False)


def test_an_instance_left_syncing_by_a_dead_worker_is_resumed(store: GraphStore, tmp_path: Path) -> None:
    seed_org(store)
    plan = Plan(total=10, page=5)
    SynthConnector.PLANS["c1"] = plan
    create_instance(store, type=SYNTH, connector_id="c1", org_id=ORG)
    update_instance(store, "c1", status="SYNCING")  # no lease: its worker is gone

    async def body() -> None:
        config = await open_config(tmp_path)
        try:
            engine = SyncEngine(store, config, logger=LOG, scheduler_interval_s=0.05)
            await _serve_until(engine, lambda: _idle(store, "c1") and len(list_runs(store, "c1")) == 1)
        finally:
            await config.close()

    run(body())
    assert sorted(records_by_ext(store, "c1")) == [synth_ext(i) for i in range(10)]


def test_delete_event_removes_everything_and_publishes_bulk_delete(store: GraphStore, tmp_path: Path) -> None:
    seed_org(store)
    SynthConnector.PLANS["c1"] = Plan(total=10, page=5)
    SynthConnector.PLANS["c2"] = Plan(total=4, page=5)
    create_instance(store, type=SYNTH, connector_id="c1", org_id=ORG)
    create_instance(store, type=SYNTH, connector_id="c2", org_id=ORG)

    async def body() -> dict[str, Any] | None:
        config = await open_config(tmp_path)
        try:
            await config.put("/services/connectors/c1/config", {"auth": {"token": "x"}})
            engine = SyncEngine(store, config, logger=LOG)
            await engine.run_sync("c1")
            await engine.run_sync("c2")
            result = await engine.handle_event(
                {
                    "eventType": sync_event_type(SYNTH, "delete"),
                    "payload": {"orgId": ORG, "connectorId": "c1"},
                }
            )
            assert await config.get("/services/connectors/c1/config") is None
            return result
        finally:
            await config.close()

    result = run(body())
    assert result == {"connectorId": "c1", "deletedRecords": 10}
    assert get_instance(store, "c1") is None
    assert records_by_ext(store, "c1") == {}
    assert sorted(records_by_ext(store, "c2")) == [synth_ext(i) for i in range(4)]  # the other stays
    with store.read() as tx:
        assert tx.find_nodes("syncPoints", connector_id="c1") == []
        assert [r for r in tx.find_nodes("syncRuns") if r["connectorId"] == "c1"] == []
        assert tx.find_nodes("files") != []  # c2's type documents
        assert len(tx.find_nodes("files")) == 4
    bulk = [p for t, p in events(store) if t == "bulkDeleteRecords"]
    assert bulk == [{"orgId": ORG, "connectorId": "c1", "virtualRecordIds": [], "totalRecords": 10}]


def test_init_event_clears_a_failed_state_once_the_connector_starts(
    store: GraphStore, tmp_path: Path
) -> None:
    seed_org(store)
    plan = Plan(init="the API key is missing")
    SynthConnector.PLANS["c1"] = plan
    create_instance(store, type=SYNTH, connector_id="c1", org_id=ORG)
    event = {"eventType": sync_event_type(SYNTH, "init"), "payload": {"orgId": ORG, "connectorId": "c1"}}

    async def body() -> list[dict[str, Any] | None]:
        config = await open_config(tmp_path)
        try:
            engine = SyncEngine(store, config, logger=LOG)
            failed = await engine.handle_event(event)
            plan.init = True
            fixed = await engine.handle_event(event)
            return [failed, fixed]
        finally:
            await config.close()

    failed, fixed = run(body())
    assert failed == {"connectorId": "c1", "ok": False, "reason": "the API key is missing"}
    assert fixed == {"connectorId": "c1", "ok": True, "reason": None}
    inst = get_instance(store, "c1")
    assert inst is not None
    assert (inst["status"], inst["statusReason"]) == ("IDLE", None)


def _idle(store: GraphStore, cid: str) -> bool:
    inst = get_instance(store, cid)
    return inst is not None and inst["status"] == "IDLE" and not inst["syncRequested"]
