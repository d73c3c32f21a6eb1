"""A connector's secret never appears in any command's output, JSON or logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.cli.conftest import TOKEN, Cli
from tests.cli.notes_connector import NOTES


def test_the_secret_stays_out_of_every_output_and_log(
    cli: Cli, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs = [
        cli("connectors", "add", NOTES, "--name", "notes", "--no-input",
            "--set", f"folder={folder}", "--set", f"apiToken={TOKEN}").output,
    ]  # fmt: skip
    commands = [
        ("connectors", "show", "notes"),
        ("connectors", "show", "notes", "--json"),
        ("connectors", "configure", "notes", "--no-input", "--set", "pageSize=3", "--json"),
        ("connectors", "test", "notes"),
        ("connectors", "test", "notes", "--json"),
        ("--verbose", "sync", "notes"),
        ("status", "notes", "--history", "--json"),
        ("status", "--json"),
        ("records", "--json"),
    ]
    outputs += [cli(*command).output for command in commands]
    (folder / ".token").write_text("rotated")  # the source now rejects the stored token
    for command in [("--verbose", "sync", "notes", "--json"), ("connectors", "test", "notes"),
                    ("status", "notes", "--history", "--json")]:  # fmt: skip
        outputs.append(cli(*command).output)
    assert "Bearer ***" in outputs[-1]  # the failed run's reason, redacted
    assert [o for o in outputs if TOKEN in o] == []
    assert TOKEN not in caplog.text
