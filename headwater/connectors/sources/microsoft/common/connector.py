"""What every Microsoft 365 connector does the same way: read the app registration from the instance
config, open one Graph client for the instance, probe it, translate Graph's errors, close it; and
change notifications with polling as the fallback.

A subclass sets its app and connector name and implements `sync_everything` (a full pass over its
scopes), `stream_record` and `get_signed_url`; with change notifications also `subscription_scopes`
(scope id, Graph resource, changeType per drive or mail folder) and `sync_notified` (only the scopes
notifications named). Then:

    run_sync()              sync_everything(); subscriptions reconciled; the poll noted
    run_incremental_sync()  sync_notified(pending) when notifications named scopes and the last full
                            pass is younger than `poll_interval_s`; otherwise run_sync() (polling)
    on_instance_removed()   the instance's subscriptions deleted in Graph (delete and disable)
    on_instance_disabled()

Tests point an instance at a fake by setting `graph_endpoint` before `init()`."""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from logging import Logger
from typing import Any, ClassVar

from headwater.clients.microsoft import GraphClient, GraphError
from headwater.connectors.core.apps import App
from headwater.connectors.core.connector import BaseConnector, ConnectorInitError
from headwater.connectors.core.definitions import ConnectorScope
from headwater.connectors.core.instances import get_instance
from headwater.connectors.core.processor import DataSourceEntitiesProcessor
from headwater.connectors.core.sync_point import SyncPoint
from headwater.connectors.sources.microsoft.common.directory import Directory, DirectorySync
from headwater.connectors.sources.microsoft.common.graph import (
    GraphConnection,
    GraphEndpoint,
    credentials_from_config,
    graph_errors,
)
from headwater.connectors.sources.microsoft.notifications.config import notification_url_of
from headwater.connectors.sources.microsoft.notifications.manager import (
    ReconcileReport,
    Scope,
    SubscriptionManager,
)
from headwater.connectors.sources.microsoft.notifications.pending import pending_scopes, stage_clear_pending
from headwater.models.constants import AppGroups, Connectors

POLL_KEY = "microsoft/notifications/poll"
DEFAULT_POLL_INTERVAL_S = 3600.0


