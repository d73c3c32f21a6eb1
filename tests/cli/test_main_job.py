"""The main job a newcomer runs first, and the CLI's error lines."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from headwater.cli.main import app

runner = CliRunner()


def test_demo_creates_an_embedded_instance_with_permission_aware_records(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["organizations"] == ["Demo Org"]
    assert sorted(u["email"] for u in data["users"]) == ["ada@demo.headwater.test", "bob@demo.headwater.test"]
    assert data["records"] == 5
    # two documents for everyone, two only for Ada, one only for Bob
    assert data["readableRecordsByUser"] == {"ada@demo.headwater.test": 4, "bob@demo.headwater.test": 3}
    assert (tmp_path / "headwater.db").exists()
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_demo_is_idempotent(tmp_path: Path) -> None:
    first = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--json"])
    second = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--json"])
    assert first.exit_code == second.exit_code == 0
    a, b = json.loads(first.output), json.loads(second.output)
    assert a["records"] == b["records"] == 5
    assert len(b["users"]) == 2


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
