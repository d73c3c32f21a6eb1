"""The main job: a demo instance a newcomer can search within a minute.

Creates (idempotently) the demo organisation and its two users, one local-folder connector instance
per top folder of the bundled sample workspace — `team/` shared with both users, `private-ada/` with
Ada only — syncs them, runs the indexing worker until every record has reached a terminal status,
and searches as each user to show that permissions hold. Typer-free: the CLI prints what it returns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.bootstrap import DEMO_ORG, DEMO_USERS, init_instance
from headwater.errors import HeadwaterError
from headwater.services import accounts
from headwater.services.connectors import create_instance_with_config
from headwater.services.platform import open_store_only
from headwater.services.syncing import run_syncs
from headwater.settings import Settings
from headwater.store.base import GraphStore

ADA, BOB = DEMO_USERS[0][0], DEMO_USERS[1][0]
# Demo-only passwords, printed by `headwater demo`: set once, never changed by a re-run (a user
# who set their own keeps it). Never use them on an instance others can reach.
DEMO_PASSWORDS = {ADA: "ada-demo-password", BOB: "bob-demo-password"}
# (instance name, folder under the workspace, who besides its owner Ada may read it)
DEMO_FOLDERS = (
    ("Larkspur team drive", "team", (BOB,)),
    ("Ada's private folder", "private-ada", ()),
)
# Questions that show search and permissions at work: (question, who asks)
DEMO_QUERIES = (
    ("how much can I spend on a hotel night", BOB),
    ("salary band for a senior engineer", BOB),
    ("salary band for a senior engineer", ADA),
)
UNFINISHED = ("QUEUED", "IN_PROGRESS")
SYNC_COUNTS = ("new", "updated", "unchanged", "deleted", "skipped", "failed")


class DemoError(HeadwaterError):
    """The demo could not run; the message says what to fix."""


@dataclass
class DemoReport:
    workspace: str
    instances: list[dict[str, Any]] = field(default_factory=list)
    syncs: list[dict[str, Any]] = field(default_factory=list)
    indexing: dict[str, int] = field(default_factory=dict)
    indexing_seconds: float = 0.0
    searches: list[dict[str, Any]] = field(default_factory=list)
    # the demo users and their demo passwords (None: the user has another password already)
    logins: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "logins": self.logins,
            "instances": self.instances,
            "syncs": self.syncs,
            "indexing": self.indexing,
            "indexingSeconds": round(self.indexing_seconds, 1),
            "searches": self.searches,
        }


def default_workspace() -> Path:
    """`examples/workspace` of the checkout this package runs from."""
    return Path(__file__).resolve().parents[2] / "examples" / "workspace"


async def run_demo(
    settings: Settings,
    workspace: Path | None = None,
    *,
    on_step: Callable[[str], None] = lambda _: None,
    index_timeout_s: float = 900.0,
) -> DemoReport:
    workspace = (workspace or default_workspace()).resolve()
    if not all((workspace / folder).is_dir() for _, folder, _ in DEMO_FOLDERS):
        raise DemoError(
            f"the sample workspace is missing at {workspace} — run from a Headwater checkout "
            "(it ships examples/workspace/) or pass --workspace DIR with team/ and private-ada/ in it"
        )
    report = DemoReport(str(workspace))
    on_step("organisation and users")
    await asyncio.to_thread(init_instance, settings, DEMO_ORG, DEMO_USERS)  # it runs its own event loop
    report.logins = await asyncio.to_thread(_demo_logins, settings)

    on_step("connector instances")
    store = open_store_only(settings)
    try:
        with store.read() as tx:
            existing = {str(d.get("name")) for d in tx.find_nodes("apps")}
    finally:
        store.close()
    for name, folder, shared_with in DEMO_FOLDERS:
        if name in existing:
            report.instances.append({"name": name, "folder": str(workspace / folder), "created": False})
            continue
        config = {"folders": str(workspace / folder), "shareWithUsers": "\n".join(shared_with)}
        await create_instance_with_config(settings, "Local FS", name, config, scope="team", created_by=ADA)
        report.instances.append({"name": name, "folder": str(workspace / folder), "created": True})

    on_step("syncing the sample workspace")
    for run in await run_syncs(settings, [name for name, _, _ in DEMO_FOLDERS]):
        report.syncs.append(
            {k: run.get(k) for k in ("name", "outcome", "reason", *SYNC_COUNTS) if run.get(k) is not None}
        )

    on_step("indexing (parse, chunk, embed)")
    started = time.monotonic()
    report.indexing = await index_until_done(settings, timeout_s=index_timeout_s)
    report.indexing_seconds = time.monotonic() - started

    on_step("searching as each user")
    from headwater.search.service import open_search_service

    with open_search_service(settings) as service:
        for question, email in DEMO_QUERIES:
            results = service.search(question, user_key=service.user_key_for_email(email), k=3)
            report.searches.append(
                {"as": email, "query": question, "hits": [h.as_dict() for h in results.hits]}
            )
    return report


def _demo_logins(settings: Settings) -> list[dict[str, Any]]:
    """Give each demo user the demo password unless they have a password already."""
    store = open_store_only(settings)
    try:
        logins = []
        for email, _, role in DEMO_USERS:
            account = accounts.find_account(store, email)
            password: str | None = DEMO_PASSWORDS[email]
            if accounts.has_password(store, account.key):
                password = (
                    None
                    if not accounts.password_matches(store, account.key, DEMO_PASSWORDS[email])
                    else password
                )
            else:
                accounts.set_password(store, account.key, DEMO_PASSWORDS[email])
            logins.append({"email": email, "role": role, "password": password})
        return logins
    finally:
        store.close()


async def index_until_done(settings: Settings, *, timeout_s: float) -> dict[str, int]:
    """Run the indexing worker until no record is QUEUED or IN_PROGRESS; the status counts after."""
    from headwater.indexing.runner import run_indexing_worker
    from headwater.indexing.status import indexing_status_counts

    stop = asyncio.Event()
    worker = asyncio.create_task(run_indexing_worker(settings, stop))
    store = open_store_only(settings)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            await asyncio.sleep(0.5)
            if worker.done():
                worker.result()  # the worker failed: raise its error
                raise DemoError("the indexing worker stopped before the records were indexed")
            counts = indexing_status_counts(store)
            if not any(counts.get(s, 0) for s in UNFINISHED) and _backlog_empty(store):
                return counts
            if time.monotonic() > deadline:
                raise DemoError(f"indexing did not finish in {timeout_s:.0f} s: {counts}")
    finally:
        stop.set()
        await asyncio.gather(worker, return_exceptions=True)
        store.close()


def _backlog_empty(store: GraphStore) -> bool:
    """Whether the worker has consumed every record event (a record can be terminal from an earlier
    run while its new event still waits)."""
    from headwater.events.base import RECORDS_CONSUMER_GROUP
    from headwater.indexing.sweeper import store_backlog_probe

    with store.read() as tx:
        return not store_backlog_probe(RECORDS_CONSUMER_GROUP)(tx)
