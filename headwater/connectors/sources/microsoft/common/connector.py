"""What every Microsoft 365 connector does the same way: read the app registration from the instance
config, open one Graph client for the instance, probe it, translate Graph's errors, close it.

A subclass sets its app and connector name and implements `run_sync` (inside `graph_errors()`),
`stream_record` and `get_signed_url`. Tests point an instance at a fake by setting
`graph_endpoint` before `init()`."""

from __future__ import annotations

from logging import Logger
from typing import Any, ClassVar

from headwater.clients.microsoft import GraphClient, GraphError
from headwater.connectors.core.apps import App
from headwater.connectors.core.connector import BaseConnector, ConnectorInitError, maybe_await
from headwater.connectors.core.definitions import ConnectorScope
from headwater.connectors.core.processor import DataSourceEntitiesProcessor
from headwater.connectors.core.sync_point import SyncDataPointType, SyncPoint
from headwater.connectors.sources.microsoft.common.directory import Directory, DirectorySync
from headwater.connectors.sources.microsoft.common.graph import (
    GraphConnection,
    GraphEndpoint,
    credentials_from_config,
)
from headwater.models.constants import AppGroups, Connectors


class GraphConnector(BaseConnector):
    """Base of the Microsoft 365 connectors (team scope: the app reads the whole tenant)."""

    connector_enum: ClassVar[Connectors]
    graph_endpoint: GraphEndpoint | None = None  # None: Microsoft's cloud; a fake's in tests

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
        self.sync_point = SyncPoint(
            connector_name=self.connector_enum.value,
            org_id="",
            sync_data_point_type=SyncDataPointType.RECORDS,
            data_store_provider=data_store_provider,
        )

    @classmethod
    async def create_connector(
        cls,
        logger: Logger,
        data_store_provider: Any,
        config_service: Any,
        connector_id: str | None = None,
        scope: str = ConnectorScope.TEAM.value,
        created_by: str | None = None,
        **kwargs: Any,
    ) -> GraphConnector:
        processor = DataSourceEntitiesProcessor(
            logger,
            data_store_provider,
            config_service,
            connector_id=connector_id or data_store_provider.connector_id,
            connector_name=cls.connector_enum,
        )
        await processor.initialize(kwargs.get("org_id"))
        return cls(logger, processor, data_store_provider, config_service, connector_id, scope, created_by)

    async def init(self) -> bool:
        """Read the app registration (ConnectorInitError says what to fix) and open the Graph client.
        No request is sent: `test_connection_and_access` probes."""
        config = await self.config_service.get_config(f"/services/connectors/{self.connector_id}/config")
        credentials = credentials_from_config(config)
        await self._close()
        self.connection = GraphConnection.open(credentials, self.graph_endpoint)
        load_filters = getattr(self.data_entities_processor, "load_filters", None)
        if load_filters is not None:
            await maybe_await(load_filters())
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

    async def cleanup(self) -> None:
        await self._close()

    async def _close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            await connection.close()
