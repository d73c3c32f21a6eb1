"""The SDK's contract kit on both store backends, and the connector as the platform runs it:
found through its entry point, synced by the SyncEngine (incremental, then a full resync that
must change nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.connectors import testing
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import create_instance
from headwater.connectors.sources.localfs import LocalFilesystemConnector
from headwater.store.base import GraphStore
from tests.connectors.engine.helpers import open_config

from .helpers import (
    CID,
    LOG,
    OWNER,
    OWNER_KEY,
    SEED_SHAPE,
    World,
    readable,
    record_doc,
    run,
    seed,
    shape,
    tree,
)


def test_the_contract_kit_passes(store: GraphStore, tmp_path: Path) -> None:
    root = tmp_path / "root"
    seed(root)
    world = World(store, [root], sync={"shareWithUsers": "bob@example.com"})

    deleted: list[str] = []

    def delete_in_source() -> str:
        deleted.append(str(record_doc(store, "notes.txt")["externalRecordId"]))
        (root / "notes.txt").unlink()
        return deleted[0]

    report = run(
        testing.run_contract(
            world.make,
            store,
            connector_cls=LocalFilesystemConnector,
            connector_id=CID,
            delete_in_source=delete_in_source,
        )
    )
    assert report.passed == {
        "metadata": "connector 'Local FS'",
        "unchanged re-sync": "19 records, nothing rewritten",
        "permission decision": "19 records",
        "deletes propagate": f"{deleted[0]!r} deleted",
    }
    # a local folder has no credentials: there is nothing to get wrong at login
    assert report.skipped == ["bad credentials (no make_bad_connector / bad_secret)"]
    assert shape(store) == {k: v for k, v in SEED_SHAPE.items() if k != "notes.txt"}


@pytest.fixture
def registry() -> Iterator[None]:
    saved = dict(ConnectorFactory._connector_registry), dict(ConnectorFactory._display_names)
    yield
    ConnectorFactory._connector_registry.clear()
    ConnectorFactory._connector_registry.update(saved[0])
    ConnectorFactory._display_names.clear()
    ConnectorFactory._display_names.update(saved[1])


@pytest.mark.usefixtures("registry")
def test_discovered_by_entry_point_and_synced_by_the_engine(world: World, tmp_path: Path) -> None:
    assert "Local FS" in ConnectorFactory.discover()
    assert ConnectorFactory.get_connector_class("localfs") is LocalFilesystemConnector
    meta = next(m for m in ConnectorFactory.list_metadata() if m["name"] == "Local FS")
    assert meta["appDescription"] == (
        "Folders on the Headwater server: files and subfolders, kept in sync incrementally (renames and "
        "moves keep their records), shared with the people you choose"
    )
    create_instance(
        world.store, type="Local FS", connector_id=CID, org_id=testing.DEFAULT_ORG_ID, created_by=OWNER_KEY
    )

    async def body() -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
        config = await open_config(tmp_path)
        try:
            await config.put(f"/services/connectors/{CID}/config", {"sync": dict(world.sync)})
            engine = SyncEngine(world.store, config, logger=LOG)
            first = await engine.run_sync(CID)
            keys = {p: n.key for p, n in tree(world.store).items()}
            world.new_events()
            full = await engine.run_sync(CID, full=True)
            assert {p: n.key for p, n in tree(world.store).items()} == keys
            (world.root / "docs" / "a.txt").write_text("alpha, edited")
            again = await engine.run_sync(CID)
            return first, full, again
        finally:
            await config.close()

    first, full, again = run(body())
    assert (first["outcome"], first["new"], first["failed"]) == ("completed", 19, 0)
    assert (full["outcome"], full["discovered"], full["new"], full["updated"]) == ("completed", 19, 0, 0)
    assert (again["outcome"], again["discovered"], again["updated"]) == ("completed", 1, 1)
    assert world.new_events() == [("updateRecord", "a.txt")]
    assert readable(world.store, OWNER) == sorted(SEED_SHAPE)
