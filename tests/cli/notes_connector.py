"""A small connector for the CLI tests: "Notes Folder" syncs the files of a folder on disk.

Its form has what the CLI must handle: a required text field (`folder`), a secret (`apiToken`,
checked against the folder's `.token` file by the connection test), an optional choice (`mode`),
an optional number with a default (`pageSize`), a sync strategy with a schedule, a sync filter
(`file_extensions`) and an indexing filter (`files`).

Grants: files under `team/` inherit from the "team" record group, which the organisation can read;
files under a directory named like an email are that person's (OWNER); other files are the
organisation's. A file ending in `.bad` is recorded as a failed item; `.url` files become
webpages whose URL is their content. One sync point per page (`{"page": n}`).
"""

from __future__ import annotations

import asyncio
from logging import Logger
from pathlib import Path
from typing import Any

from headwater.connectors.core.apps import App
from headwater.connectors.core.builder import ConnectorBuilder
from headwater.connectors.core.connector import BaseConnector, ConnectorInitError
from headwater.connectors.core.data_store import DataStoreProvider
from headwater.connectors.core.definitions import AuthField, FilterField
from headwater.connectors.core.errors import SourceAuthError
from headwater.connectors.core.filters import FilterCategory, FilterType
from headwater.connectors.core.sync_point import SyncDataPointType, SyncPoint
from headwater.models.constants import MimeTypes, RecordGroupType
from headwater.models.entities import FileRecord, Record, RecordGroup, WebpageRecord
from headwater.models.permission import EntityType, Permission, PermissionType

NOTES = "Notes Folder"
TEAM_GROUP = "team"


@(
    ConnectorBuilder(NOTES)
    .in_group("Test")
    .with_auth_type("API_TOKEN")
    .with_description("Notes from a folder on disk")
    .with_scopes(["personal", "team"])
    .configure(
        lambda b: (
            b.add_auth_field(
                AuthField(name="folder", display_name="Folder", description="The folder to sync")
            )
            .add_auth_field(
                AuthField(name="apiToken", display_name="API token", field_type="PASSWORD", is_secret=True)
            )
            .add_auth_field(
                AuthField(
                    name="mode",
                    display_name="Mode",
                    field_type="SELECT",
                    required=False,
                    default_value="fast",
                    options=["fast", "thorough"],
                )
            )
            .add_auth_field(
                AuthField(
                    name="pageSize",
                    display_name="Page size",
                    field_type="NUMBER",
                    required=False,
                    default_value=2,
                )
            )
            .with_sync_strategies(["MANUAL", "SCHEDULED"])
            .with_scheduled_config(True, 30)
            .add_filter_field(
                FilterField(
                    name="file_extensions", display_name="File extensions", filter_type=FilterType.LIST
                )
            )
            .add_filter_field(
                FilterField(
                    name="files",
                    display_name="Index files",
                    filter_type=FilterType.BOOLEAN,
                    category=FilterCategory.INDEXING,
                )
            )
        )
    )
    .build_decorator()
)
class NotesFolderConnector(BaseConnector):
    page_delay_s: float = 0.0  # tests slow the listing down to watch it
    hang_after_pages: int | None = None  # tests make the listing stall here until it is cancelled

    def __init__(
        self, logger: Logger, processor: Any, provider: DataStoreProvider, config_service: Any
    ) -> None:
        super().__init__(App(app_name=NOTES, app_group="Test"), logger, processor, provider, config_service)
        self.folder = Path()
        self.token = ""
        self.page_size = 2
        self.extensions: list[str] = []
        self.sync_point = SyncPoint(
            connector_name=NOTES,
            org_id=processor.org_id,
            sync_data_point_type=SyncDataPointType.RECORDS,
            data_store_provider=provider,
        )

    async def init(self) -> bool:
        config = await self.config_service.get_config(f"/services/connectors/{self.connector_id}/config")
        if not config:
            raise ConnectorInitError("Notes Folder is not configured")
        auth = config["auth"]
        self.folder = Path(auth["folder"])
        if not self.folder.is_dir():
            raise ConnectorInitError(
                f"folder {self.folder} does not exist — pass an existing directory with --set folder=/dir"
            )
        self.token = str(auth["apiToken"])
        self.page_size = int(auth.get("pageSize") or 2)
        sync_filters, _ = await self.data_entities_processor.load_filters()
        self.extensions = [e.lower().lstrip(".") for e in sync_filters.get_value("file_extensions", [])]
        return True

    def test_connection_and_access(self) -> bool:
        expected = self.folder / ".token"
        return expected.exists() and expected.read_text().strip() == self.token

    def get_signed_url(self, record: Record) -> str | None:
        return None

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> Any:
        return (self.folder / record.external_record_id).read_bytes()

    def cleanup(self) -> None:
        return None

    def _files(self) -> list[Path]:
        return sorted(
            p
            for p in self.folder.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.parts)
        )

    async def run_sync(self) -> None:
        if not self.test_connection_and_access():
            raise SourceAuthError(f"the folder rejected the token (Authorization: Bearer {self.token})")
        processor = self.data_entities_processor
        team = RecordGroup(
            name="team",
            external_group_id=TEAM_GROUP,
            connector_name=NOTES,
            group_type=RecordGroupType.DRIVE,
            inherit_permissions=False,
        )
        await processor.on_new_record_groups(
            [(team, [Permission(entity_type=EntityType.ORG, type=PermissionType.READ)])]
        )
        files = self._files()
        start = int((await self.sync_point.read_sync_point("listing")).get("page", 0))
        for page in range(start, (len(files) + self.page_size - 1) // self.page_size):
            batch = []
            for path in files[page * self.page_size : (page + 1) * self.page_size]:
                relative = path.relative_to(self.folder).as_posix()
                if path.suffix == ".bad":
                    processor.record_failure(relative, "the file is corrupt", path.name)
                    continue
                if self.extensions and path.suffix.lstrip(".").lower() not in self.extensions:
                    processor.record_skipped()
                    continue
                batch.append(self._map(path, relative))
            if batch:
                await processor.on_new_records(batch)
            await self.sync_point.update_sync_point("listing", {"page": page + 1})
            if self.page_delay_s:
                await asyncio.sleep(self.page_delay_s)
            if self.hang_after_pages is not None and page + 1 >= self.hang_after_pages:
                await asyncio.Event().wait()

    def _map(self, path: Path, relative: str) -> tuple[Record, list[Permission]]:
        stat = path.stat()
        top = relative.split("/", 1)[0] if "/" in relative else ""
        common: dict[str, Any] = {
            "record_name": path.name,
            "external_record_id": relative,
            "external_revision_id": f"{stat.st_mtime_ns}-{stat.st_size}",
            "connector_name": NOTES,
            "source_updated_at": stat.st_mtime_ns // 1_000_000,
        }
        record: Record
        if path.suffix == ".url":
            record = WebpageRecord(weburl=path.read_text().strip(), mime_type=MimeTypes.HTML, **common)
        else:
            record = FileRecord(
                path=relative,
                extension=path.suffix.lstrip("."),
                mime_type=MimeTypes.MARKDOWN if path.suffix == ".md" else MimeTypes.PLAIN_TEXT,
                size_in_bytes=stat.st_size,
                is_file=True,
                **common,
            )
        if top == TEAM_GROUP:
            record.external_record_group_id = TEAM_GROUP
            return record, []
        if "@" in top:
            return record, [Permission(email=top, entity_type=EntityType.USER, type=PermissionType.OWNER)]
        return record, [Permission(entity_type=EntityType.ORG, type=PermissionType.READ)]
