"""The main job a newcomer runs first, and the CLI's error lines."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from headwater.cli.main import app

runner = CliRunner()
ADA, BOB = "ada@demo.headwater.test", "bob@demo.headwater.test"


def test_demo_syncs_indexes_and_searches_the_sample_workspace_with_permissions(tmp_path: Path) -> None:
    """The main job end to end, with the real parsers, the real local model and the embedded index;
    run twice, the second run changes nothing and finds the same."""
    result = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["organizations"] == ["Demo Org"]
    assert sorted(u["email"] for u in data["users"]) == [ADA, BOB]
    demo = data["demo"]
    # 34 documents and 8 folders in the workspace; 5 documents and no folders in Ada's private folder
    assert {run["name"]: (run["outcome"], run["new"]) for run in demo["syncs"]} == {
        "Larkspur team drive": ("completed", 37),
        "Ada's private folder": ("completed", 5),
    }
    assert data["readableRecordsByUser"] == {ADA: 42, BOB: 37}
    assert demo["indexing"] == {"COMPLETED": 34, "AUTO_INDEX_OFF": 8}  # folders are not indexed
    by_asker = {(s["query"], s["as"]): [h["recordName"] for h in s["hits"]] for s in demo["searches"]}
    assert by_asker[("how much can I spend on a hotel night", BOB)][0] == "expense-policy.pdf"
    private = {
        "salary-bands-2026.xlsx",
        "board-memo-2026-03.docx",
        "hiring-plan-2026.md",
        "performance-calibration-2026-03.md",
        "2026-03-19-reorg-proposal.eml",
    }
    assert not private & set(by_asker[("salary band for a senior engineer", BOB)])
    assert "salary-bands-2026.xlsx" in by_asker[("salary band for a senior engineer", ADA)]
    hotel = demo["searches"][0]["hits"][0]
    assert hotel["location"]["page"] == 1
    assert "[[Hotel]]" in hotel["snippet"] or "[[hotel]]" in hotel["snippet"]
    assert (tmp_path / "headwater.db").exists()
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600

    again = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--json"])
    assert again.exit_code == 0, again.output
    second = json.loads(again.output)["demo"]
    # an unchanged folder is recognised from stat() alone: nothing is handed in, nothing written
    assert [(run["outcome"], run.get("new", 0), run.get("updated", 0)) for run in second["syncs"]] == [
        ("completed", 0, 0),
        ("completed", 0, 0),
    ]
    assert second["indexing"] == demo["indexing"]
    assert second["searches"] == demo["searches"]


def test_demo_without_the_workspace_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--workspace", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "sample workspace is missing" in result.output
    assert "--workspace" in result.output


def test_unknown_store_scheme_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_STORE_URL", "mongodb://localhost/x")
    result = runner.invoke(app, ["status", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "unknown graph store URL scheme 'mongodb'" in result.output
    assert "sqlite://" in result.output
    assert "postgresql://" in result.output
    assert "Traceback" not in result.output


def test_unreachable_postgres_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_STORE_URL", "postgresql://nobody:s3cret-pw@127.0.0.1:1/none")
    result = runner.invoke(app, ["status", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "127.0.0.1:1" in result.output
    assert "s3cret-pw" not in result.output
    assert "Traceback" not in result.output
