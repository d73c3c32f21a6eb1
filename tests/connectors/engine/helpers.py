"""Shared set-up for the engine tests: an organisation, a config store, a synthetic connector whose
behaviour each test scripts (`Plan`), and readers for the graph and the outbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from headwater.config.base import ConfigStore
from headwater.config.crypto import SecretBox
from headwater.config.registry import create_config_store
from headwater.connectors.core.apps import App
from headwater.connectors.core.connector import BaseConnector, ConnectorInitError
from headwater.connectors.core.errors import SourceAuthError, SourceThrottledError
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.sync_point import SyncDataPointType, SyncPoint
from headwater.models.constants import MimeTypes, RecordType
from headwater.models.entities import FileRecord, Record
from headwater.models.permission import EntityType, Permission, PermissionType
from headwater.store.base import GraphStore
from headwater.store.schema import PARTITIONS

T = TypeVar("T")
ORG = "org1"
SYNTH = "Synth"
LOG = logging.getLogger("test.engine")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def seed_org(store: GraphStore) -> None:
    with store.transaction() as tx:
        tx.upsert_nodes("organizations", [{"_key": ORG, "registeredName": "Acme"}])


async def open_config(tmp_path: Path) -> ConfigStore:
    config = create_config_store(f"sqlite:///{tmp_path / 'config.db'}", SecretBox.generate())
    await config.connect()
    return config


@dataclass
class Plan:
    """What the synthetic source holds and how it misbehaves."""

    total: int = 20
    page: int = 5
    page_delay_s: float = 0.0
    throttle_at_page: int | None = None  # raise SourceThrottledError once, at this page
    throttle_retry_s: float = 0.2
    auth_error_at_page: int | None = None
    error_at_page: int | None = None  # raise RuntimeError (with a token in its message)
    init: bool | str = True  # False: init() returns False; a string: ConnectorInitError(string)
    bad_items: set[int] = field(default_factory=set)  # recorded with processor.record_failure
    revision: str = "r1"
    throttled: bool = False
    pages_done: list[int] = field(default_factory=list)


def synth_ext(i: int) -> str:
    return f"item-{i:06d}"


def synth_email(i: int) -> str:
    return f"user{i % 7}@example.com"


class SynthConnector(BaseConnector):
    """A connector over a synthetic source of `Plan.total` files, listed in pages, with one grant
    each, and a sync point per page (`{"page": next page}`)."""

    PLANS: ClassVar[dict[str, Plan]] = {}

    def __init__(self, logger: Any, processor: Any, provider: Any, config_service: Any) -> None:
        super().__init__(
            App(app_name=SYNTH, app_group="Synthetic"), logger, processor, provider, config_service
        )
        self.sync_point = SyncPoint(
            connector_name=SYNTH,
            org_id=processor.org_id,
            sync_data_point_type=SyncDataPointType.RECORDS,
            data_store_provider=provider,
        )

    @property
    def plan(self) -> Plan:
        return self.PLANS[self.connector_id]

    async def init(self) -> bool:
        if isinstance(self.plan.init, str):
            raise ConnectorInitError(self.plan.init)
        return self.plan.init

    def test_connection_and_access(self) -> bool:
        return True

    def get_signed_url(self, record: Record) -> str | None:
        return None

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def cleanup(self) -> None:
        return None

    async def run_sync(self) -> None:
        plan = self.plan
        cursor = await self.sync_point.read_sync_point("listing")
        page = int(cursor.get("page", 0))
        pages = (plan.total + plan.page - 1) // plan.page
        processor = self.data_entities_processor
        while page < pages:
            if plan.throttle_at_page == page and not plan.throttled:
                plan.throttled = True
                raise SourceThrottledError(retry_after_s=plan.throttle_retry_s)
            if plan.auth_error_at_page == page:
                raise SourceAuthError(
                    "401 from https://api.example/items: Authorization: Bearer sk-live-abcdef123456"
                )
            if plan.error_at_page == page:
                raise RuntimeError("boom at https://api.example/items?access_token=sekrit-token-value&page=3")
            batch = []
            for i in range(page * plan.page, min(plan.total, (page + 1) * plan.page)):
                if i in plan.bad_items:
                    processor.record_failure(
                        synth_ext(i), "the source returned a malformed item", f"file {i}"
                    )
                    continue
                batch.append((synth_record(i, plan.revision), [synth_grant(i)]))
            if batch:
                await processor.on_new_records(batch)
            await self.sync_point.update_sync_point("listing", {"page": page + 1})
            plan.pages_done.append(page)
            page += 1
            if plan.page_delay_s:
                await asyncio.sleep(plan.page_delay_s)


def synth_record(i: int, revision: str = "r1") -> FileRecord:
    return FileRecord(
        record_name=f"file {i}",
        record_type=RecordType.FILE,
        external_record_id=synth_ext(i),
        external_revision_id=revision,
        connector_name=SYNTH,
        mime_type=MimeTypes.PDF,
        extension="pdf",
        is_file=True,
        size_in_bytes=100 + i,
        source_updated_at=1_700_000_000_000 + i,
    )


def synth_grant(i: int) -> Permission:
    return Permission(email=synth_email(i), type=PermissionType.READ, entity_type=EntityType.USER)


def register_synth() -> None:
    ConnectorFactory.register_connector(SYNTH, SynthConnector)


# ---- readers ---------------------------------------------------------------------------------------


def events(store: GraphStore, topic: str = "record-events") -> list[tuple[str, dict[str, Any]]]:
    found = []
    with store.read() as tx:
        for partition in range(PARTITIONS):
            found.extend(tx.read_events(topic, partition, -1, 1_000_000))
    found.sort(key=lambda e: (e.event.get("timestamp", 0), e.partition, e.offset))
    return [(e.event["eventType"], e.event["payload"]) for e in found]


def records_by_ext(store: GraphStore, connector_id: str) -> dict[str, dict[str, Any]]:
    with store.read() as tx:
        docs = tx.find_nodes("records", connector_id=connector_id)
    out: dict[str, dict[str, Any]] = {}
    for d in docs:
        assert d["externalRecordId"] not in out, f"duplicate record {d['externalRecordId']}"
        out[d["externalRecordId"]] = d
    return out


def permission_triples(store: GraphStore, connector_id: str) -> set[tuple[str, str, str]]:
    """(principal email, record external id, role) of every permission edge to the connector's records."""
    recs = {f"records/{d['_key']}": ext for ext, d in records_by_ext(store, connector_id).items()}
    out = set()
    with store.read() as tx:
        for e in tx.get_edges("permissions"):
            if e["_to"] not in recs:
                continue
            coll, key = e["_from"].split("/", 1)
            assert coll == "users", e
            user = tx.get_node("users", key)
            assert user is not None
            out.add((user["email"], recs[e["_to"]], e["role"]))
    return out
