"""`headwater connectors remove NAME [--yes]`: the instance goes with its records, edges, sync
state and config; the indexing worker then removes its index entries on the event; other
instances are untouched; nothing goes without a confirmation."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.events.base import RECORD_EVENTS
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.indexing.index.registry import open_search_index
from headwater.settings import Settings
from headwater.store.registry import open_store
from headwater.store.schema import PARTITIONS
from tests.cli.conftest import BOB, Cli, error_of
from tests.cli.indexing import index_until_idle
from tests.cli.test_connectors import stored_config

LOCAL_FS = "Local FS"


def record_keys(cli: Cli, name: str) -> set[str]:
    return {r["id"] for r in cli.json("records", "--connector", name, "--limit", "1000")["records"]}


def test_remove_deletes_everything_the_instance_synced(cli: Cli, folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.md").write_text("# Keep me")
    for name, path in (("docs", folder), ("other", other)):
        cli.json("connectors", "add", LOCAL_FS, "--name", name, "--no-input",
                 "--set", f"folders={path}", "--set", f"shareWithUsers={BOB}")  # fmt: skip
        assert cli.json("sync", name)["outcome"] == "completed"
    docs_keys, other_keys = record_keys(cli, "docs"), record_keys(cli, "other")
    assert docs_keys
    assert other_keys
    settings = Settings(data_dir=cli.data_dir)
    index = open_search_index(settings.resolved_index_url, HashingEmbedder().dimensions)
    try:
        index_until_idle(settings, index)
        indexed_before = index.record_keys()
        assert indexed_before & docs_keys
        assert indexed_before & other_keys
        docs_id = next(c["id"] for c in cli.json("status")["connectors"] if c["name"] == "docs")
        store = open_store(settings.resolved_store_url)
        try:
            with store.read() as tx:  # placeholders too, which browsing does not list
                stored = len(tx.find_nodes("records", connector_id=docs_id))
        finally:
            store.close()

        # not without a confirmation (no terminal to ask on here)
        refused = cli("connectors", "remove", "docs")
        assert refused.exit_code == 1
        assert error_of(refused) == "error: refusing to remove docs without confirmation — pass --yes"
        assert record_keys(cli, "docs") == docs_keys

        done = cli.json("connectors", "remove", "DOCS", "--yes")  # names are case-insensitive
        assert done == {
            "connectorId": docs_id,
            "name": "docs",
            "deleted": True,
            "scheduled": False,
            "deletedRecords": stored,
        }
        assert "docs" not in {c["name"] for c in cli.json("status")["connectors"]}
        assert stored_config(cli.data_dir, docs_id) is None
        store = open_store(settings.resolved_store_url)
        try:
            with store.read() as tx:
                assert tx.find_nodes("records", connector_id=docs_id) == []
                assert tx.find_nodes("recordGroups", connector_id=docs_id) == []
                assert tx.get_edges("permissions", to_ids=[f"records/{k}" for k in docs_keys]) == []
                [payload] = [
                    e.event["payload"]
                    for p in range(PARTITIONS)
                    for e in tx.read_events(RECORD_EVENTS, p)
                    if e.event["eventType"] == "bulkDeleteRecords"
                ]
        finally:
            store.close()
        assert (payload["connectorId"], payload["totalRecords"]) == (docs_id, stored)

        index_until_idle(settings, index)  # the worker acts on the event
        indexed_after = index.record_keys()
        assert not indexed_after & docs_keys
        assert indexed_after & other_keys == indexed_before & other_keys  # the other instance is intact
    finally:
        index.close()
    assert record_keys(cli, "other") == other_keys

    again = cli("connectors", "remove", "docs", "--yes")
    assert again.exit_code == 1
    assert error_of(again).startswith("error: no connector instance named 'docs' (instances: other)")


def test_remove_asks_first_and_no_keeps_everything(
    cli: Cli, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.json("connectors", "add", LOCAL_FS, "--name", "docs", "--no-input", "--set", f"folders={folder}")
    assert cli.json("sync", "docs")["outcome"] == "completed"
    keys = record_keys(cli, "docs")
    monkeypatch.setattr("headwater.cli.common.stdin_is_interactive", lambda: True)  # a terminal to ask on
    declined = cli("connectors", "remove", "docs", input="n\n")
    assert declined.exit_code == 1
    assert f"this deletes docs (Local FS, personal) and its {len(keys)} records" in declined.stdout
    assert error_of(declined) == "error: nothing removed"
    assert record_keys(cli, "docs") == keys

    accepted = cli("connectors", "remove", "docs", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "removed docs and its" in accepted.stdout
    assert "docs" not in {c["name"] for c in cli.json("status")["connectors"]}
