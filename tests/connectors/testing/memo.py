"""A tiny connector written the playbook's way (imports `app.` -> `headwater.`), over an in-memory
"Memo" service: notebooks (record groups, shared with members) holding notes (records that inherit
the notebook's permissions). It lists every notebook completely on each sync and lets the processor
sweep what disappeared (`begin_scope` / `complete_scope`). The broken variants below each break one
rule the contract kit checks."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from logging import Logger
from typing import Any

from headwater.config.constants.arangodb import MimeTypes, OriginTypes
from headwater.connectors.core.base.connector.connector_service import BaseConnector
from headwater.connectors.core.base.data_processor.data_source_entities_processor import (
    DataSourceEntitiesProcessor,
)
from headwater.connectors.core.base.data_store.data_store import DataStoreProvider
from headwater.connectors.core.base.sync_point.sync_point import SyncDataPointType, SyncPoint
from headwater.connectors.core.connector import ConnectorInitError
from headwater.connectors.core.interfaces.connector.apps import App
from headwater.connectors.core.registry.connector_builder import AuthField, ConnectorBuilder
from headwater.models.entities import FileRecord, Record, RecordGroup, RecordGroupType, RecordType
from headwater.models.permission import EntityType, Permission, PermissionType
from headwater.store.base import GraphStore

MEMO = "Memo"  # a third-party connector names itself with a plain string
GOOD_TOKEN = "memo-good-token-0001"
PAGE_SIZE = 2


class MemoAuthError(Exception):
    pass


@dataclass
class MemoServer:
    """The fake Memo service: state in memory, a token check, paged listings."""

    token: str = GOOD_TOKEN
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def seed(self) -> MemoServer:
        self.notebooks = {
            "nb-1": {"name": "Team", "members": ["alice@acme.test", "bob@acme.test"]},
            "nb-2": {"name": "Private", "members": ["alice@acme.test"]},
        }
        for n in range(1, 6):
            self.notes[f"note-{n}"] = {
                "name": f"note {n}.md",
                "notebook": "nb-1" if n <= 3 else "nb-2",
                "etag": f"e{n}-1",
                "modified": 1_700_000_000_000 + n,
            }
        return self

    def _auth(self, token: str) -> None:
        if token != self.token:
            raise MemoAuthError("401 Unauthorized")

    def list_notebooks(self, token: str) -> list[tuple[str, dict[str, Any]]]:
        self._auth(token)
        return sorted(self.notebooks.items())

    def list_notes(
        self, token: str, notebook: str, page: int
    ) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
        self._auth(token)
        mine = sorted((k, v) for k, v in self.notes.items() if v["notebook"] == notebook)
        chunk = mine[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        return chunk, (page + 1) * PAGE_SIZE < len(mine)

    def delete_note(self, note_id: str) -> str:
        del self.notes[note_id]
        return note_id


class MemoApp(App):
    def __init__(self) -> None:
        super().__init__(app_name=MEMO, app_group="Memo Inc")


@(
    ConnectorBuilder("Memo")
    .in_group("Memo Inc")
    .with_auth_type("API_TOKEN")
    .with_description("Sync notebooks and notes from Memo")
    .with_categories(["Knowledge"])
    .configure(
        lambda builder: (
            builder.with_icon("/assets/icons/connectors/memo.svg")
            .add_auth_field(
                AuthField(
                    name="apiToken",
                    display_name="API token",
                    placeholder="memo-...",
                    description="A Memo API token",
                    field_type="PASSWORD",
                    is_secret=True,
                )
            )
            .with_sync_strategies(["SCHEDULED", "MANUAL"])
            .with_scheduled_config(True, 60)
        )
    )
    .build_decorator()
)
class MemoConnector(BaseConnector):
    """Syncs Memo notebooks (record groups) and notes (records)."""

    server: MemoServer  # set by the test's factory: the fake the "client" talks to

    def __init__(
        self,
        logger: Logger,
        data_entities_processor: DataSourceEntitiesProcessor,
        data_store_provider: DataStoreProvider,
        config_service: Any,
    ) -> None:
        super().__init__(MemoApp(), logger, data_entities_processor, data_store_provider, config_service)
        self.token: str | None = None
        self.sync_point = SyncPoint(
            connector_name=MEMO,
            org_id=self.data_entities_processor.org_id,
            sync_data_point_type=SyncDataPointType.RECORDS,
            data_store_provider=self.data_store_provider,
        )

    async def init(self) -> bool:
        config = await self.config_service.get_config(f"/services/connectors/{self.connector_id}/config")
        if not config:
            raise ConnectorInitError("Memo is not configured: add an API token")
        self.token = config["auth"]["apiToken"]
        if not self.test_connection_and_access():
            raise ConnectorInitError("Memo rejected the API token (401): check it and save again")
        return True

    def test_connection_and_access(self) -> bool:
        try:
            self.server.list_notebooks(self.token or "")
        except MemoAuthError:
            return False
        return True

    # -- mapping (pure) --

    def note_record(self, note_id: str, note: dict[str, Any]) -> FileRecord:
        return FileRecord(
            record_name=note["name"],
            record_type=RecordType.FILE,
            external_record_id=note_id,
            external_revision_id=note["etag"],
            external_record_group_id=note["notebook"],
            record_group_type=RecordGroupType.FOLDER,
            origin=OriginTypes.CONNECTOR,
            connector_name=MEMO,
            mime_type=MimeTypes.MARKDOWN,
            source_updated_at=note["modified"],
            extension="md",
            is_file=True,
        )

    def notebook_permissions(self, notebook: dict[str, Any]) -> list[Permission]:
        return [
            Permission(email=m, type=PermissionType.READ, entity_type=EntityType.USER)
            for m in notebook["members"]
        ]

    # -- sync --

    async def run_sync(self) -> None:
        processor = self.data_entities_processor
        token = self.token or ""
        for nb_id, notebook in self.server.list_notebooks(token):
            group = RecordGroup(
                name=notebook["name"],
                external_group_id=nb_id,
                connector_name=MEMO,
                group_type=RecordGroupType.FOLDER,
            )
            await processor.on_new_record_groups([(group, self.notebook_permissions(notebook))])
            self.begin(nb_id)
            page = 0
            while True:
                notes, more = self.server.list_notes(token, nb_id, page)
                if notes:
                    await processor.on_new_records([(self.note_record(k, v), []) for k, v in notes])
                await self.sync_point.update_sync_point(f"notebook/{nb_id}", {"pages": page + 1})
                if not more:
                    break
                page += 1
            await self.complete(nb_id)

    def begin(self, scope: str) -> None:
        self.data_entities_processor.begin_scope(scope)

    async def complete(self, scope: str) -> None:
        await self.data_entities_processor.complete_scope(scope)

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def get_signed_url(self, record: Record) -> str | None:
        return None

    def cleanup(self) -> None:
        self.token = None

    @classmethod
    async def create_connector(
        cls, logger: Logger, data_store_provider: DataStoreProvider, config_service: Any
    ) -> MemoConnector:
        data_entities_processor = DataSourceEntitiesProcessor(logger, data_store_provider, config_service)
        await data_entities_processor.initialize()
        return cls(logger, data_entities_processor, data_store_provider, config_service)


# ---- broken variants: each breaks one rule ------------------------------------------------------------


class RewritingMemoConnector(MemoConnector):
    """Reports every note with a new revision and timestamp on every sync (a fresh etag per fetch)."""

    def note_record(self, note_id: str, note: dict[str, Any]) -> FileRecord:
        record = super().note_record(note_id, note)
        record.external_revision_id = f"{note['etag']}-{time.time_ns()}"
        record.source_updated_at = time.time_ns() // 1_000_000
        return record


class NeverDeletesMemoConnector(MemoConnector):
    """Lists completely but never tells the processor so: nothing deleted in the source goes away."""

    def begin(self, scope: str) -> None:
        pass

    async def complete(self, scope: str) -> None:
        pass


class NoPermissionsMemoConnector(MemoConnector):
    """Forgets the notebooks' sharing: its notes have no permission decision."""

    def notebook_permissions(self, notebook: dict[str, Any]) -> list[Permission]:
        return []


