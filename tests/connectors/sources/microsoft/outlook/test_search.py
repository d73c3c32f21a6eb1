"""Outlook mail through the real indexing worker (content by `stream_record` from the fake, parsed,
chunked, embedded with the HashingEmbedder) into permission-filtered search, before and after changes:
each user finds their own mail and attachments, never the other's."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.config.crypto import SecretBox
from headwater.config.registry import create_config_store
from headwater.connectors import testing
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import create_instance
from headwater.connectors.sources.microsoft.outlook import OutlookConnector
from headwater.events.store_log import StoreEventLog
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.indexing.index.registry import open_search_index
from headwater.indexing.parsing.base import ParseLimits
from headwater.indexing.sources import ConnectorPool, ContentFetcher
from headwater.indexing.worker import IndexingWorker, WorkerOptions
from headwater.search.service import SearchService
from headwater.store.registry import open_store
from headwater.testing.fake_graph import checked_graph
from tests.connectors.sources.microsoft.helpers import auth_config, endpoint, run

from .world import CID, World, seed_mail

ADA, BOB = "ada@contoso.onmicrosoft.com", "bob@contoso.onmicrosoft.com"
QUERIES = ["travel", "hiring engineers", "rocket workshop", "mountains offsite", "firewall keys",
           "strategy hiking", "platform amount", "board approved"]  # fmt: skip


@pytest.fixture
def registry() -> Iterator[None]:
    saved = dict(ConnectorFactory._connector_registry), dict(ConnectorFactory._display_names)
    ConnectorFactory.register_connector("Outlook", OutlookConnector)
    yield
    ConnectorFactory._connector_registry.clear()
    ConnectorFactory._connector_registry.update(saved[0])
    ConnectorFactory._display_names.clear()
    ConnectorFactory._display_names.update(saved[1])


@pytest.mark.usefixtures("registry")
def test_each_user_finds_only_their_own_mail_before_and_after_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    embedder = HashingEmbedder(64)
    index = open_search_index(f"embedded://{tmp_path / 'index'}", embedder.dimensions)
    config = create_config_store(f"sqlite:///{tmp_path / 'config.db'}", SecretBox.generate())
    try:
        with checked_graph(seed_mail().tenant, page_size_cap=3) as fake:
            world = World(fake, store)
            # the worker builds its own connector through the factory: it finds the fake this way
            monkeypatch.setattr(OutlookConnector, "graph_endpoint", endpoint(fake, world.clock))
            run(config.connect())
            run(config.set_config(f"/services/connectors/{CID}/config", auth_config(fake)))
            create_instance(
                store, type="Outlook", connector_id=CID, org_id=testing.DEFAULT_ORG_ID, scope="team"
            )

            async def index_pending() -> None:
                """One worker per event loop (its queues and pooled connectors belong to the loop)."""
                pool = ConnectorPool(store, config, logger=logging.getLogger("test.outlook"))
                worker = IndexingWorker(
                    store,
                    StoreEventLog(store, poll_interval_s=0.01),
                    index,
                    embedder,
                    ContentFetcher(pool),
                    options=WorkerOptions(idle_poll_s=0.02, parse_limits=ParseLimits(isolate=False)),
                )
                try:
                    await worker.run_until_idle(60)
                finally:
                    await pool.close()

            service = SearchService(store, index, embedder)

            def found() -> dict[str, dict[str, list[str]]]:
                with store.read() as tx:
                    users = {e: tx.get_node_by_external_id("users", "", e) for e in (ADA, BOB)}
                out: dict[str, dict[str, list[str]]] = {}
                for email, user in users.items():
                    assert user is not None, email
                    out[email] = {
                        q: sorted(
                            {
                                h.record_name
                                for h in service.search(q, user_key=str(user["_key"]), mode="keyword").hits
                            }
                        )
                        for q in QUERIES
                    }
                return out

            run(world.sync_once(incremental=False))
            run(index_pending())
            before = found()
            assert before[ADA] == {
                "travel": ["Budget 2025"],
                "hiring engineers": ["Re: Budget 2025", "Re: Re: Budget 2025"],
                "rocket workshop": ["Apollo kickoff"],
                "mountains offsite": [],
                "firewall keys": [],
                "strategy hiking": [],
                "platform amount": ["budget.csv"],
                "board approved": [],
            }
            assert before[BOB] == {
                "travel": [],
                "hiring engineers": [],
                "rocket workshop": [],
                "mountains offsite": ["Quarterly offsite"],
                "firewall keys": ["Security review"],
                "strategy hiking": ["agenda.txt"],
                "platform amount": [],
                "board approved": [],
            }

            tenant = fake.tenant
            ada = next(u for u in tenant.users.values() if u.display_name == "Ada Lovelace")
            bob = next(u for u in tenant.users.values() if u.display_name == "Bob Smith")
            box = {m.subject: m for m in tenant.mailboxes[ada.id].messages.values()}
            tenant.add_message(
                ada.id,
                "Decision",
                "<p>The board approved the plan.</p>",
                sender=BOB,
                attachments=[("minutes.txt", "text/plain", b"Approved by the board on Tuesday.")],
            )
            tenant.move_message(ada.id, box["Budget 2025"].id, "archive")
            tenant.delete_message(ada.id, box["Apollo kickoff"].id)
            bob_box = {m.subject: m for m in tenant.mailboxes[bob.id].messages.values()}
            tenant.delete_message(bob.id, bob_box["Security review"].id)
            run(world.sync_once())
            run(index_pending())
            after = found()
            assert after[ADA] == {
                **before[ADA],
                "rocket workshop": [],
                "board approved": ["Decision", "minutes.txt"],
            }
            assert after[BOB] == {**before[BOB], "firewall keys": []}
    finally:
        run(config.close())
        index.close()
        store.close()
