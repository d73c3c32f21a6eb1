"""`headwater connectors ...`: listing types, adding instances from --set or prompts, configuring,
enabling and disabling; secrets stay encrypted and masked; errors name the field and the reason."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from headwater.config.registry import open_config_store
from headwater.events.base import ENTITY_EVENTS
from headwater.settings import Settings
from headwater.store.registry import open_store
from headwater.store.schema import PARTITIONS
from tests.cli.conftest import ADA, TOKEN, Cli, error_of

NOTES_TYPE = {
    "type": "Notes Folder",
    "group": "Test",
    "description": "Notes from a folder on disk",
    "authTypes": ["API_TOKEN"],
    "scopes": ["personal", "team"],
    "categories": [],
    "syncStrategies": ["MANUAL", "SCHEDULED"],
    "instances": [],
}
CHECK_FAILED_HINT = " (or pass --skip-check to save it anyway)"
CONNECTION_FAILED = "the connection test failed (check the credentials and that the source is reachable)"


def form(folder: Path, **values: Any) -> list[dict[str, Any]]:
    """The masked config an instance view shows, with the defaults unless overridden."""
    rows = [
        ("auth.folder", "Folder", True, False, str(folder)),
        ("auth.apiToken", "API token", True, True, "••••"),
        ("auth.mode", "Mode", False, False, "fast"),
        ("auth.pageSize", "Page size", False, False, 2),
        ("sync.strategy", "Sync strategy", True, False, "MANUAL"),
        ("sync.intervalMinutes", "Sync every (minutes)", True, False, None),
        ("filters.sync.file_extensions", "File extensions", False, False, ""),
        ("filters.indexing.files", "Index files", False, False, ""),
    ]
    out = []
    for field, label, required, secret, default in rows:
        value = values.get(field.rsplit(".", 1)[1], default)
        if field == "sync.intervalMinutes" and value is None:
            continue  # shown only for a SCHEDULED strategy
        out.append({"field": field, "label": label, "required": required, "secret": secret, "value": value})
    return out


def stored_config(data_dir: Path, connector_id: str) -> dict[str, Any] | None:
    async def read() -> dict[str, Any] | None:
        config = await open_config_store(Settings(data_dir=data_dir))
        try:
            return await config.get(f"/services/connectors/{connector_id}/config")
        finally:
            await config.close()

    return asyncio.run(read())


def instance_doc(data_dir: Path, connector_id: str) -> dict[str, Any] | None:
    store = open_store(Settings(data_dir=data_dir).resolved_store_url)
    try:
        with store.read() as tx:
            return tx.get_node("apps", connector_id)
    finally:
        store.close()


def json_after_prompts(stdout: str) -> Any:
    """The JSON result: under a test runner the answers typed are echoed to stdout before it."""
    return json.loads(stdout[stdout.index("{") :])


def test_list_shows_each_type_with_its_instances(cli: Cli, folder: Path) -> None:
    types = {t["type"]: t for t in cli.json("connectors", "list")}
    assert types["Notes Folder"] == NOTES_TYPE
    cli.add_notes(folder)
    team = cli.add_notes(folder, "more notes", "--scope", "team")
    assert team["scope"] == "team"
    stored = stored_config(cli.data_dir, team["id"])
    assert stored is not None
    assert stored["auth"]["connectorScope"] == "team"
    types = {t["type"]: t for t in cli.json("connectors", "list")}
    assert types["Notes Folder"]["instances"] == ["more notes", "notes"]


def test_fields_lists_the_form_of_a_type(cli: Cli) -> None:
    rows = cli.json("connectors", "fields", "notes folder")
    assert [(r["field"], r["type"], r["required"], r["secret"]) for r in rows] == [
        ("auth.folder", "TEXT", True, False),
        ("auth.apiToken", "PASSWORD", True, True),
        ("auth.mode", "SELECT", False, False),
        ("auth.pageSize", "NUMBER", False, False),
        ("sync.strategy", "SELECT", True, False),
        ("sync.intervalMinutes", "NUMBER", True, False),
        ("filters.sync.file_extensions", "list", False, False),
        ("filters.indexing.files", "boolean", False, False),
    ]
    assert rows[2]["options"] == ["fast", "thorough"]
    assert rows[6]["operators"] == ["in", "not_in"]


def test_add_stores_the_config_encrypted_and_shows_the_secret_masked(cli: Cli, folder: Path) -> None:
    view = cli.add_notes(folder)
    assert view == {
        "id": view["id"],
        "name": "notes",
        "type": "Notes Folder",
        "scope": "personal",
        "isActive": True,
        "status": "IDLE",
        "statusReason": None,
        "intervalMinutes": None,
        "lastRunId": None,
        "config": form(folder),
    }
    assert stored_config(cli.data_dir, view["id"]) == {
        "auth": {
            "authType": "API_TOKEN",
            "connectorScope": "personal",
            "connectorType": "Notes Folder",
            "folder": str(folder),
            "apiToken": TOKEN,
            "mode": "fast",
            "pageSize": 2,
        },
        "sync": {"selectedStrategy": "MANUAL"},
        "filters": {"sync": {"values": {}}, "indexing": {"values": {}}},
        "credentials": None,
        "oauth": None,
    }
    on_disk = b"".join(p.read_bytes() for p in cli.data_dir.glob("headwater.db*"))
    assert TOKEN.encode() not in on_disk
    doc = instance_doc(cli.data_dir, view["id"])
    assert doc is not None
    store = open_store(Settings(data_dir=cli.data_dir).resolved_store_url)
    try:
        with store.read() as tx:
            creator = tx.get_node("users", doc["createdBy"])
    finally:
        store.close()
    assert creator is not None
    assert creator["email"] == ADA  # the first admin, with no --owner
    shown = cli("connectors", "show", "notes")
    assert "••••" in shown.stdout
    assert TOKEN not in shown.output


def test_add_asks_each_field_with_the_secret_hidden(
    cli: Cli, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("headwater.cli.common.stdin_is_interactive", lambda: True)
    # folder, token (empty first: it is required), mode (Enter keeps "fast"), page size, strategy,
    # interval (asked because SCHEDULED), extensions, index files (Enter: no filter)
    answers = [str(folder), "", TOKEN, "", "3", "scheduled", "15", "md, url", ""]
    result = cli(
        "connectors", "add", "Notes Folder", "--name", "notes", "--json", input="\n".join(answers) + "\n"
    )
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    assert "a value is needed" in result.stderr
    view = json_after_prompts(result.stdout)
    assert view["intervalMinutes"] == 15.0
    assert view["config"] == form(
        folder, pageSize=3, strategy="SCHEDULED", intervalMinutes=15, file_extensions="in md, url"
    )
    stored = stored_config(cli.data_dir, view["id"])
    assert stored is not None
    assert stored["auth"]["apiToken"] == TOKEN
    assert stored["sync"] == {"selectedStrategy": "SCHEDULED", "scheduledConfig": {"intervalMinutes": 15}}
    assert stored["filters"]["sync"]["values"] == {
        "file_extensions": {"type": "list", "operator": "in", "value": ["md", "url"]}
    }


def test_add_without_a_terminal_names_every_missing_field(cli: Cli) -> None:
    result = cli("connectors", "add", "Notes Folder", "--name", "notes")
    assert result.exit_code == 1
    assert error_of(result) == (
        "error: Notes Folder needs a value for folder (Folder), apiToken (API token) — "
        "pass --set folder=... --set apiToken=..."
    )
    assert cli.json("status")["connectors"] == []


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("pageSize=lots", "error: pageSize: 'lots' is not a number"),
        ("mode=slow", "error: mode: 'slow' is not one of fast, thorough"),
        ("strategy=HOURLY", "error: strategy: 'HOURLY' is not one of MANUAL, SCHEDULED"),
        ("files=maybe", "error: files: 'maybe' is not true or false"),
        (
            "file_extensions=is_between:1..2",
            "error: file_extensions: operator 'is_between' is not one of in, not_in",
        ),
        (
            "colour=red",
            "error: colour: no such field (fields: folder, apiToken, mode, pageSize, strategy, "
            "intervalMinutes, file_extensions, files)",
        ),
    ],
)
def test_a_bad_value_names_the_field_and_why(cli: Cli, folder: Path, assignment: str, message: str) -> None:
    result = cli("connectors", "add", "Notes Folder", "--name", "notes", "--no-input",
                 "--set", f"folder={folder}", "--set", f"apiToken={TOKEN}", "--set", assignment)  # fmt: skip
    assert result.exit_code == 1
    assert error_of(result) == message


def test_add_refuses_a_config_the_connector_cannot_start_with(cli: Cli, folder: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    result = cli("connectors", "add", "Notes Folder", "--name", "notes", "--no-input",
                 "--set", f"folder={missing}", "--set", f"apiToken={TOKEN}")  # fmt: skip
    assert result.exit_code == 1
    assert error_of(result) == (
        f"error: cannot add notes: init failed: folder {missing} does not exist — pass an existing "
        f"directory with --set folder=/dir{CHECK_FAILED_HINT}"
    )
    result = cli("connectors", "add", "Notes Folder", "--name", "notes", "--no-input",
                 "--set", f"folder={folder}", "--set", "apiToken=wrong-token")  # fmt: skip
    assert (
        error_of(result)
        == f"error: cannot add notes: connection failed: {CONNECTION_FAILED}{CHECK_FAILED_HINT}"
    )
    assert cli.json("status")["connectors"] == []
    assert not [k for k in cli.json("status")["configKeys"] if k.startswith("/services/connectors/")]
    # --skip-check stores it anyway, disabled until it can start
    view = cli.json("connectors", "add", "Notes Folder", "--name", "notes", "--no-input", "--skip-check",
                    "--set", f"folder={missing}", "--set", f"apiToken={TOKEN}")  # fmt: skip
    assert view["isActive"] is False


def test_unknown_type_name_and_duplicates_are_one_line_each(cli: Cli, folder: Path, tmp_path: Path) -> None:
    result = cli("connectors", "add", "Nope", "--name", "x", "--no-input")
    line = error_of(result)
    assert result.exit_code == 1
    assert line.startswith("error: unknown connector 'Nope'; known connectors: ")
    assert "Notes Folder" in line
    assert line.endswith("— see `headwater connectors list`")

    cli.add_notes(folder)
    result = cli("connectors", "configure", "notes", "--no-input", "--set", "pageSize")
    assert error_of(result) == "error: --set expects field=value, not 'pageSize'"
    result = cli("connectors", "add", "Notes Folder", "--name", "NOTES", "--no-input")
    assert error_of(result) == (
        "error: a connector instance named 'notes' exists already — pick another --name, or change it "
        "with `headwater connectors configure notes`"
    )
    for command in (("connectors", "test", "nope"), ("connectors", "enable", "nope"), ("sync", "nope")):
        result = cli(*command)
        assert result.exit_code == 1
        assert error_of(result) == (
            "error: no connector instance named 'nope' (instances: notes) — add one with "
            "`headwater connectors add TYPE --name NAME`"
        )
    empty = tmp_path / "empty"
    result = Cli(empty, cli.runner)("connectors", "add", "Notes Folder", "--name", "x", "--no-input")
    assert error_of(result) == (
        f"error: no Headwater instance in {empty} (no headwater.db) — run `headwater init --data-dir "
        f"{empty}` first, or pass the right --data-dir"
    )


def test_configure_changes_some_fields_and_keeps_the_secret(cli: Cli, folder: Path, tmp_path: Path) -> None:
    view = cli.add_notes(folder)
    changed = cli.json("connectors", "configure", "notes", "--no-input",
                       "--set", "pageSize=5", "--set", "file_extensions=not_in: tmp, log")  # fmt: skip
    assert changed["changed"] is True
    assert changed["config"] == form(folder, pageSize=5, file_extensions="not_in tmp, log")
    stored = stored_config(cli.data_dir, view["id"])
    assert stored is not None
    assert stored["auth"]["apiToken"] == TOKEN
    assert stored["filters"]["sync"]["values"] == {
        "file_extensions": {"type": "list", "operator": "not_in", "value": ["tmp", "log"]}
    }
    assert cli.json("connectors", "configure", "notes", "--no-input")["changed"] is False

    missing = tmp_path / "gone"
    result = cli("connectors", "configure", "notes", "--no-input", "--set", f"folder={missing}")
    assert result.exit_code == 1
    assert error_of(result) == (
        f"error: notes: config not saved: init failed: folder {missing} does not exist — pass an "
        f"existing directory with --set folder=/dir{CHECK_FAILED_HINT}"
    )
    assert stored_config(cli.data_dir, view["id"]) == stored


def test_configure_asks_with_current_values_and_enter_keeps_them(
    cli: Cli, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.add_notes(folder)
    monkeypatch.setattr("headwater.cli.common.stdin_is_interactive", lambda: True)
    # folder, token, mode, page size, strategy, extensions, index files: Enter keeps each
    result = cli("connectors", "configure", "notes", "--json", input="\n" * 7)
    assert result.exit_code == 0, result.output
    assert "(Enter keeps the stored one)" in result.stderr
    assert json_after_prompts(result.stdout)["changed"] is False
    assert TOKEN not in result.output


def test_enable_checks_the_connector_and_disable_stops_syncs(cli: Cli, folder: Path) -> None:
    view = cli.add_notes(folder)
    assert cli.json("connectors", "disable", "notes")["changed"] is True
    assert cli.json("connectors", "disable", "notes")["changed"] is False
    result = cli("sync", "notes")
    assert error_of(result) == (
        "error: sync of notes skipped: inactive — enable it with `headwater connectors enable notes`"
    )
    (folder / ".token").write_text("rotated")
    result = cli("connectors", "enable", "notes")
    assert result.exit_code == 1
    assert error_of(result) == (
        f"error: notes cannot be enabled: connection failed: {CONNECTION_FAILED} — fix it with "
        "`headwater connectors configure notes`"
    )
    assert cli.json("connectors", "show", "notes")["isActive"] is False
    (folder / ".token").write_text(TOKEN)
    enabled = cli.json("connectors", "enable", "notes")
    assert (enabled["isActive"], enabled["changed"]) == (True, True)
    store = open_store(Settings(data_dir=cli.data_dir).resolved_store_url)
    try:
        with store.read() as tx:
            events = [
                (e.event["eventType"], e.event["payload"]["appId"])
                for p in range(PARTITIONS)
                for e in tx.read_events(ENTITY_EVENTS, p)
                if e.event["eventType"].startswith("app")
            ]
    finally:
        store.close()
    assert events == [("appDisabled", view["id"]), ("appEnabled", view["id"])]
