"""Deleting a connector instance through the API removes its records, their edges, its record
groups, sync points, history and config, and (once the indexing worker has read the
`bulkDeleteRecords` event) its search index entries, while another instance's stay searchable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fastapi import FastAPI

from headwater.api.state import ApiState, holder_of
from headwater.connectors.core.engine import SyncEngine
from headwater.models.constants import EDGE_COLLECTIONS
from headwater.services.platform import config_key
from tests.api.conftest import ApiInstance, ClientFactory
from tests.api.indexing import index_until_idle

pytestmark = pytest.mark.anyio


@pytest.fixture
def instance(instance: ApiInstance, tmp_path: Path) -> ApiInstance:
    """The API conftest's instance, letting the API add Local FS folders under this test's tmp dir."""
    settings = instance.settings.model_copy(update={"localfs_roots": (tmp_path,)})
    return dataclasses.replace(instance, settings=settings)


def found(state: ApiState, query: str, user_key: str) -> set[str]:
    return {h.record_name for h in state.search.search(query, user_key=user_key, mode="keyword").hits}


async def test_delete_removes_records_edges_config_and_index_entries(
    client_for: ClientFactory, app: FastAPI, instance: ApiInstance, tmp_path: Path
) -> None:
    admin = await client_for("admin@acme.test")  # Local FS through the API: admins, team instances
    member_key = instance.user_keys["member@acme.test"]
    folders = {}
    plan = "# Harbour plan\n\nThe lighthouse keeper logs every ship."
    for name, files in (
        ("harbour", {"plan.md": plan, "sub/notes.txt": "lighthouse rota"}),
        ("kept", {"other.md": "# Other\n\nThe lighthouse in the other folder stays."}),
    ):
        root = tmp_path / name
        for relative, text in files.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text)
        folders[name] = root
    ids = {}
    for name, root in folders.items():
        config = {"folders": str(root), "shareWithUsers": "member@acme.test"}
        r = await admin.post(
            "/api/v1/connectors", json={"name": name, "type": "localfs", "scope": "team", "config": config}
        )
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]

    state = await holder_of(app).get()
    engine = SyncEngine(state.store, state.config)
    for cid in ids.values():
        assert (await engine.run_sync(cid))["outcome"] == "completed"
    await index_until_idle(state)
    assert found(state, "lighthouse", member_key) == {"plan.md", "notes.txt", "other.md"}

    gone = ids["harbour"]
    with state.store.read() as tx:
        records = tx.find_nodes("records", connector_id=gone)
        node_ids = [f"records/{d['_key']}" for d in records]
        edges_before = sum(
            len(tx.get_edges(c, from_ids=node_ids)) + len(tx.get_edges(c, to_ids=node_ids))
            for c in EDGE_COLLECTIONS
        )
        assert tx.find_nodes("recordGroups", connector_id=gone)
        assert tx.find_nodes("syncPoints", connector_id=gone)
        assert sum(d.get("connectorId") == gone for d in tx.find_nodes("syncRuns")) == 1
    assert len(records) >= 3
    assert edges_before > 0

    r = await admin.delete(f"/api/v1/connectors/{gone}")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "connectorId": gone,
        "deleted": True,
        "scheduled": False,
        "deletedRecords": len(records),
    }

    with state.store.read() as tx:
        assert tx.find_nodes("records", connector_id=gone) == []
        assert tx.get_records([d["_key"] for d in records]) == {}
        for collection in EDGE_COLLECTIONS:
            assert tx.get_edges(collection, from_ids=node_ids) == []
            assert tx.get_edges(collection, to_ids=node_ids) == []
        assert tx.find_nodes("recordGroups", connector_id=gone) == []
        assert tx.find_nodes("syncPoints", connector_id=gone) == []
        assert [d for d in tx.find_nodes("syncRuns") if d.get("connectorId") == gone] == []
    assert await state.config.get(config_key(gone)) is None
    assert (await admin.get(f"/api/v1/connectors/{gone}")).status_code == 404
    assert [c["id"] for c in (await admin.get("/api/v1/connectors")).json()["connectors"]] == [ids["kept"]]

    await index_until_idle(state)  # the worker reads bulkDeleteRecords
    assert found(state, "lighthouse", member_key) == {"other.md"}
    assert found(state, "harbour", member_key) == set()
