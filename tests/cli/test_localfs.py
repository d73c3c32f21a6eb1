"""The CLI with the built-in Local FS connector, found through its entry point: add, test, sync,
and what each user may read. (Its own behaviour is tested with it; this checks the wiring.)"""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import BOB, Cli, error_of

LOCAL_FS = "Local FS"


def test_a_local_folder_from_add_to_records(cli: Cli, folder: Path, tmp_path: Path) -> None:
    assert LOCAL_FS in {t["type"] for t in cli.json("connectors", "list")}
    missing = tmp_path / "missing"
    result = cli("connectors", "add", LOCAL_FS, "--name", "docs", "--no-input", "--set", f"folders={missing}")
    assert result.exit_code == 1
    line = error_of(result)
    assert line.startswith("error: cannot add docs: init failed: ")
    assert str(missing) in line

    view = cli.json("connectors", "add", LOCAL_FS, "--name", "docs", "--no-input",
                    "--set", f"folders={folder}", "--set", f"shareWithUsers={BOB}")  # fmt: skip
    assert (view["type"], view["isActive"]) == (LOCAL_FS, True)
    report = cli.json("connectors", "test", "docs")
    assert report["ok"] is True
    assert report["totals"]["records"] > 0
    run = cli.json("sync", "docs")
    assert run["outcome"] == "completed"
    assert run["new"] == report["totals"]["records"]  # the dry run showed what the sync brought
    readable = cli.json("records", "--connector", "docs", "--as", BOB)
    assert "readme.md" in {r["name"] for r in readable["records"]}
