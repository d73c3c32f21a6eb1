"""Live progress of a sync run read from its processor while the engine runs it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.bootstrap import init_instance
from headwater.connectors.core.factory import ConnectorFactory
from headwater.services.connectors import create_instance_with_config
from headwater.services.syncing import SyncProgress, run_syncs
from headwater.settings import Settings
from tests.cli.notes_connector import NOTES, NotesFolderConnector

TOKEN = "progress-token"


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    ConnectorFactory.register_connector(NOTES, NotesFolderConnector)
    NotesFolderConnector.page_delay_s = 0.05
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / ".token").write_text(TOKEN)
    for i in range(8):
        (folder / f"note-{i}.md").write_text(f"note {i}")
    settings = Settings(data_dir=tmp_path / "hw")
    init_instance(settings, "Acme", (("ada@acme.test", "Ada", "admin"),))
    asyncio.run(
        create_instance_with_config(settings, NOTES, "notes", {"folder": str(folder), "apiToken": TOKEN})
    )
    yield settings
    ConnectorFactory.unregister_connector(NOTES)
    NotesFolderConnector.page_delay_s = 0.0


def test_progress_is_reported_while_the_run_goes_on(settings: Settings) -> None:
    seen: list[SyncProgress] = []
    [run] = asyncio.run(run_syncs(settings, ["notes"], full=True, on_progress=seen.append, poll_s=0.02))
    assert run["outcome"] == "completed"
    assert len(seen) >= 3
    assert [p.discovered for p in seen] == sorted(p.discovered for p in seen)
    assert any(0 < p.discovered < 8 and not p.done for p in seen)  # seen mid-run
    last = seen[-1]
    assert (last.done, last.discovered, last.processed, last.failed, last.expected) == (True, 8, 8, 0, None)
    assert seen[0].status == "FULL_SYNCING"

    # the next full run is expected to be as big as this one: an ETA while it runs
    again: list[SyncProgress] = []
    asyncio.run(run_syncs(settings, ["notes"], full=True, on_progress=again.append, poll_s=0.02))
    running = [p for p in again if not p.done and 0 < p.processed < 8]
    assert running
    assert all(p.expected == 8 for p in running)
    assert all(p.eta_s is not None and p.eta_s >= 0 for p in running)
    assert again[-1].eta_s is None


def test_progress_arithmetic() -> None:
    p = SyncProgress(
        "c", "n", elapsed_s=2.0, discovered=6, new=2, updated=1, unchanged=1, failed=2, expected=10
    )
    assert (p.processed, p.rate, p.eta_s) == (4, 2.0, 2.0)
    assert SyncProgress("c", "n", elapsed_s=0.0).eta_s is None
