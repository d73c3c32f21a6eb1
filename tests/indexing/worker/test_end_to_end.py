"""End to end with the real pieces: a Local FS folder synced by the sync engine, indexed by the worker
with the real parsers, chunker and embedded index (and the deterministic hashing embedder), then
searched as three people — and changed, renamed, unshared and deleted at the source."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from headwater.config.crypto import SecretBox
from headwater.config.registry import create_config_store
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import create_instance
from headwater.connectors.sources.localfs.connector import NAME as LOCAL_FS
from headwater.connectors.sources.localfs.connector import LocalFilesystemConnector
from headwater.events.store_log import StoreEventLog
from headwater.indexing.embeddings.testing import CountingEmbedder, HashingEmbedder
from headwater.indexing.index.registry import open_search_index
from headwater.indexing.parsing.base import ParseLimits
from headwater.indexing.sources import ConnectorPool, ContentFetcher
from headwater.indexing.status import RetryPolicy
from headwater.indexing.worker import IndexingWorker, WorkerOptions
from headwater.models.entities import User
from headwater.store.registry import open_store

from .helpers import LOG, run

ORG = "org-e2e"
CID = "fs-1"


def _mail() -> bytes:
    message = EmailMessage()
    message["From"] = "ops@acme.test"
    message["To"] = "team@acme.test"
    message["Subject"] = "Rota for the lighthouse"
    message.set_content("Please find the night rota attached.")
    message.add_attachment(
        b"Night shift: Zebedee keeps the lamp lit.", maintype="text", subtype="plain", filename="rota.txt"
    )
    return message.as_bytes()


def test_a_synced_folder_is_searchable_by_exactly_the_people_it_is_shared_with(tmp_path: Path) -> None:
    ConnectorFactory.register_connector(LOCAL_FS, LocalFilesystemConnector)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "handbook.md").write_text(
        "# Onboarding\n\nNew engineers get a laptop on their first day.\n\n"
        "## Security\n\nUse the password manager."
    )
    (docs / "notes.txt").write_text("Kickoff notes for the harbour project.")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF")
    (docs / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (docs / "rota.eml").write_bytes(_mail())

    store = open_store(f"sqlite:///{tmp_path / 'headwater.db'}")
    config = create_config_store(f"sqlite:///{tmp_path / 'config.db'}", SecretBox.generate())
    run(config.connect())
    owner, bob, carol = (User(email=f"{n}@acme.test", org_id=ORG) for n in ("owner", "bob", "carol"))
    with store.transaction() as tx:
        tx.upsert_nodes("organizations", [{"_key": ORG, "registeredName": "Acme"}])
        tx.upsert_nodes("users", [u.to_document() | {"emailVerified": False} for u in (owner, bob, carol)])
    create_instance(store, type=LOCAL_FS, connector_id=CID, org_id=ORG, created_by=owner.id)
    settings = {"folders": str(docs), "shareWithUsers": "bob@acme.test"}
    run(config.put(f"/services/connectors/{CID}/config", {"sync": settings}))
    embedder = CountingEmbedder(HashingEmbedder(128))
    index = open_search_index(f"embedded://{tmp_path / 'index'}", embedder.dimensions)
    engine = SyncEngine(store, config)

    def sync_and_index() -> None:
        assert run(engine.run_sync(CID))["outcome"] == "completed"
        worker = IndexingWorker(
            store,
            StoreEventLog(store, lease_ms=2000, poll_interval_s=0.01),
            index,
            embedder,
            ContentFetcher(ConnectorPool(store, config, logger=LOG)),
            options=WorkerOptions(
                idle_poll_s=0.02,
                parse_limits=ParseLimits(isolate=False),
                retry=RetryPolicy(base_delay_s=0.01, max_delay_s=0.05),
            ),
        )
        run(worker.run_until_idle(60))

    def statuses() -> dict[str, tuple[str, str | None]]:
        with store.read() as tx:
            found = tx.find_nodes("records", connector_id=CID)
        return {
            d["recordName"]: (d["indexingStatus"], d.get("reason"))
            for d in found
            if d["recordType"] == "FILE"
        }

    def search(user: User, query: str) -> list[tuple[str, str | None]]:
        with store.read() as tx:
            principals = tx.principals(user.id)
        hits = index.keyword_search(query, principals)
        return [(h.record.record_name, h.location.heading) for h in hits]

    def nearest(user: User, query: str) -> str | None:
        with store.read() as tx:
            principals = tx.principals(user.id)
        hits = index.vector_search(embedder.embed_query(query), principals, k=1)
        return hits[0].record.record_name if hits else None

    try:
        sync_and_index()
        got = statuses()
        assert got["handbook.md"] == ("COMPLETED", None)
        assert got["notes.txt"] == ("COMPLETED", None)
        assert got["rota.eml"] == ("COMPLETED", None)
        assert got["broken.pdf"][0] == "FAILED"
        assert got["photo.png"][0] == "FILE_TYPE_NOT_SUPPORTED"
        assert not {s for s, _ in got.values()} & {"QUEUED", "IN_PROGRESS"}

        assert search(owner, "laptop") == [("handbook.md", "Onboarding")]
        assert search(bob, "password manager") == [("handbook.md", "Onboarding > Security")]
        assert search(carol, "laptop") == []  # not shared with her: not even a hint
        assert nearest(bob, "laptop for new engineers") == "handbook.md"
        assert nearest(carol, "laptop for new engineers") is None
        # the attachment's text is searchable as part of its message
        assert search(owner, "Zebedee") == [("rota.eml", "Attachment: rota.txt")]

        # edit one file, rename another, unshare bob: only the edited file is embedded again
        before = embedder.texts_embedded
        (docs / "notes.txt").write_text("Kickoff notes for the harbour project, revised with the budget.")
        (docs / "handbook.md").rename(docs / "onboarding.md")
        run(config.put(f"/services/connectors/{CID}/config", {"sync": {"folders": str(docs)}}))
        sync_and_index()
        assert embedder.texts[before:] == ["Kickoff notes for the harbour project, revised with the budget."]
        assert search(owner, "laptop") == [("onboarding.md", "Onboarding")]
        assert search(bob, "laptop") == []
        assert search(owner, "budget") == [("notes.txt", None)]

        # delete a file at the source: gone from search after the next sync
        (docs / "notes.txt").unlink()
        sync_and_index()
        assert search(owner, "harbour") == []
        assert "notes.txt" not in statuses()
    finally:
        index.close()
        run(config.close())
        store.close()
