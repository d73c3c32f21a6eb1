"""CLI fixtures: an initialised data directory with two users, a notes folder, the Notes Folder
test connector registered, and a runner that fails on tracebacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from headwater.bootstrap import init_instance
from headwater.cli.main import app
from headwater.connectors.core.factory import ConnectorFactory
from headwater.settings import Settings
from tests.cli.notes_connector import NOTES, NotesFolderConnector

TOKEN = "tok-secret-4242"
ADA = "ada@acme.test"
BOB = "bob@acme.test"


@pytest.fixture(autouse=True)
def notes_connector() -> Iterator[None]:
    ConnectorFactory.register_connector(NOTES, NotesFolderConnector)
    yield
    ConnectorFactory.unregister_connector(NOTES)
    NotesFolderConnector.page_delay_s = 0.0
    NotesFolderConnector.hang_after_pages = None


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An initialised instance: organisation Acme, Ada (admin) and Bob (member)."""
    path = tmp_path / "hw"
    init_instance(Settings(data_dir=path), "Acme", ((ADA, "Ada", "admin"), (BOB, "Bob", "member")))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Notes: two for everyone, one in the team group, a team link, one only Ada's, one corrupt."""
    root = tmp_path / "notes"
    files = {
        ".token": TOKEN,
        "readme.md": "# Readme",
        "notes.txt": "some notes",
        "broken.bad": "???",
        "team/plan.md": "# Plan",
        "team/site.url": "https://intranet.acme.test/plan",
        f"{ADA}/salary.md": "# Salary",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@dataclass
class Cli:
    data_dir: Path
    runner: CliRunner

    def __call__(self, *args: str, input: str | None = None, data_dir: bool = True) -> Result:
        argv = [*args, "--data-dir", str(self.data_dir)] if data_dir else list(args)
        result = self.runner.invoke(app, argv, input=input)
        assert "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        result = self(*args, "--json", input=input)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def add_notes(self, folder: Path, name: str = "notes", *extra: str) -> Any:
        return self.json(
            "connectors", "add", NOTES, "--name", name, "--set", f"folder={folder}",
            "--set", f"apiToken={TOKEN}", "--no-input", *extra,
        )  # fmt: skip


@pytest.fixture
def cli(data_dir: Path) -> Cli:
    return Cli(data_dir, CliRunner())


def error_of(result: Result) -> str:
    """The one `error:` line a failed command printed (asserting there is exactly one)."""
    # after a prompt answered by a test runner, the line begins with the prompt (no echoed newline)
    lines = [line[line.index("error:") :] for line in result.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1, result.output
    return lines[0]
