"""The Local FS connector: folders on the Headwater server, synced into the graph (playbook step
6.1/6.2: an App, ConnectorBuilder metadata, a BaseConnector subclass over the SDK's
DataSourceEntitiesProcessor and SyncPoint).

Who sees the files: a local folder has no access list the platform could trust, so access is
decided here, on each root's record group, and every record inherits it: the instance's owner
(the SDK's connector group, whose one member is the creator), the configured users, and the
configured groups. With none of them, nobody sees the records (fail closed). A change of the
configured users or groups is a permission change only: nothing is re-indexed.
"""

from __future__ import annotations

import os
from logging import Logger
from typing import Any

from headwater.connectors.core.apps import App
from headwater.connectors.core.builder import ConnectorBuilder, ConnectorConfigBuilder
from headwater.connectors.core.connector import BaseConnector, ConnectorInitError, maybe_await
from headwater.connectors.core.definitions import ConnectorScope, DocumentationLink, PermissionModel
from headwater.connectors.core.sync_point import SyncPoint
from headwater.connectors.sources.localfs import mapping
from headwater.connectors.sources.localfs.content import LocalFileStream, open_record
from headwater.connectors.sources.localfs.fsaccess import FsAccess
from headwater.connectors.sources.localfs.settings import (
    SETTINGS_FIELDS,
    LocalFsSettings,
    settings_from_config,
)
from headwater.connectors.sources.localfs.state import StateStore
from headwater.connectors.sources.localfs.sync_run import LocalFsSync
from headwater.models.constants import AppGroups, Connectors
from headwater.models.entities import Record
from headwater.models.permission import Permission

NAME = "Local FS"


class LocalFsApp(App):
    def __init__(self) -> None:
        super().__init__(app_name=Connectors.LOCAL_FS, app_group=AppGroups.LOCAL_STORAGE)


def _declare(builder: ConnectorConfigBuilder) -> ConnectorConfigBuilder:
    builder.with_icon("/assets/icons/connectors/localfs.svg")
    builder.with_permission_model(PermissionModel.APP_LEVEL)
    builder.add_documentation_link(DocumentationLink("Local folders", "docs/connectors/local-folders.md"))
    for field in SETTINGS_FIELDS:
        builder.add_sync_custom_field(field)
    return builder.with_sync_strategies(["SCHEDULED", "MANUAL"]).with_scheduled_config(True, 60)


@(
    ConnectorBuilder(NAME)
    .in_group(AppGroups.LOCAL_STORAGE.value)
    .with_auth_type("NONE")
    .with_description(
        "Folders on the Headwater server: files and subfolders, kept in sync incrementally "
        "(renames and moves keep their records), shared with the people you choose"
    )
    .with_categories(["Storage"])
    .with_scopes([ConnectorScope.PERSONAL, ConnectorScope.TEAM])
    .configure(_declare)
    .build_decorator()
)
class LocalFilesystemConnector(BaseConnector):
    """Syncs configured folders; each folder is a record group, its files and subfolders records."""

    fs: FsAccess = FsAccess()  # all disk access; a test gives one instance another

    def __init__(
        self,
        logger: Logger,
        data_entities_processor: Any,
        data_store_provider: Any,
        config_service: Any,
        connector_id: str | None = None,
        scope: str = ConnectorScope.PERSONAL.value,
        created_by: str | None = None,
    ) -> None:
        super().__init__(
            LocalFsApp(),
            logger,
            data_entities_processor,
            data_store_provider,
            config_service,
            connector_id,
            scope,
            created_by,
        )
        self.sync_point = SyncPoint.for_records(Connectors.LOCAL_FS.value, data_store_provider)
        self.states = StateStore(self.sync_point)
        self.settings: LocalFsSettings | None = None

    async def init(self) -> bool:
        config = await self.config_service.get_config(f"/services/connectors/{self.connector_id}/config")
        self.settings = settings_from_config(config, self.fs)
        await self._load_indexing_filters()
        return True

    def test_connection_and_access(self) -> bool:
        if self.settings is None:
            return False
        for root in self.settings.roots:
            try:
                fd = self.fs.open_root(root.path)
                try:
                    self.fs.list_dir(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                self.logger.warning("local folder %s cannot be read: %s", root.display, exc.strerror or exc)
                return False
        return True

    def get_signed_url(self, record: Record) -> str | None:
        return None  # a local file has no URL of its own: content goes through stream_record

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> LocalFileStream:
        """The file's content as a LocalFileStream (async chunks, `body_iterator`, `media_type`).
        Raises LocalFileRefusedError for anything outside the configured folders and
        LocalFileGoneError for a file removed since the last sync."""
        return open_record(record, connector_id=self.connector_id, roots=self._settings().roots, fs=self.fs)

    async def run_sync(self) -> None:
        settings = self._settings()
        processor = self.data_entities_processor
        groups = await self._sync_sharing_groups(settings)
        grants = mapping.root_permissions(settings, await self._owner_permission())
        if not grants:
            self.logger.warning(
                "connector %s has no owner and shares with nobody: its records are visible to nobody",
                self.connector_id,
            )
        await processor.on_new_record_groups([(mapping.root_record_group(r), grants) for r in settings.roots])
        current = [root.group_id for root in settings.roots]
        previous = (await self.states.instance()).get("roots") or []
        removed = [group for group in previous if group not in current]
        run = LocalFsSync(
            processor=processor, states=self.states, fs=self.fs, settings=settings, logger=self.logger
        )
        await run.run(removed)
        await self.states.save_instance(current, groups)

    def cleanup(self) -> None:
        return None  # nothing held between calls: every file is opened and closed where it is read

    def _settings(self) -> LocalFsSettings:
        if self.settings is None:
            raise ConnectorInitError("the Local FS connector was used before init()")
        return self.settings

    async def _owner_permission(self) -> Permission | None:
        """The grant to the instance's owner: the SDK's connector group, whose member is the
        creator. The creator's email is looked up here for personal and team instances alike (the
        SDK looks only for personal ones): through the processor when it can, else in the store."""
        if self.created_by and not self.creator_email:
            finder = getattr(self.data_entities_processor, "get_user_by_user_id", None)
            if finder is not None:
                user = await maybe_await(finder(self.created_by))
            else:
                with self.data_store_provider.store.read() as tx:
                    user = tx.get_node("users", self.created_by)
            email = user.get("email") if isinstance(user, dict) else getattr(user, "email", None)
            self.creator_email = email if isinstance(email, str) and email else None
        return await self.ensure_connector_group_permission()

    async def _sync_sharing_groups(self, settings: LocalFsSettings) -> list[str]:
        """Write the configured groups with their members; delete the ones no longer configured.
        Returns the external ids of the groups now configured."""
        processor = self.data_entities_processor
        wanted = [group.external_id for group in settings.share_with_groups]
        for stale in (await self.states.instance()).get("groups") or []:
            if stale not in wanted:
                await processor.on_user_group_deleted(stale)
        if settings.share_with_groups:
            await processor.on_new_user_groups([mapping.sharing_group(g) for g in settings.share_with_groups])
        return wanted
