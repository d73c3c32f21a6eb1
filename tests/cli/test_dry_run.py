"""`headwater connectors test NAME`: the playbook §8 test run, which writes nothing."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from headwater.config.registry import open_config_store
from headwater.connectors.testing import Snapshot, snapshot
from headwater.settings import Settings
from headwater.store.registry import open_store
from tests.cli.conftest import ADA, Cli, error_of
from tests.cli.notes_connector import NotesFolderConnector


def state(data_dir: Path) -> tuple[Snapshot, dict[str, Any]]:
    """Every node, edge and event count in the store, and every config value."""
    store = open_store(Settings(data_dir=data_dir).resolved_store_url)
    try:
        graph = snapshot(store)
    finally:
        store.close()

    async def config() -> dict[str, Any]:
        cfg = await open_config_store(Settings(data_dir=data_dir))
        try:
            return {key: await cfg.get(key) for key in await cfg.list_keys("/")}
        finally:
            await cfg.close()

    return graph, asyncio.run(config())


def row(name: str, type_: str, path: str | None, url: str | None, access: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "type": type_,
        "path": path,
        "webUrl": url,
        "connector": "notes",
        "indexingStatus": "QUEUED",
        "access": access,
    }


def test_shows_what_a_sync_would_bring_and_writes_nothing(cli: Cli, folder: Path) -> None:
    cli.add_notes(folder)
    before = state(cli.data_dir)
    report = cli.json("connectors", "test", "notes")
    assert state(cli.data_dir) == before
    assert report["ok"] is True
    assert report["steps"] == [
        {"name": "config", "ok": True, "detail": "stored config found"},
        {"name": "init", "ok": True, "detail": "the connector started with its config"},
        {"name": "connection", "ok": True, "detail": "the source answered with these credentials"},
        {"name": "sample", "ok": True, "detail": "the listing finished: 5 items"},
    ]
    assert report["recordsByType"] == {"FILE": 4, "WEBPAGE": 1}
    assert report["totals"] == {"records": 5, "recordGroups": 1, "groups": 0, "permissions": 4}
    assert [{k: v for k, v in r.items() if k != "id"} for r in report["sample"]] == [
        row("notes.txt", "FILE", "notes.txt", None, ["organisation"]),
        row("plan.md", "FILE", "team/plan.md", None, ["via team: organisation"]),
        row("readme.md", "FILE", "readme.md", None, ["organisation"]),
        row("salary.md", "FILE", f"{ADA}/salary.md", None, [f"{ADA} (OWNER)"]),
        row("site.url", "WEBPAGE", None, "https://intranet.acme.test/plan", ["via team: organisation"]),
    ]
    assert report["failures"] == [
        {"externalId": "broken.bad", "recordName": "broken.bad", "reason": "the file is corrupt"}
    ]
    assert report["stoppedEarly"] is None
    text = cli("connectors", "test", "notes", "--sample", "2")
    assert text.exit_code == 0
    assert "a sync would bring 5 records (4 FILE, 1 WEBPAGE), 1 record groups, 0 groups" in text.stdout
    assert "first 2 items" in text.stdout


def test_the_sample_stops_at_its_limit(cli: Cli, folder: Path) -> None:
    cli.add_notes(folder)
    NotesFolderConnector.hang_after_pages = 2  # pages of two files; the listing stalls after two
    report = cli.json("connectors", "test", "notes", "--max-items", "2")
    # page 1: salary.md and the corrupt file; page 2: notes.txt and readme.md -> 3 items, stopped
    assert report["stoppedEarly"] == "stopped after 3 items (the sample limit is 2)"
    assert report["steps"][-1] == {
        "name": "sample",
        "ok": True,
        "detail": "stopped after 3 items (the sample limit is 2)",
    }
    assert report["totals"]["records"] == 3


def test_a_failing_step_is_one_error_line_and_stops_the_rest(cli: Cli, folder: Path) -> None:
    cli.add_notes(folder)
    (folder / ".token").write_text("rotated")
    result = cli("connectors", "test", "notes", "--json")
    assert result.exit_code == 1
    assert error_of(result) == (
        "error: notes: connection failed: the connection test failed (check the credentials and that "
        "the source is reachable)"
    )
    shutil.rmtree(folder)
    result = cli("connectors", "test", "notes")
    assert result.exit_code == 1
    assert "FAIL init" in result.stdout
    assert error_of(result) == (
        f"error: notes: init failed: folder {folder} does not exist — pass an existing directory with "
        "--set folder=/dir"
    )


def test_the_sample_stops_at_its_time_limit(cli: Cli, folder: Path) -> None:
    cli.add_notes(folder)
    NotesFolderConnector.hang_after_pages = 1
    report = cli.json("connectors", "test", "notes", "--timeout", "0.3")
    assert report["stoppedEarly"] == "stopped after 0.3 s (the time limit)"
    assert report["totals"]["records"] == 1  # the first page: salary.md (the corrupt file failed)
