"""Crash safety: a worker process syncing a synthetic source (2,000 files with a grant each, pages
of 25, a sync point per page) is SIGKILLed at 20 seeded random instants (in and between store
transactions, with its heartbeat thread running); it is restarted after each kill, then once more
to completion. The store must then hold exactly the source's records and permissions, no
duplicates, and at least one `newRecord` event for every record and none for a record that does
not exist (at-least-once, never lost).

The worker is a forked process (fork after the imports: a restart costs milliseconds, not the
interpreter's start-up); it opens its own store connection and exits with os._exit, never touching
the parent's connection."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.config.crypto import SecretBox
from headwater.config.registry import create_config_store
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import create_instance, get_instance, list_runs
from headwater.store.base import GraphStore
from headwater.store.registry import open_store
from tests.connectors.engine.helpers import (
    LOG,
    ORG,
    SYNTH,
    Plan,
    SynthConnector,
    events,
    permission_triples,
    records_by_ext,
    register_synth,
    seed_org,
    synth_email,
    synth_ext,
)

CID = "crash-1"
TOTAL, PAGE = 2000, 25
KILLS = 20
SEED = 20240611


@pytest.fixture(autouse=True)
def synth() -> Iterator[None]:
    register_synth()
    yield
    ConnectorFactory.unregister_connector(SYNTH)
    SynthConnector.PLANS.clear()


def _worker(store_url: str, config_url: str, ready: Any) -> None:
    code = 1
    try:

        async def main() -> str:
            store = open_store(store_url)
            config = create_config_store(config_url, SecretBox.generate())
            await config.connect()
            SynthConnector.PLANS[CID] = Plan(total=TOTAL, page=PAGE, page_delay_s=0.01)
            engine = SyncEngine(store, config, worker_id="crash-worker", lease_s=5.0, logger=LOG)
            ready.set()
            result = await engine.run_sync(CID)
            return str(result["outcome"])

        code = 0 if asyncio.run(main()) == "completed" else 3
    finally:
        os._exit(code)


@pytest.mark.slow
def test_sigkill_at_random_points_then_restart_loses_and_duplicates_nothing(
    store: GraphStore, store_url: str, tmp_path: Path
) -> None:
    seed_org(store)
    create_instance(store, type=SYNTH, connector_id=CID, org_id=ORG)
    ctx = multiprocessing.get_context("fork")
    config_url = f"sqlite:///{tmp_path / 'config.db'}"
    rng = random.Random(SEED)
    kills = 0
    completed_early = 0
    while kills < KILLS:
        ready = ctx.Event()
        proc = ctx.Process(target=_worker, args=(store_url, config_url, ready))
        proc.start()
        assert ready.wait(30), "the worker did not start"
        time.sleep(rng.uniform(0.0, 0.12))
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
        proc.join(30)
        if proc.exitcode == -signal.SIGKILL:
            kills += 1
        else:
            assert proc.exitcode == 0, proc.exitcode
            completed_early += 1
    # the last restart runs to its end
    ready = ctx.Event()
    proc = ctx.Process(target=_worker, args=(store_url, config_url, ready))
    proc.start()
    proc.join(120)
    assert proc.exitcode == 0

    recs = records_by_ext(store, CID)  # asserts no duplicate external ids
    assert sorted(recs) == [synth_ext(i) for i in range(TOTAL)]
    with store.read() as tx:
        assert len(tx.find_nodes("records", connector_id=CID)) == TOTAL
        assert len(tx.find_nodes("files")) == TOTAL
        assert len(tx.get_edges("isOfType")) == TOTAL
        assert tx.find_nodes("syncLeases") == []
    assert permission_triples(store, CID) == {(synth_email(i), synth_ext(i), "READER") for i in range(TOTAL)}
    with store.read() as tx:
        assert sorted(u["email"] for u in tx.find_nodes("users")) == sorted(
            {synth_email(i) for i in range(TOTAL)}
        )

    evs = events(store)
    keys = {d["_key"] for d in recs.values()}
    new_per_record = Counter(str(p["recordId"]) for t, p in evs if t == "newRecord")
    assert set(new_per_record) == keys  # every record announced, nothing announced that does not exist
    assert all(p.get("recordId") in keys for _, p in evs)
    assert {t for t, _ in evs} == {"newRecord"}  # nothing changed at the source: no updates, no deletes

    inst = get_instance(store, CID)
    assert inst is not None
    assert (inst["status"], inst["statusReason"]) == ("IDLE", None)
    runs = list_runs(store, CID)
    assert runs[0]["outcome"] == "completed"
    assert all(r["outcome"] in ("completed", "abandoned") for r in runs)
    print(f"kills={kills} completed_before_kill={completed_early} runs={len(runs)} events={len(evs)}")
