"""What users see: run history, instance states (THROTTLED, NEEDS_REAUTH, FAILED), the failure ledger,
and cancellation, through `SyncEngine.run_sync` on both store backends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.errors import SourceThrottledError, describe, redact
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import (
    create_instance,
    get_instance,
    list_failures,
    list_runs,
)
from headwater.store.base import GraphStore
from tests.connectors.engine.helpers import (
    LOG,
    ORG,
    SYNTH,
    Plan,
    SynthConnector,
    events,
    open_config,
    permission_triples,
    records_by_ext,
    register_synth,
    run,
    seed_org,
    synth_email,
    synth_ext,
)

COUNTS = ("discovered", "new", "updated", "unchanged", "deleted", "skipped", "failed")


@pytest.fixture(autouse=True)
def synth() -> Iterator[None]:
    register_synth()
    yield
    ConnectorFactory.unregister_connector(SYNTH)
    SynthConnector.PLANS.clear()


def _setup(store: GraphStore, cid: str, plan: Plan) -> None:
    seed_org(store)
    create_instance(store, type=SYNTH, connector_id=cid, org_id=ORG, scope="team")
    SynthConnector.PLANS[cid] = plan


def test_a_run_syncs_everything_and_records_history(store: GraphStore, tmp_path: Path) -> None:
    _setup(store, "c1", Plan(total=12, page=5))

    async def body() -> dict[str, object]:
        config = await open_config(tmp_path)
        try:
            return await SyncEngine(store, config, logger=LOG).run_sync("c1")
        finally:
            await config.close()

    result = run(body())
    assert result["outcome"] == "completed"
    assert {k: result[k] for k in COUNTS} == dict.fromkeys(COUNTS, 0) | {"discovered": 12, "new": 12}
    assert sorted(records_by_ext(store, "c1")) == [synth_ext(i) for i in range(12)]
    assert permission_triples(store, "c1") == {(synth_email(i), synth_ext(i), "READER") for i in range(12)}
    assert sorted(p["externalRecordId"] for t, p in events(store) if t == "newRecord") == [
        synth_ext(i) for i in range(12)
    ]
    inst = get_instance(store, "c1")
    assert inst is not None
    assert (inst["status"], inst["statusReason"], inst["lastRunId"]) == ("IDLE", None, result["_key"])
    assert inst["lastSyncStartedAt"] <= inst["lastSyncEndedAt"]
    runs = list_runs(store, "c1")
    assert [r["_key"] for r in runs] == [result["_key"]]
    assert runs[0]["endedAt"] is not None
    assert runs[0]["error"] is None
    with store.read() as tx:
        assert tx.find_nodes("syncLeases") == []  # released


def test_throttled_source_pauses_shows_throttled_and_resumes_to_completion(
    store: GraphStore, tmp_path: Path
) -> None:
    plan = Plan(total=20, page=5, throttle_at_page=2, throttle_retry_s=0.3, page_delay_s=0.05)
    _setup(store, "c1", plan)
    seen: list[tuple[str, object]] = []

    async def body() -> dict[str, object]:
        config = await open_config(tmp_path)
        try:
            engine = SyncEngine(store, config, logger=LOG)
            task = asyncio.create_task(engine.run_sync("c1"))
            while not task.done():
                inst = get_instance(store, "c1")
                assert inst is not None
                seen.append((inst["status"], inst["throttledUntil"]))
                await asyncio.sleep(0.02)
            return await task
        finally:
            await config.close()

    result = run(body())
    assert result["outcome"] == "completed"
    assert result["throttleResumes"] == 1
    statuses = [s for s, _ in seen]
    assert "THROTTLED" in statuses
    assert statuses[statuses.index("THROTTLED") :].count("SYNCING") > 0  # it resumed
    assert all(until is not None for s, until in seen if s == "THROTTLED")
    # resumed from the committed sync point: pages 0 and 1 were not fetched again
    assert plan.pages_done == [0, 1, 2, 3]
    assert sorted(records_by_ext(store, "c1")) == [synth_ext(i) for i in range(20)]
    inst = get_instance(store, "c1")
    assert inst is not None
    assert (inst["status"], inst["throttledUntil"]) == ("IDLE", None)


def test_throttled_beyond_the_allowed_resumes_ends_throttled(store: GraphStore, tmp_path: Path) -> None:
    class AlwaysThrottled(SynthConnector):
        async def run_sync(self) -> None:
            raise SourceThrottledError(retry_after_s=0.01)

    ConnectorFactory.unregister_connector(SYNTH)
    ConnectorFactory.register_connector(SYNTH, AlwaysThrottled)
    _setup(store, "c1", Plan())

    async def body() -> dict[str, object]:
        config = await open_config(tmp_path)
        try:
            return await SyncEngine(store, config, logger=LOG, max_throttle_resumes=2).run_sync("c1")
        finally:
            await config.close()

    result = run(body())
    assert (result["outcome"], result["throttleResumes"]) == ("throttled", 3)
    inst = get_instance(store, "c1")
    assert inst is not None
    assert inst["status"] == "THROTTLED"
    assert inst["throttledUntil"] is not None


def test_auth_error_needs_reauth_with_a_redacted_reason(store: GraphStore, tmp_path: Path) -> None:
    _setup(store, "c1", Plan(total=10, page=5, auth_error_at_page=1))

    async def body() -> dict[str, object]:
        config = await open_config(tmp_path)
        try:
            return await SyncEngine(store, config, logger=LOG).run_sync("c1")
        finally:
            await config.close()

    result = run(body())
    assert result["outcome"] == "needs_reauth"
    inst = get_instance(store, "c1")
    assert inst is not None
    assert inst["status"] == "NEEDS_REAUTH"
    assert "sk-live" not in str(inst["statusReason"])
    assert "Bearer ***" in str(inst["statusReason"])
    assert sorted(records_by_ext(store, "c1")) == [synth_ext(i) for i in range(5)]  # page 0 kept


def test_fatal_error_fails_with_reason_and_no_secret(store: GraphStore, tmp_path: Path) -> None:
    _setup(store, "c1", Plan(total=10, page=5, error_at_page=1))

    async def body() -> dict[str, object]:
        config = await open_config(tmp_path)
        try:
            return await SyncEngine(store, config, logger=LOG).run_sync("c1")
        finally:
            await config.close()

    result = run(body())
    assert result["outcome"] == "failed"
    inst = get_instance(store, "c1")
    assert inst is not None
    assert inst["status"] == "FAILED"
    reason = str(inst["statusReason"])
    assert reason.startswith("RuntimeError: boom")
    assert "sekrit" not in reason
    assert "access_token=***" in reason
    assert result["error"] == reason


@pytest.mark.parametrize(
    ("init", "reason"),
    [
        (False, "the connector could not be initialised (init() returned False; see its log)"),
        (
            "the tenant id is missing; set it in the connector settings",
            "the tenant id is missing; set it in the connector settings",
        ),
    ],
)
def test_init_failure_is_failed_with_its_reason(
    store: GraphStore, tmp_path: Path, init: bool | str, reason: str
) -> None:
    _setup(store, "c1", Plan(init=init))

    async def body() -> dict[str, object]:
        config = await open_config(tmp_path)
        try:
            return await SyncEngine(store, config, logger=LOG).run_sync("c1")
        finally:
            await config.close()

    result = run(body())
    assert (result["outcome"], result["error"]) == ("failed", reason)
    inst = get_instance(store, "c1")
    assert inst is not None
    assert (inst["status"], inst["statusReason"]) == ("FAILED", reason)
    assert records_by_ext(store, "c1") == {}


def test_one_bad_item_is_in_the_ledger_and_never_aborts_the_run(store: GraphStore, tmp_path: Path) -> None:
    _setup(store, "c1", Plan(total=10, page=5, bad_items={3}))

    async def body() -> dict[str, object]:
        config = await open_config(tmp_path)
        try:
            return await SyncEngine(store, config, logger=LOG).run_sync("c1")
        finally:
            await config.close()

    result = run(body())
    assert result["outcome"] == "completed"
    assert (result["failed"], result["new"]) == (1, 9)
    assert sorted(records_by_ext(store, "c1")) == [synth_ext(i) for i in range(10) if i != 3]
    ledger = list_failures(store, "c1")
    assert [(f["runId"], f["externalId"], f["recordName"], f["reason"]) for f in ledger] == [
        (result["_key"], synth_ext(3), "file 3", "the source returned a malformed item")
    ]
    inst = get_instance(store, "c1")
    assert inst is not None
    assert inst["status"] == "IDLE"


def test_full_sync_starts_from_nothing_and_clears_pending(store: GraphStore, tmp_path: Path) -> None:
    plan = Plan(total=10, page=5)
    _setup(store, "c1", plan)

    async def body() -> list[dict[str, object]]:
        config = await open_config(tmp_path)
        try:
            engine = SyncEngine(store, config, logger=LOG)
            first = await engine.run_sync("c1")
            again = await engine.run_sync("c1")  # incremental: the sync point says "done"
            from headwater.connectors.core.instances import update_instance

            update_instance(store, "c1", pendingFullSync=True)
            full = await engine.run_sync("c1")
            return [first, again, full]
        finally:
            await config.close()

    first, again, full = run(body())
    assert plan.pages_done == [0, 1, 0, 1]
    assert (first["full"], again["full"], full["full"]) == (False, False, True)
    assert (again["discovered"], full["discovered"], full["unchanged"]) == (0, 10, 10)
    inst = get_instance(store, "c1")
    assert inst is not None
    assert inst["pendingFullSync"] is False


def test_cancel_stops_the_run_keeps_committed_pages_and_goes_idle(store: GraphStore, tmp_path: Path) -> None:
    plan = Plan(total=100, page=5, page_delay_s=0.05)
    _setup(store, "c1", plan)

    async def body() -> dict[str, object]:
        config = await open_config(tmp_path)
        try:
            engine = SyncEngine(store, config, logger=LOG)
            task = asyncio.create_task(engine.run_sync("c1"))
            while len(plan.pages_done) < 3:
                await asyncio.sleep(0.01)
            assert engine.is_running("c1")
            assert engine.cancel("c1")
            result = await task
            assert not engine.is_running("c1")
            assert not engine.cancel("c1")
            return result
        finally:
            await config.close()

    result = run(body())
    assert result["outcome"] == "cancelled"
    inst = get_instance(store, "c1")
    assert inst is not None
    assert (inst["status"], inst["statusReason"]) == ("IDLE", "cancelled")
    done = len(plan.pages_done)
    assert 3 <= done < 20
    assert sorted(records_by_ext(store, "c1")) == [synth_ext(i) for i in range(done * 5)]
    with store.read() as tx:
        assert tx.find_nodes("syncLeases") == []


def test_redact_hides_credentials() -> None:
    assert redact("GET /x?access_token=abc.def&x=1 Authorization: Bearer eyJhbGciOi.xyz") == (
        "GET /x?access_token=***&x=1 Authorization: Bearer ***"
    )
    assert redact('{"refresh_token": "r-123", "ok": 1}') == '{"refresh_token": "***", "ok": 1}'
    assert describe(ValueError("password=hunter2 rejected")) == "ValueError: password=*** rejected"
