"""`headwater sync` and `headwater status`: runs, their counts, history and failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli.conftest import ADA, BOB, TOKEN, Cli, error_of

RUN_KEYS = {
    "_key", "connectorId", "orgId", "workerId", "full", "startedAt", "endedAt", "outcome", "discovered",
    "new", "updated", "unchanged", "deleted", "skipped", "failed", "error", "throttleResumes", "name", "type",
}  # fmt: skip


def counts(run: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("outcome", "full", "discovered", "new", "updated", "unchanged", "deleted", "skipped", "failed")
    return tuple(run[k] for k in keys)


def test_sync_json_is_the_run_document(cli: Cli, folder: Path) -> None:
    view = cli.add_notes(folder)
    first = cli.json("sync", "notes")
    assert set(first) == RUN_KEYS
    assert (first["name"], first["type"], first["connectorId"]) == ("notes", "Notes Folder", view["id"])
    assert counts(first) == ("completed", False, 5, 5, 0, 0, 0, 0, 1)
    assert (first["error"], first["throttleResumes"]) == (None, 0)
    # the sync point says every page was read: nothing to do
    assert counts(cli.json("sync", "notes")) == ("completed", False, 0, 0, 0, 0, 0, 0, 0)
    # a full sync lists everything again; nothing changed
    assert counts(cli.json("sync", "notes", "--full")) == ("completed", True, 5, 0, 0, 5, 0, 0, 1)

    history = cli.json("status", "notes", "--history")
    assert [counts(r) for r in history["runs"]] == [
        ("completed", True, 5, 0, 0, 5, 0, 0, 1),
        ("completed", False, 0, 0, 0, 0, 0, 0, 0),
        ("completed", False, 5, 5, 0, 0, 0, 0, 1),
    ]
    corrupt = [{k: v for k, v in f.items() if k != "at"} for f in history["runs"][0]["failures"]]
    assert corrupt == [
        {"externalId": "broken.bad", "recordName": "broken.bad", "reason": "the file is corrupt"}
    ]
    assert history["runs"][1]["failures"] == []
    assert (history["name"], history["status"], history["lastRunId"]) == (
        "notes",
        "IDLE",
        history["runs"][0]["_key"],
    )
    assert len(cli.json("status", "notes")["runs"]) == 1  # without --history: the last run only


def test_sync_shows_progress_and_a_summary(cli: Cli, folder: Path) -> None:
    cli.add_notes(folder)
    result = cli("sync", "notes")
    assert result.exit_code == 0, result.output
    assert "5 discovered, 5 processed, 1 failed" in result.stdout  # the progress row, final state
    assert "notes: sync completed in" in result.stdout
    assert "— 5 discovered; 5 new, 1 failed" in result.stdout


def test_sync_all_runs_every_enabled_instance(cli: Cli, folder: Path) -> None:
    result = cli("sync")
    assert error_of(result) == "error: name one instance to sync, or pass --all (not both)"
    result = cli("sync", "--all")
    assert error_of(result) == (
        "error: no active connector instances to sync — add one with `headwater connectors add`"
    )
    cli.add_notes(folder)
    cli.add_notes(folder, "archive")
    cli.json("connectors", "disable", "archive")
    cli.add_notes(folder, "backup")
    runs = cli.json("sync", "--all")
    assert [(r["name"], r["outcome"], r["new"]) for r in runs] == [
        ("backup", "completed", 5),
        ("notes", "completed", 5),
    ]


def test_a_rejected_token_needs_reauth_and_the_secret_is_redacted(cli: Cli, folder: Path) -> None:
    cli.add_notes(folder)
    (folder / ".token").write_text("rotated")
    result = cli("sync", "notes")
    assert result.exit_code == 1
    assert error_of(result) == (
        "error: sync of notes needs_reauth: SourceAuthError: the folder rejected the token "
        "(Authorization: Bearer ***)"
    )
    assert TOKEN not in result.output
    state = cli.json("status", "notes")
    assert (state["status"], state["statusReason"]) == (
        "NEEDS_REAUTH",
        "SourceAuthError: the folder rejected the token (Authorization: Bearer ***)",
    )


def test_status_lists_the_instance_and_its_connectors(cli: Cli, folder: Path, tmp_path: Path) -> None:
    assert cli.json("status")["connectors"] == []
    view = cli.add_notes(folder)
    run = cli.json("sync", "notes")
    status = cli.json("status")
    assert status["organizations"] == ["Acme"]
    assert status["records"] == 5
    assert status["readableRecordsByUser"] == {ADA: 5, BOB: 4}
    [connector] = status["connectors"]
    assert {k: v for k, v in connector.items() if k != "lastRun"} == {
        "id": view["id"],
        "name": "notes",
        "type": "Notes Folder",
        "scope": "personal",
        "isActive": True,
        "status": "IDLE",
        "statusReason": None,
        "intervalMinutes": None,
        "lastRunId": run["_key"],
    }
    assert connector["lastRun"] == {k: v for k, v in run.items() if k not in ("name", "type")}
    text = cli("status")
    assert "notes" in text.stdout
    assert "completed" in text.stdout
    result = Cli(tmp_path / "none", cli.runner)("status")
    assert result.exit_code == 1
    assert error_of(result).startswith(f"error: no Headwater instance in {tmp_path / 'none'}")
    assert not (tmp_path / "none").exists()  # looking does not create it
