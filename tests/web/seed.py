"""Real content for page tests: two Local FS folders synced by the sync engine and indexed by the
indexing worker into the app's own store and search index (so pages search what was indexed).

    Team docs (team, admin@acme.test's): harbour-plan.md and a file whose NAME is a script tag,
        shared with member@acme.test
    Admin private (personal, admin@acme.test's): salaries.md, shared with nobody else

`seed(..., logbook=N)` adds N more files to Team docs (`logbook-NN.md`, each about the lighthouse),
for pages that need many results.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from headwater.api.state import ApiState
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.instances import create_instance
from headwater.services.catalog import discover_connectors
from headwater.services.platform import config_key
from tests.api.indexing import index_until_idle

LOCAL_FS = "Local FS"
SCRIPT_NAME = "<img src=x onerror=alert(1)> notes.md"
LOG = logging.getLogger("tests.web")


@dataclass(frozen=True)
class Seeded:
    team_id: str
    private_id: str
    records: dict[str, str]  # record name -> key


async def seed(state: ApiState, org_key: str, admin_key: str, root: Path, *, logbook: int = 0) -> Seeded:
    discover_connectors()
    public, private = root / "public", root / "private"
    public.mkdir(parents=True)
    private.mkdir(parents=True)
    (public / "harbour-plan.md").write_text(
        "# Harbour plan\n\nThe lighthouse rota starts in May. Keepers swap every Tuesday.\n"
    )
    (public / SCRIPT_NAME).write_text("Lighthouse notes with a suspicious name.\n")
    for n in range(logbook):
        (public / f"logbook-{n:02d}.md").write_text(
            f"# Logbook {n}\n\nThe lighthouse lamp was trimmed on day {n}.\n"
        )
    (private / "salaries.md").write_text("# Salaries\n\nConfidential: the lighthouse keepers' salaries.\n")

    team = create_instance(
        state.store, type=LOCAL_FS, name="Team docs", scope="team", org_id=org_key, created_by=admin_key
    )
    mine = create_instance(
        state.store,
        type=LOCAL_FS,
        name="Admin private",
        scope="personal",
        org_id=org_key,
        created_by=admin_key,
    )
    await state.config.put(
        config_key(team["_key"]), {"sync": {"folders": str(public), "shareWithUsers": "member@acme.test"}}
    )
    await state.config.put(config_key(mine["_key"]), {"sync": {"folders": str(private)}})
    engine = SyncEngine(state.store, state.config, logger=LOG)
    for doc in (team, mine):
        run = await engine.run_sync(doc["_key"])
        assert run["outcome"] == "completed", run
    await index_until_idle(state)
    with state.store.read() as tx:
        docs = tx.find_nodes("records")
    records = {str(d["recordName"]): str(d["_key"]) for d in docs if d.get("recordType") == "FILE"}
    return Seeded(str(team["_key"]), str(mine["_key"]), records)
