"""What OneDrive and SharePoint do alike around their drives: the full pass with its catalog of drives
(`catalog`), retiring the drives and sites the tenant no longer has (`common.retire`), one change
notification subscription per drive, and the sync of only the drives notifications named.

A subclass implements `sync_drives`: list its containers (users, sites), sync each drive with the
given `DriveDeltaSync`, and note in `current` what it synced (`add`) or could not read (`keep`).

    full pass       directory -> sync_drives -> retire what `previous` had and `current` has not
                    -> catalog saved -> subscriptions reconciled (one per drive in the catalog)
    notification    pending "drives/{id}" -> that drive's delta round only, from the catalog's entry
                    and the stored roster (no directory, user or site listing)
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from typing import ClassVar

from headwater.clients.microsoft import AuthError, DeltaExpiredError, GraphError, ThrottledError
from headwater.connectors.core.builder import ConnectorConfigBuilder
from headwater.connectors.sources.microsoft.common.connector import GraphConnector
from headwater.connectors.sources.microsoft.common.directory import Directory, DirectorySync
from headwater.connectors.sources.microsoft.common.graph import declare_app_registration
from headwater.connectors.sources.microsoft.common.retire import forget_sync_points, retire_scope
from headwater.connectors.sources.microsoft.drives.catalog import DriveCatalog
from headwater.connectors.sources.microsoft.drives.delta import DriveDeltaSync, DriveRound, sync_key
from headwater.connectors.sources.microsoft.notifications.config import declare_change_notifications
from headwater.connectors.sources.microsoft.notifications.manager import Scope
from headwater.connectors.sources.microsoft.notifications.pending import stage_clear_pending

# Graph notifies about driveItems only on a drive's root, and only with changeType "updated"
DRIVE_CHANGE_TYPE = "updated"


def drive_resource(drive_id: str) -> str:
    return f"/drives/{drive_id}/root"


def declare_drive_settings(icon: str) -> Callable[[ConnectorConfigBuilder], ConnectorConfigBuilder]:
    """The settings of a drives connector (`ConnectorBuilder.configure`): the app registration and drive
    change notifications."""

    def declare(builder: ConnectorConfigBuilder) -> ConnectorConfigBuilder:
        declare_app_registration(builder, icon=icon)
        return declare_change_notifications(builder, [DRIVE_CHANGE_TYPE])

    return declare


class DrivesConnector(GraphConnector):
    """Base of OneDrive and SharePoint."""

    # whether a container (a SharePoint site) is itself a record group that goes with its drives
    container_is_record_group: ClassVar[bool] = False
    last_rounds: list[DriveRound] = []  # what the latest sync did per drive (tests, logs)

    @abstractmethod
    async def sync_drives(
        self, directory: Directory, delta: DriveDeltaSync, previous: DriveCatalog, current: DriveCatalog
    ) -> list[DriveRound]:
        """Sync every drive of the tenant this connector covers, noting them in `current`."""

    def drive_sync(self, directory: Directory) -> DriveDeltaSync:
        return DriveDeltaSync(
            self.graph,
            self.processor,
            self.sync_point,
            connector_name=self.connector_enum,
            email_of=directory.email_of,
        )

    async def sync_everything(self, pending: Mapping[str, int]) -> None:
        directory = await self.sync_directory()
        previous = await DriveCatalog.load(self.sync_point)
        current = DriveCatalog(leaving=dict(previous.leaving))
        self.last_rounds = await self.sync_drives(directory, self.drive_sync(directory), previous, current)
        await self.retire_gone(previous, current)
        await current.save(self.sync_point)

    async def retire_gone(self, previous: DriveCatalog, current: DriveCatalog) -> None:
        """Drives and sites that disappeared since the last pass (a user who left, a deleted site or
        library) lose their sync points now and their records through the brake (`common.retire`)."""
        for scope_id, group_ids in current.gone(previous, container_is_group=self.container_is_record_group):
            current.leaving[scope_id] = group_ids
            forget_sync_points(self.sync_point, [sync_key(g) for g in group_ids])
            self.logger.info(
                "connector %s: %s is gone from the tenant; removing its records", self.connector_id, scope_id
            )
        for scope_id, group_ids in sorted(current.leaving.items()):
            back = scope_id in current.containers or any(g in current.drives for g in group_ids)
            if back or await retire_scope(self.processor, scope_id, group_ids):
                del current.leaving[scope_id]

    async def sync_notified(self, pending: Mapping[str, int]) -> None:
        """The drives notifications named, each from its delta link; nothing else is read."""
        catalog = await DriveCatalog.load(self.sync_point)
        roster = await DirectorySync(
            self.graph, self.processor, self.data_store_provider, app_name=self.connector_enum
        ).roster()
        delta = self.drive_sync(roster)
        rounds: list[DriveRound] = []
        for scope_id, notified_at in sorted(pending.items()):
            scope = catalog.drives.get(scope_id.removeprefix("drives/"))
            if scope is None or sync_key(scope.drive_id) != scope_id:  # no longer synced
                stage_clear_pending(self.sync_point, scope_id, notified_at)
                continue
            try:
                rounds.append(await delta.sync(scope, notified_at=notified_at))
            except (ThrottledError, AuthError, DeltaExpiredError):
                raise
            except GraphError as exc:  # stays pending: the next sync tries again
                self.processor.record_failure(scope.drive_id, f"{scope.name} was skipped: {exc}")
        await self.processor.flush()
        self.last_rounds = rounds

    async def subscription_scopes(self) -> list[Scope]:
        """One subscription per synced drive, on its root."""
        catalog = await DriveCatalog.load(self.sync_point)
        return [(sync_key(d), drive_resource(d), DRIVE_CHANGE_TYPE) for d in sorted(catalog.drives)]
