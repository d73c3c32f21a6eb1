"""`headwater init`, `reset`, `serve`, `worker`, and the error policy of every command."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from headwater.connectors.core.instances import update_instance
from headwater.settings import Settings
from headwater.store.registry import open_store
from tests.cli.conftest import Cli, error_of

NO_INDEXING = "headwater.indexing.not_there_yet"


def test_init_creates_the_organisation_and_its_admin(cli: Cli, tmp_path: Path) -> None:
    fresh = Cli(tmp_path / "fresh", cli.runner)
    result = fresh("init", "--org", "Initech", "--admin-email", "peter@initech.test")
    assert result.exit_code == 0
    assert result.stdout.startswith("initialised organisation Initech (")
    status = fresh.json("status")
    assert status["organizations"] == ["Initech"]
    assert status["users"] == [{"email": "peter@initech.test", "name": "peter", "role": "admin"}]


def test_reset_refuses_a_directory_that_is_not_headwater(cli: Cli, tmp_path: Path) -> None:
    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"\xff\xd8")
    result = Cli(other, cli.runner)("reset", "--yes")
    assert result.exit_code == 1
    assert error_of(result) == (
        f"error: {other} does not look like a Headwater data directory (no headwater.db or secret.key) "
        "— pass the right --data-dir"
    )
    assert (other / "holiday.jpg").exists()


def test_reset_asks_before_deleting(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    result = cli("reset")  # no terminal, no --yes
    assert error_of(result) == "error: refusing to reset without confirmation — pass --yes"
    assert (cli.data_dir / "headwater.db").exists()
    monkeypatch.setattr("headwater.cli.common.stdin_is_interactive", lambda: True)
    result = cli("reset", input="n\n")
    assert (result.exit_code, error_of(result)) == (1, "error: nothing deleted")
    assert (cli.data_dir / "headwater.db").exists()
    result = cli("reset", input="y\n")
    assert result.exit_code == 0, result.output
    assert "headwater.db" in result.stdout  # the list of what goes, shown before asking
    assert cli.data_dir.is_dir()
    assert list(cli.data_dir.iterdir()) == []


def test_reset_yes_deletes_without_asking(cli: Cli) -> None:
    plan = cli.json("reset", "--yes")
    deleted = {Path(p).name for p in plan["delete"]}
    assert (
        {"headwater.db", "secret.key"}
        <= deleted
        <= {"headwater.db", "headwater.db-wal", "headwater.db-shm", "secret.key"}
    )
    assert (plan["keep"], plan["serverBackends"], plan["deleted"]) == ([], [], True)
    assert list(cli.data_dir.iterdir()) == []


def test_serve_runs_the_sync_worker_until_stopped(
    cli: Cli, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("headwater.services.workers.INDEXING_MODULE", NO_INDEXING)
    view = cli.add_notes(folder)
    store = open_store(Settings(data_dir=cli.data_dir).resolved_store_url)
    try:
        update_instance(store, view["id"], syncRequested=True)  # "sync now", as an event would ask
    finally:
        store.close()
    result = cli("serve", "--for", "1.5", "--port", "0")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    api_line = re.fullmatch(
        r"running HTTP API and web UI: (http://127\.0\.0\.1:\d+)  \(API docs: (http://\S+)/docs\)", lines[2]
    )
    assert api_line is not None, lines[2]
    assert api_line[1] == api_line[2]
    assert [*lines[:2], *lines[3:]] == [
        "running sync worker: scheduled syncs and the sync-events consumer",
        "not running indexing worker: not built yet (issue 5)",
        "press Ctrl-C to stop",
        "stopped",
    ]
    last = cli.json("status", "notes")["runs"][0]
    assert (last["outcome"], last["new"]) == ("completed", 5)


def test_worker_runs_one_role(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("headwater.services.workers.INDEXING_MODULE", NO_INDEXING)
    result = cli("worker", "--role", "indexing", "--for", "0.1")
    assert result.exit_code == 2
    assert error_of(result) == "error: the indexing worker is not built yet (issue 5)"

    seen: list[Path] = []

    async def serve(settings: Settings, stop: asyncio.Event) -> None:
        seen.append(settings.data_dir)
        await stop.wait()

    fake = types.ModuleType("fake_indexing_worker")
    fake.serve = serve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_indexing_worker", fake)
    monkeypatch.setattr("headwater.services.workers.INDEXING_MODULE", "fake_indexing_worker")
    result = cli("worker", "--role", "indexing", "--for", "0.1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "running indexing worker: record-events -> the search index"
    assert seen == [cli.data_dir]
    result = cli("worker", "--role", "sync", "--for", "0.1")
    assert result.exit_code == 0, result.output


def test_an_unexpected_error_is_one_line_saying_it_is_a_bug(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(settings: Settings) -> list[object]:
        raise RuntimeError("boom at https://api.example/x?access_token=abc123secret")

    monkeypatch.setattr("headwater.cli.records.list_users", broken)
    result = cli("users")
    assert result.exit_code == 1
    assert error_of(result) == (
        "error: unexpected RuntimeError: boom at https://api.example/x?access_token=*** — this is a bug "
        "in Headwater; run again with HEADWATER_DEBUG=1 to see the traceback"
    )


def test_the_command_as_a_process_prints_one_error_line_and_no_traceback(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "headwater.cli.main"]
    missing = subprocess.run(
        [*command, "records", "--data-dir", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.splitlines() == [
        f"error: no Headwater instance in {tmp_path / 'nowhere'} (no headwater.db) — run `headwater init "
        f"--data-dir {tmp_path / 'nowhere'}` first, or pass the right --data-dir"
    ]