class LeakyMessageMemoConnector(MemoConnector):
    async def init(self) -> bool:
        config = await self.config_service.get_config(f"/services/connectors/{self.connector_id}/config")
        self.token = config["auth"]["apiToken"]
        if not self.test_connection_and_access():
            raise ConnectorInitError(f"Memo rejected token {self.token}")
        return True


class CrashingMemoConnector(MemoConnector):
    async def init(self) -> bool:
        config = await self.config_service.get_config(f"/services/connectors/{self.connector_id}/config")
        self.token = config["auth"]["apiToken"]
        self.server.list_notebooks(self.token or "")  # MemoAuthError escapes
        return True


class LoggingLeakMemoConnector(MemoConnector):
    async def init(self) -> bool:
        config = await self.config_service.get_config(f"/services/connectors/{self.connector_id}/config")
        self.token = config["auth"]["apiToken"]
        self.logger.debug("connecting to Memo with token %s", self.token)
        return self.test_connection_and_access()


class AlwaysOkMemoConnector(MemoConnector):
    """Accepts any token and claims access: bad credentials go unnoticed."""

    async def init(self) -> bool:
        return True

    def test_connection_and_access(self) -> bool:
        return True


def factories(
    connector_cls: type[MemoConnector], server: MemoServer, store: GraphStore, *, token: str = GOOD_TOKEN
) -> tuple[Any, Any]:
    """(make_connector(store, connector_id), make_bad_connector()) for a Memo connector class; the
    bad one is configured with BAD_TOKEN and built on `store` under the id "memo-bad"."""
    from headwater.connectors import testing

    log = logging.getLogger("test.memo")

    def config(connector_id: str, api_token: str) -> testing.DictConfigService:
        return testing.DictConfigService(
            {f"/services/connectors/{connector_id}/config": {"auth": {"apiToken": api_token}}}
        )

    async def make(target: GraphStore, connector_id: str) -> BaseConnector:
        provider = await testing.data_store_provider_for(target, connector_id)
        connector = await connector_cls.create_connector(log, provider, config(connector_id, token))
        connector.connector_id = connector_id
        connector.server = server
        assert await connector.init()
        return connector

    async def make_bad() -> BaseConnector:
        provider = await testing.data_store_provider_for(store, "memo-bad")
        connector = await connector_cls.create_connector(log, provider, config("memo-bad", BAD_TOKEN))
        connector.connector_id = "memo-bad"
        connector.server = server
        return connector

    return make, make_bad


BAD_TOKEN = "memo-WRONG-secret-9f3a"
