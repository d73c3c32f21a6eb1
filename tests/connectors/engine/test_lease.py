"""One sync per instance across workers: the lease in the store, its heartbeat, expiry and takeover.
Each engine has its own store object (its own connection), as separate worker processes would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import create_instance, get_instance, update_instance
from headwater.connectors.core.lease import SYNC_LEASES
from headwater.models.timeutil import now_ms
from headwater.store.base import GraphStore
from headwater.store.registry import open_store
from tests.connectors.engine.helpers import (
    LOG,
    ORG,
    SYNTH,
    Plan,
    SynthConnector,
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


@pytest.fixture
def second_store(store_url: str) -> Iterator[GraphStore]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


def _setup(store: GraphStore, plan: Plan) -> None:
    seed_org(store)
    create_instance(store, type=SYNTH, connector_id="c1", org_id=ORG)
    SynthConnector.PLANS["c1"] = plan


def _write_lease(store: GraphStore, owner: str, expires_in_ms: int) -> None:
    with store.transaction() as tx:
        now = now_ms()
        tx.upsert_nodes(
            SYNC_LEASES,
            [
                {
                    "_key": "c1",
                    "owner": owner,
                    "runId": "r-x",
                    "acquiredAt": now,
                    "expiresAt": now + expires_in_ms,
                }
            ],
        )


def test_two_workers_same_instance_exactly_one_runs(
    store: GraphStore, second_store: GraphStore, tmp_path: Path
) -> None:
    plan = Plan(total=30, page=5, page_delay_s=0.05)
    _setup(store, plan)

    async def body() -> list[dict[str, Any]]:
        config = await open_config(tmp_path)
        try:
            a = SyncEngine(store, config, worker_id="worker-a", logger=LOG)
            b = SyncEngine(second_store, config, worker_id="worker-b", logger=LOG)
            return list(await asyncio.gather(a.run_sync("c1"), b.run_sync("c1")))
        finally:
            await config.close()

    first, second = run(body())
    assert sorted([first["outcome"], second["outcome"]]) == ["completed", "skipped"]
    skipped = first if first["outcome"] == "skipped" else second
    assert skipped["reason"] in ("already running on worker-a", "already running on worker-b")
    assert plan.pages_done == [0, 1, 2, 3, 4, 5]  # the source was read once
    assert sorted(records_by_ext(store, "c1")) == [synth_ext(i) for i in range(30)]


def test_a_live_lease_of_another_worker_is_respected_an_expired_one_taken_over(
    store: GraphStore, tmp_path: Path
) -> None:
    _setup(store, Plan(total=10, page=5))
    update_instance(store, "c1", status="SYNCING")  # the dead worker was syncing

    async def body() -> list[dict[str, Any]]:
        config = await open_config(tmp_path)
        try:
            engine = SyncEngine(store, config, worker_id="worker-b", logger=LOG)
            _write_lease(store, "worker-dead", 60_000)
            refused = await engine.run_sync("c1")
            _write_lease(store, "worker-dead", -1)
            taken = await engine.run_sync("c1")
            return [refused, taken]
        finally:
            await config.close()

    refused, taken = run(body())
    assert refused == {"connectorId": "c1", "outcome": "skipped", "reason": "already running on worker-dead"}
    assert taken["outcome"] == "completed"
    assert taken["workerId"] == "worker-b"
    assert sorted(records_by_ext(store, "c1")) == [synth_ext(i) for i in range(10)]
    inst = get_instance(store, "c1")
    assert inst is not None
    assert inst["status"] == "IDLE"


def test_heartbeat_keeps_a_long_run_leased_and_a_lost_lease_stops_it(
    store: GraphStore, second_store: GraphStore, tmp_path: Path
) -> None:
    plan = Plan(total=200, page=5, page_delay_s=0.05)  # ~2 s, the lease is 0.3 s
    _setup(store, plan)

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        config = await open_config(tmp_path)
        try:
            a = SyncEngine(store, config, worker_id="worker-a", lease_s=0.3, logger=LOG)
            b = SyncEngine(second_store, config, worker_id="worker-b", lease_s=0.3, logger=LOG)
            task = asyncio.create_task(a.run_sync("c1"))
            await asyncio.sleep(0.8)  # well past one lease length: only the heartbeat keeps it
            refused = await b.run_sync("c1")
            assert not task.done()
            # another worker takes the lease over (as if A had stalled): A's heartbeat notices
            _write_lease(second_store, "worker-c", 60_000)
            return refused, await task

        finally:
            await config.close()

    refused, lost = run(body())
    assert refused["outcome"] == "skipped"
    assert refused["reason"] == "already running on worker-a"
    assert lost["outcome"] == "lease_lost"
    assert len(plan.pages_done) < 40
    inst = get_instance(store, "c1")
    assert inst is not None
    assert inst["status"] == "SYNCING"  # A no longer owns the instance: it leaves the state alone
    with store.read() as tx:
        lease = tx.get_node(SYNC_LEASES, "c1")
    assert lease is not None
    assert lease["owner"] == "worker-c"
