"""OneDrive for Business: every active user's OneDrive, kept in sync through driveItem delta.

One sync: the directory (users, groups, membership; `common.directory`), then, for each enabled
member user with a OneDrive, the drive as a record group owned by that user (OWNER grant; its
records inherit it) and one delta round over it (`drives.delta`): files and folders as records
with their own grants (direct shares, sharing links as wide as they say), folders as PARENT_CHILD
parents. A user without a OneDrive (no licence, never signed in) is skipped; one drive that fails
is recorded and the others go on; throttling pauses the sync, which resumes from each drive's
sync point. The OneDrive of a user who left (deleted, or disabled in the directory) or lost it is
retired: its records go through the mass-deletion brake (`drives.connector`). Change notifications:
one subscription per drive; a notification syncs that drive only."""

from __future__ import annotations

from typing import Any, ClassVar

from headwater.clients.microsoft import (
    AccessDeniedError,
    AuthError,
    GraphConnectionError,
    GraphError,
    NotFoundError,
    ThrottledError,
)
from headwater.connectors.core.builder import ConnectorBuilder
from headwater.connectors.core.definitions import ConnectorScope
from headwater.connectors.sources.microsoft.common.directory import Directory, DirectoryUser
from headwater.connectors.sources.microsoft.common.graph import AUTH_TYPE
from headwater.connectors.sources.microsoft.common.timestamps import graph_ms
from headwater.connectors.sources.microsoft.drives import (
    DriveDeltaSync,
    DriveItemStream,
    DriveRound,
    DriveScope,
    open_stream,
    signed_url,
)
from headwater.connectors.sources.microsoft.drives.catalog import DriveCatalog
from headwater.connectors.sources.microsoft.drives.connector import DrivesConnector, declare_drive_settings
from headwater.models.constants import AppGroups, Connectors, RecordGroupType
from headwater.models.entities import Record, RecordGroup
from headwater.models.permission import EntityType, Permission, PermissionType

NAME = "OneDrive"
ICON = "/assets/icons/connectors/onedrive.svg"


def drive_record_group(drive: dict[str, Any], owner: DirectoryUser) -> RecordGroup:
    """A user's OneDrive as a record group."""
    who = owner.display_name or owner.email
    return RecordGroup(
        name=f"{who}'s OneDrive",
        short_name="OneDrive",
        description=f"OneDrive of {owner.email}",
        external_group_id=str(drive["id"]),
        connector_name=Connectors.ONEDRIVE,
        web_url=drive.get("webUrl") if isinstance(drive.get("webUrl"), str) else None,
        group_type=RecordGroupType.DRIVE,
        source_created_at=graph_ms(drive.get("createdDateTime")),
    )


def owner_grant(owner: DirectoryUser) -> Permission:
    return Permission(email=owner.email, type=PermissionType.OWNER, entity_type=EntityType.USER)


@(
    ConnectorBuilder(NAME)
    .in_group(AppGroups.MICROSOFT.value)
    .with_auth_type(AUTH_TYPE)
    .with_description(
        "Every user's OneDrive for Business in a Microsoft 365 tenant: files and folders with their "
        "sharing, kept in sync incrementally through Microsoft Graph"
    )
    .with_categories(["Storage"])
    .with_scopes([ConnectorScope.TEAM])
    .configure(declare_drive_settings(ICON))
    .build_decorator()
)
class OneDriveConnector(DrivesConnector):
    """Syncs the tenant's directory and every active user's OneDrive."""

    connector_enum: ClassVar[Connectors] = Connectors.ONEDRIVE

    async def sync_drives(
        self, directory: Directory, delta: DriveDeltaSync, previous: DriveCatalog, current: DriveCatalog
    ) -> list[DriveRound]:
        rounds: list[DriveRound] = []
        for user in directory.active_users():
            try:
                drive = await self.graph.user_drive(user.id)
            except NotFoundError:
                self.logger.info("connector %s: %s has no OneDrive; skipped", self.connector_id, user.email)
                continue
            except AccessDeniedError as exc:
                self.processor.record_failure(user.id, f"the OneDrive of {user.email} cannot be read: {exc}")
                current.keep(user.id, previous)
                continue
            group = drive_record_group(drive, user)
            scope = DriveScope(group.external_group_id, group.name)
            try:
                await self.processor.on_new_record_groups([(group, [owner_grant(user)])])
                rounds.append(await delta.sync(scope))
            except (ThrottledError, AuthError, GraphConnectionError):
                raise  # the tenant or the network, not this drive: the run pauses or stops
            except GraphError as exc:
                self.processor.record_failure(group.external_group_id, f"{group.name} was skipped: {exc}")
            current.add(user.id, scope)
        return rounds

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> DriveItemStream:
        """The file's bytes through `/content` (DriveItemGoneError when it was deleted since)."""
        return open_stream(self.graph, record, self.connector_id)

    async def get_signed_url(self, record: Record) -> str | None:
        """`@microsoft.graph.downloadUrl`: a pre-authenticated URL valid for a few minutes."""
        return await signed_url(self.graph, record, self.connector_id)