class GraphConnector(BaseConnector):
    """Base of the Microsoft 365 connectors (team scope: the app reads the whole tenant)."""

    connector_enum: ClassVar[Connectors]
    graph_endpoint: GraphEndpoint | None = None  # None: Microsoft's cloud; a fake's in tests
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S  # a full pass at least this often
    clock: Callable[[], float] = time.time
    notification_url: str | None = None  # None: polling only

    @classmethod
    def make_app(cls) -> App:
        return App(app_name=cls.connector_enum, app_group=AppGroups.MICROSOFT)

    def __init__(
        self,
        logger: Logger,
        data_entities_processor: Any,
        data_store_provider: Any,
        config_service: Any,
        connector_id: str | None = None,
        scope: str = ConnectorScope.TEAM.value,
        created_by: str | None = None,
    ) -> None:
        super().__init__(
            self.make_app(),
            logger,
            data_entities_processor,
            data_store_provider,
            config_service,
            connector_id,
            scope,
            created_by,
        )
        self.connection: GraphConnection | None = None
        # the instance's record sync points: one per drive, mailbox folder, site (`drives/{id}`, ...)
        self.sync_point = SyncPoint.for_records(self.connector_enum.value, data_store_provider)

    async def init(self) -> bool:
        """Read the app registration (ConnectorInitError says what to fix) and open the Graph client.
        No request is sent: `test_connection_and_access` probes."""
        config = await self.config_service.get_config(f"/services/connectors/{self.connector_id}/config")
        credentials = credentials_from_config(config)
        self.notification_url = notification_url_of(config)
        await self._close()
        self.connection = GraphConnection.open(credentials, self.graph_endpoint)
        await self._load_indexing_filters()
        return True

    async def test_connection_and_access(self) -> bool:
        """One cheap read that needs the app's consent (a user of the tenant)."""
        try:
            async for _ in self.graph.users(select=("id",)):
                break
        except GraphError as exc:  # its message carries Graph's words, never the secret
            self.logger.warning("connector %s: Microsoft Graph refused access: %s", self.connector_id, exc)
            return False
        return True

    @property
    def graph(self) -> GraphClient:
        if self.connection is None:
            raise ConnectorInitError(f"{type(self).__name__} was used before init()")
        return self.connection.client

    @property
    def processor(self) -> DataSourceEntitiesProcessor:
        processor = self.data_entities_processor
        assert isinstance(processor, DataSourceEntitiesProcessor)
        return processor

    async def sync_directory(self) -> Directory:
        """Users and groups of the tenant, from the instance's directory sync points."""
        return await DirectorySync(
            self.graph, self.processor, self.data_store_provider, app_name=self.connector_enum
        ).run()

    # ---- syncs -------------------------------------------------------------------------------------

    @abstractmethod
    async def sync_everything(self, pending: Mapping[str, int]) -> None:
        """A full pass over every scope, each from its own delta link (inside `graph_errors()`).
        `pending`: the scopes notifications named (scope -> when), for a subclass that clears them
        with the scope's new link."""

    async def sync_notified(self, pending: Mapping[str, int]) -> None:
        """Only the scopes notifications named (inside `graph_errors()`); by default everything."""
        await self.sync_everything(pending)

    async def run_sync(self) -> None:
        """Everything; then the subscriptions follow the scopes synced, and the poll is noted. The
        scopes notified before the pass are covered by it: their pending marks go (newer ones stay)."""
        pending = await pending_scopes(self.sync_point)
        async with graph_errors():
            await self.sync_everything(pending)
            await self.manage_subscriptions()
        for scope, notified_at in pending.items():
            stage_clear_pending(self.sync_point, scope, notified_at)
        await self.sync_point.update_sync_point(POLL_KEY, {"at": int(self.clock() * 1000)})

    async def run_incremental_sync(self) -> None:
        """The scopes change notifications named, or everything when a poll is due (or none named)."""
        pending = await pending_scopes(self.sync_point)
        last_poll = (await self.sync_point.read_sync_point(POLL_KEY)).get("at")
        poll_due = (
            not isinstance(last_poll, int) or self.clock() * 1000 - last_poll >= self.poll_interval_s * 1000
        )
        if poll_due or not pending:
            await self.run_sync()
            return
        async with graph_errors():
            await self.sync_notified(pending)

    # ---- change notifications ----------------------------------------------------------------------

    async def subscription_scopes(self) -> list[Scope]:
        """(scope id, Graph resource, changeType) for every scope to be notified about; none by default."""
        return []

    def subscriptions(self) -> SubscriptionManager:
        """The instance's subscription manager (without a notification URL it only deletes)."""
        return SubscriptionManager(
            self.graph,
            self.config_service,
            self.notification_url,
            now=self.subscription_now,
            logger=self.logger,
        )

    def subscription_now(self) -> datetime:
        """The time subscription lifetimes are counted from (a test gives the fake tenant's)."""
        return datetime.now(UTC)

    async def manage_subscriptions(self) -> ReconcileReport:
        """Subscribe to every synced scope, renew what is due, drop what is no longer synced. A
        disabled instance (a sync that was running when it was disabled) keeps none."""
        manager = self.subscriptions()
        store = getattr(self.data_store_provider, "store", None)
        instance = get_instance(store, self.connector_id) if store is not None else None
        disabled = instance is not None and instance.get("isActive") is False
        wanted = [] if disabled or not self.notification_url else await self.subscription_scopes()
        return await manager.reconcile(self.connector_id, self.processor.org_id, wanted)

    async def remove_subscriptions(self) -> list[str]:
        """Delete the instance's subscriptions in Graph and in Headwater; returns their scopes."""
        async with graph_errors():
            return await self.subscriptions().remove_all(self.connector_id)

    async def on_instance_removed(self) -> None:
        """The instance is being deleted: Graph stops notifying about it."""
        removed = await self.remove_subscriptions()
        self.logger.info("connector %s: %d subscription(s) deleted", self.connector_id, len(removed))

    async def on_instance_disabled(self) -> None:
        """The instance was disabled: no subscriptions while it is (the next sync after it is enabled
        again subscribes anew)."""
        await self.on_instance_removed()

    async def cleanup(self) -> None:
        await self._close()

    async def _close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            await connection.close()
