"""Set-up for the worker tests: a store with an organisation and a connector instance whose files live
in a directory (so a worker in another process reads the same ones), the processor writing records
with their events, and a worker wired to test doubles or to the real parser, chunker and index."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from headwater.config.base import ConfigStore
from headwater.config.crypto import SecretBox
from headwater.config.registry import create_config_store
from headwater.connectors.core.apps import App
from headwater.connectors.core.connector import BaseConnector
from headwater.connectors.core.data_store import DataStoreProvider
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import create_instance
from headwater.connectors.core.processor import DataSourceEntitiesProcessor
from headwater.events.store_log import StoreEventLog
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.parsing.base import ParseLimits
from headwater.indexing.sources import ConnectorPool, ContentFetcher
from headwater.indexing.status import RetryPolicy
from headwater.indexing.sweeper import StrandedRecordSweeper, SweepOptions, store_backlog_probe
from headwater.indexing.worker import IndexingWorker, WorkerOptions
from headwater.models.constants import MimeTypes, RecordGroupType
from headwater.models.entities import FileRecord, Record
from headwater.models.permission import EntityType, Permission, PermissionType
from headwater.store.base import GraphStore
from headwater.store.registry import open_store

from .doubles import FlakyEmbedder

T = TypeVar("T")
ORG = "org-1"
SOURCE = "MemSource"
CONN = "mem-1"
ALICE, BOB, CAROL = "alice@acme.test", "bob@acme.test", "carol@acme.test"
ROOT_ENV = "HEADWATER_TEST_MEM_ROOT"
LOG = logging.getLogger("test.indexing")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class MemConnector(BaseConnector):
    """Serves file `<root>/<external id>` as a streaming response. A file `<id>.block` makes
    `stream_record` announce itself (`<id>.entered`) and wait until the block file goes; `FAULTS`
    lists exceptions to raise, one per call, before content is served (`ALWAYS` for ever)."""

    ROOT: ClassVar[Path | None] = None
    FAULTS: ClassVar[dict[str, list[BaseException]]] = {}
    ALWAYS: ClassVar[dict[str, BaseException]] = {}
    CALLS: ClassVar[dict[str, int]] = {}

    def __init__(self, logger: Any, processor: Any, provider: Any, config_service: Any) -> None:
        super().__init__(App(app_name=SOURCE, app_group="Test"), logger, processor, provider, config_service)

    @classmethod
    def root(cls) -> Path:
        return cls.ROOT or Path(os.environ[ROOT_ENV])

    @classmethod
    def reset(cls, root: Path) -> None:
        cls.ROOT = root
        cls.FAULTS.clear()
        cls.ALWAYS.clear()
        cls.CALLS.clear()

    async def init(self) -> bool:
        return True

    def test_connection_and_access(self) -> bool:
        return True

    def get_signed_url(self, record: Record) -> str | None:
        return None

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> Any:
        ext = record.external_record_id
        self.CALLS[ext] = self.CALLS.get(ext, 0) + 1
        block = self.root() / f"{ext}.block"
        if block.exists():
            (self.root() / f"{ext}.entered").write_text(str(os.getpid()))
            while block.exists():
                await asyncio.sleep(0.02)
        if ext in self.ALWAYS:
            raise self.ALWAYS[ext]
        faults = self.FAULTS.get(ext)
        if faults:
            raise faults.pop(0)
        path = self.root() / ext
        return _Streaming(path.read_bytes())

    async def run_sync(self) -> None:
        return None

    def cleanup(self) -> None:
        return None


class _Streaming:
    """What a Starlette StreamingResponse offers indexing: `body_iterator`."""

    def __init__(self, data: bytes, piece: int = 4096) -> None:
        self.data = data
        self.piece = piece

    @property
    def body_iterator(self) -> AsyncIterator[bytes]:
        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(self.data), self.piece):
                yield self.data[start : start + self.piece]

        return pieces()


ConnectorFactory.register_connector(SOURCE, MemConnector)


def grant(email: str, role: PermissionType = PermissionType.READ) -> Permission:
    return Permission(email=email, type=role, entity_type=EntityType.USER)


def doc(
    ext: str,
    *,
    name: str | None = None,
    rev: str | None = "r1",
    mime: str = MimeTypes.PLAIN_TEXT.value,
    group: str | None = None,
    **fields: Any,
) -> FileRecord:
    """A file record as the test connector reports it."""
    extension = (name or ext).rsplit(".", 1)[-1] if "." in (name or ext) else None
    return FileRecord(
        record_name=name or ext,
        external_record_id=ext,
        external_revision_id=rev,
        external_record_group_id=group,
        record_group_type=RecordGroupType.DRIVE if group else None,
        mime_type=mime,
        extension=extension,
        source_updated_at=1_700_000_000_000,
        **fields,
    )


@dataclass
class Env:
    root: Path
    store: GraphStore
    config: ConfigStore
    processor: DataSourceEntitiesProcessor
    index: SearchIndex
    embedder: FlakyEmbedder
    parse_limits: ParseLimits = field(default_factory=lambda: ParseLimits(isolate=False))
    lease_ms: int = 2000

    def put(self, ext: str, content: bytes | str) -> None:
        (self.root / ext).write_bytes(content.encode() if isinstance(content, str) else content)

    def sync(self, *items: tuple[Record, list[Permission]]) -> None:
        async def go() -> None:
            await self.processor.on_new_records(list(items))
            await self.processor.flush()

        run(go())

    def key(self, ext: str) -> str:
        with self.store.read() as tx:
            record = tx.get_record_by_external_id(CONN, ext)
        assert record is not None, ext
        return record.id

    def doc(self, ext: str) -> dict[str, Any]:
        with self.store.read() as tx:
            found = tx.get_node_by_external_id("records", CONN, ext)
        assert found is not None, ext
        return found

    def status(self, ext: str) -> tuple[str, str | None]:
        d = self.doc(ext)
        return d["indexingStatus"], d.get("reason")

    def user(self, email: str) -> str:
        with self.store.read() as tx:
            found = tx.get_node_by_external_id("users", "", email)
        assert found is not None, email
        return f"users/{found['_key']}"

    def statuses(self) -> dict[str, str]:
        with self.store.read() as tx:
            docs = tx.find_nodes("records", connector_id=CONN)
        return {d["externalRecordId"]: d["indexingStatus"] for d in docs if not d.get("isPlaceholder")}

    def worker(self, *, sweeper: bool = False, **options: Any) -> IndexingWorker:
        retry = options.pop("retry", RetryPolicy(max_attempts=5, base_delay_s=0.01, max_delay_s=0.05))
        opts = WorkerOptions(
            idle_poll_s=0.02,
            retry=retry,
            parse_limits=options.pop("parse_limits", self.parse_limits),
            **options,
        )
        log = StoreEventLog(self.store, lease_ms=self.lease_ms, poll_interval_s=0.01)
        fetcher = ContentFetcher(ConnectorPool(self.store, self.config, logger=LOG))
        sweep = None
        if sweeper:
            sweep = StrandedRecordSweeper(
                self.store,
                self.index,
                options=SweepOptions(lease_s=0.5, stale_queued_s=0.5),
                backlog_probe=store_backlog_probe("records_consumer_group"),
            )
        return IndexingWorker(
            self.store, log, self.index, self.embedder, fetcher, options=opts, sweeper=sweep
        )

    def index_all(self, timeout_s: float = 30.0, **options: Any) -> None:
        run(self.worker(**options).run_until_idle(timeout_s))


def make_env(tmp_path: Path, index: SearchIndex, embedder: FlakyEmbedder, **kw: Any) -> Env:
    root = tmp_path / "files"
    root.mkdir()
    MemConnector.reset(root)
    store = open_store(f"sqlite:///{tmp_path / 'headwater.db'}")
    with store.transaction() as tx:
        tx.upsert_nodes("organizations", [{"_key": ORG, "registeredName": "Acme"}])
    create_instance(store, type=SOURCE, connector_id=CONN, org_id=ORG)
    config = create_config_store(f"sqlite:///{tmp_path / 'config.db'}", SecretBox.generate())
    run(config.connect())
    provider = DataStoreProvider(store, connector_id=CONN, secret_box=SecretBox.generate())
    processor = DataSourceEntitiesProcessor(LOG, provider, None, connector_name=SOURCE)
    run(processor.initialize(ORG))
    return Env(root, store, config, processor, index, embedder, **kw)


def wait_for(path: Path, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout_s:g} s")
        time.sleep(0.02)
