"""The connector page's sync history follows the runs: the status fragment names the newest run
and its outcome (`data-history-key`), the history fragment is rendered with the key it shows, and
`app.js` re-fetches the history when the two differ (the browser side is in e2e/test_browser.py)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi import FastAPI

from headwater.api.state import holder_of
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.instances import create_instance
from headwater.services.platform import config_key
from tests.api.conftest import ApiInstance, ClientFactory

from .seed import LOCAL_FS, Seeded

pytestmark = pytest.mark.anyio

_KEY = re.compile(r'data-history-key="([^"]*)"')
_RUN_ROW = re.compile(r'<span class="badge[^"]*">(\w+)</span>')


def _keys(html: str) -> list[str]:
    return _KEY.findall(html)


async def test_after_a_sync_the_history_fragment_shows_the_run_the_status_names(
    app: FastAPI, instance: ApiInstance, browser_for: ClientFactory, tmp_path: Path
) -> None:
    state = await holder_of(app).get()
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "tide-table.md").write_text("# Tides\n\nHigh water at noon.\n")
    doc = create_instance(
        state.store,
        type=LOCAL_FS,
        name="Tide notes",
        scope="team",
        org_id=instance.org_keys["Acme"],
        created_by=instance.user_keys["admin@acme.test"],
    )
    connector_id = str(doc["_key"])
    await state.config.put(config_key(connector_id), {"sync": {"folders": str(folder)}})
    admin = await browser_for("admin@acme.test")

    before = await admin.get(f"/connectors/{connector_id}")
    assert before.status_code == 200
    assert "No syncs yet." in before.text
    assert _keys(before.text) == ["", ""]  # the status and the history agree: no run yet

    run = await SyncEngine(state.store, state.config, logger=logging.getLogger("tests.web")).run_sync(
        connector_id
    )
    assert run["outcome"] == "completed", run

    status = await admin.get(f"/connectors/{connector_id}/status")
    assert status.status_code == 200
    assert "Last sync completed" in status.text
    assert _keys(status.text) == [f"{run['_key']}:completed"]  # differs from the page's: re-fetch

    history = await admin.get(f"/connectors/{connector_id}/history")
    assert history.status_code == 200
    assert _keys(history.text) == [f"{run['_key']}:completed"]  # equal now: no more re-fetching
    assert "No syncs yet" not in history.text
    assert _RUN_ROW.findall(history.text) == ["completed"]
    assert "1 new" in history.text
    assert "<html" not in history.text  # a fragment, not a page
    assert history.headers["content-security-policy"]


async def test_the_history_lists_runs_newest_first_and_is_private(
    app: FastAPI, browser_for: ClientFactory, seeded: Seeded
) -> None:
    state = await holder_of(app).get()
    engine = SyncEngine(state.store, state.config, logger=logging.getLogger("tests.web"))
    second = await engine.run_sync(seeded.team_id)
    member = await browser_for("member@acme.test")

    history = await member.get(f"/connectors/{seeded.team_id}/history")  # a team connector: visible
    assert history.status_code == 200
    assert _keys(history.text) == [f"{second['_key']}:completed"]
    assert _RUN_ROW.findall(history.text) == ["completed", "completed"]
    counts = re.findall(r"(\d+) new · ", history.text)
    assert counts == ["0", "2"]  # the second run first: the first one found the two files
    assert "Retry failed" not in history.text

    assert (await member.get(f"/connectors/{seeded.private_id}/history")).status_code == 404
    assert (await member.get("/connectors/no-such-connector/history")).status_code == 404
