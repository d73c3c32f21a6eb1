"""BaseConnector: the class every connector subclasses (reference §1, playbook step 6.2).

A connector fetches from its source, maps items to records, permissions, users and groups, and hands
them to the ``DataSourceEntitiesProcessor`` (``self.data_entities_processor``). The processor, the
data store provider and the config service are typed loosely here (``Any``): the SDK names their
methods (``on_new_records``, ``reindex_existing_records``, ``on_new_app_users``,
``on_new_user_groups``, ``get_user_by_user_id``) and imports the processor module only when the
default ``create_connector`` runs, so importing the SDK never drags it in.

The default ``create_connector`` builds the processor and calls the playbook's constructor,
``cls(logger, data_entities_processor, data_store_provider, config_service)``; a connector whose
constructor differs (or that wants another processor) overrides it, as the playbook's does.

Both the playbook's five-argument constructor call and the reference's eight-argument one work::

    super().__init__(YourConnectorApp(), logger, data_entities_processor, data_store_provider, config_service)
    super().__init__(app, logger, processor, provider, config_service, connector_id, "team", user_id)

``test_connection_and_access``, ``get_signed_url`` and ``cleanup`` may be written sync (as the playbook
does) or async; callers use ``await maybe_await(connector.test_connection_and_access())``.
"""

from __future__ import annotations

import asyncio
import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from logging import Logger
from typing import Any, Self, TypeVar, cast

from headwater.connectors.core.apps import App, ExtensionName
from headwater.connectors.core.definitions import ConnectorScope
from headwater.connectors.core.filters import FilterOptionsResponse
from headwater.errors import HeadwaterError
from headwater.models.constants import AppGroups, Connectors
from headwater.models.entities import AppUser, AppUserGroup, Record
from headwater.models.permission import EntityType, Permission, PermissionType

T = TypeVar("T")


async def maybe_await(value: T | Awaitable[T]) -> T:
    """`value`, awaited first when it is awaitable: for hooks a connector may write sync or async."""
    if inspect.isawaitable(value):
        return await cast(Awaitable[T], value)
    return value


def _scope_value(scope: ConnectorScope | str) -> str:
    value = str(scope.value if isinstance(scope, ConnectorScope) else scope)
    if value not in {s.value for s in ConnectorScope}:
        raise ValueError(f"connector scope must be 'personal' or 'team', not {scope!r}")
    return value


class ConnectorInitError(HeadwaterError):
    """Raise from ``init()`` to show the user why: the API answers 400 with ``str(error)``.
    (Returning False from ``init()`` gives a generic message instead.)"""


class BaseConnector(ABC):
    """Base of every connector. Subclasses implement the abstract methods; the rest have defaults."""

    def __init__(
        self,
        app: App,
        logger: Logger,
        data_entities_processor: Any,
        data_store_provider: Any,
        config_service: Any,
        connector_id: str | None = None,
        scope: str = ConnectorScope.PERSONAL.value,
        created_by: str | None = None,
    ) -> None:
        scope_value = _scope_value(scope)
        self.app = app
        self.logger = logger
        self.data_entities_processor = data_entities_processor
        self.data_store_provider = data_store_provider
        self.config_service = config_service
        self.connector_name: Connectors | ExtensionName = app.get_app_name()
        self.connector_id: str = (
            connector_id
            or getattr(data_entities_processor, "connector_id", None)
            or app.get_connector_id()
            or self.connector_name.value
        )
        self.scope: str = scope_value
        self.created_by: str | None = created_by
        self.creator_email: str | None = None
        self._connector_group_permission: Permission | None = None
        self._notification_service: Any = None
        self._background_tasks: set[asyncio.Task[Any]] = set()

    # -- what each connector implements --

    @abstractmethod
    async def init(self) -> bool:
        """Load config (``/services/connectors/{id}/config``), build clients, load filters.
        Return False, or raise ConnectorInitError with a message for the user, on failure."""

    @abstractmethod
    def test_connection_and_access(self) -> bool | Awaitable[bool]:
        """Probe the source with the configured credentials (sync or async)."""

    @abstractmethod
    def get_signed_url(self, record: Record) -> str | None | Awaitable[str | None]:
        """A short-lived direct download URL for the record's content, or None (sync or async)."""

    @abstractmethod
    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> Any:
        """The record's content as a streaming response (the API layer's type; the SDK does not
        import it). Workspace connectors also receive ``user_id``; block producers ``convertTo``."""

    @abstractmethod
    async def run_sync(self) -> None:
        """Sync from the stored sync points (full when there are none); long-running."""

    @abstractmethod
    def cleanup(self) -> None | Awaitable[None]:
        """Close clients; called on disable and delete (sync or async)."""

    # -- defaults a connector may override --

    @classmethod
    async def create_connector(
        cls,
        logger: Logger,
        data_store_provider: Any,
        config_service: Any,
        connector_id: str | None = None,
        scope: str | None = None,
        created_by: str | None = None,
        org_id: str | None = None,
        **kwargs: Any,
    ) -> Self:
        """A new instance: a ``DataSourceEntitiesProcessor`` for `connector_id` (default: the data
        store provider's) in organisation `org_id` (default: the store's first), handed to the
        playbook's constructor ``cls(logger, processor, data_store_provider, config_service)``. The
        processor names its records after the connector's app name. `scope` and `created_by` are set
        on the instance when given, else the constructor's defaults stand; other keywords are
        ignored. The factory passes only what an override's signature accepts, and sets
        ``connector_id``, ``scope`` and ``created_by`` on the instance afterwards."""
        # imported here: the SDK module stays importable without the processor and the store
        from headwater.connectors.core.processor import DataSourceEntitiesProcessor

        processor = DataSourceEntitiesProcessor(
            logger, data_store_provider, config_service, connector_id=connector_id or ""
        )
        await processor.initialize(org_id)
        # subclasses take the playbook's constructor, not BaseConnector's (which also takes the app)
        construct = cast(Callable[..., Self], cls)
        connector = construct(logger, processor, data_store_provider, config_service)
        processor.connector_name = connector.connector_name
        if scope is not None:
            connector.scope = _scope_value(scope)
        if created_by is not None:
            connector.created_by = created_by
        return connector

    async def run_incremental_sync(self) -> None:
        """Most connectors just run ``run_sync()``: their sync points make it incremental."""
        await self.run_sync()

    async def handle_webhook_notification(self, *args: Any, **kwargs: Any) -> Any:
        """The push path for a source's change notifications; not supported unless overridden."""
        raise NotImplementedError(f"{type(self).__name__} does not handle webhook notifications")

    async def on_instance_removed(self) -> None:
        """The instance is being deleted: undo what the connector set up at its source for it (webhook
        subscriptions, watch channels). Called once, on a connector that was `init()`-ed, before the
        instance's records, sync points and config are deleted; best effort: an exception (or more
        than a minute) is logged and the deletion goes on. Default: nothing."""
        return None

    async def on_instance_disabled(self) -> None:
        """The instance was just disabled: stop what the source pushes to it (its subscriptions). Same
        terms as `on_instance_removed`; the first sync after it is enabled again sets things up anew.
        Default: nothing."""
        return None

    async def get_filter_options(
        self,
        filter_key: str,
        page: int = 1,
        limit: int = 20,
        search: str | None = None,
        cursor: str | None = None,
    ) -> FilterOptionsResponse:
        """Options of a dynamic filter field (optionSourceType ``dynamic``)."""
        raise NotImplementedError(f"{type(self).__name__} has no dynamic filter options")

    async def fetch_record_for_reindex(self, record: Record) -> tuple[Record, list[Permission]] | None:
        """Re-fetch one record from the source for ``reindex_records``: ``(updated record, permissions)``
        when it changed there, None when unchanged. Default: unchanged."""
        return None

    async def reindex_records(self, records: Sequence[Record]) -> None:
        """Re-fetch each record; changed ones go through ``on_new_records``, unchanged ones are
        re-published with ``reindex_existing_records``. One failing record is logged and skipped."""
        changed: list[tuple[Record, list[Permission]]] = []
        unchanged: list[Record] = []
        for record in records:
            try:
                fetched = await self.fetch_record_for_reindex(record)
            except Exception as exc:
                self.logger.warning(
                    "connector %s: reindex of record %s skipped: %s: %s",
                    self.connector_id,
                    record.id,
                    type(exc).__name__,
                    exc,
                )
                continue
            if fetched is None:
                unchanged.append(record)
            else:
                changed.append(fetched)
        if changed:
            await self.data_entities_processor.on_new_records(changed)
        if unchanged:
            await self.data_entities_processor.reindex_existing_records(unchanged)

    # -- helpers --

    async def _load_indexing_filters(self) -> None:
        """Have the processor load this instance's filters from its config (``load_filters()``), so
        that it applies the indexing filters from now on. For ``init()``; a processor without
        ``load_filters`` (a test's stand-in) is left as it is."""
        load_filters = getattr(self.data_entities_processor, "load_filters", None)
        if load_filters is not None:
            await maybe_await(load_filters())

    def get_app(self) -> App:
        return self.app

    def get_app_group(self) -> AppGroups | ExtensionName:
        return self.app.get_app_group_name()

    def get_app_name(self) -> Connectors | ExtensionName:
        return self.app.get_app_name()

    def get_app_group_name(self) -> AppGroups | ExtensionName:
        return self.app.get_app_group_name()

    def get_connector_id(self) -> str:
        return self.connector_id

    def _connector_group_external_id(self) -> str:
        return f"internal-{self.connector_id}"

    async def _load_creator_email(self) -> str | None:
        """The creator's email (personal connectors), read once through the processor."""
        if self.creator_email or self.scope != ConnectorScope.PERSONAL.value or not self.created_by:
            return self.creator_email
        reader = getattr(self.data_entities_processor, "get_user_by_user_id", None)
        if reader is None:
            return None
        try:
            user = await maybe_await(reader(self.created_by))
        except Exception as exc:
            self.logger.warning("connector %s: creator lookup failed: %s", self.connector_id, exc)
            return None
        email = user.get("email") if isinstance(user, dict) else getattr(user, "email", None)
        self.creator_email = email if isinstance(email, str) and email else None
        return self.creator_email

    async def ensure_connector_group_permission(self) -> Permission | None:
        """The READ grant to this instance's pseudo-group ``internal-{connector_id}`` whose one member
        is the creator (personal connectors): attach it to every record group / record instead of a
        direct user grant, so revoking access is deleting one edge. None when it cannot be set up."""
        if self._connector_group_permission is not None:
            return self._connector_group_permission
        email = await self._load_creator_email()
        if not email:
            self.logger.warning(
                "connector %s: no creator email; connector group permission not set up", self.connector_id
            )
            return None
        external_id = self._connector_group_external_id()
        group = AppUserGroup(
            app_name=self.connector_name,
            connector_id=self.connector_id,
            source_user_group_id=external_id,
            name="ConnectorGroup",
        )
        creator = AppUser(
            app_name=self.connector_name,
            connector_id=self.connector_id,
            source_user_id=f"creator_{self.created_by or email}",
            email=email,
            is_active=True,
        )
        try:
            await self.data_entities_processor.on_new_app_users([creator])
        except Exception as exc:  # the app relation is a nicety; the group edge is what matters
            self.logger.warning("connector %s: creator app-user upsert failed: %s", self.connector_id, exc)
        try:
            await self.data_entities_processor.on_new_user_groups([(group, [creator])])
        except Exception as exc:
            self.logger.warning("connector %s: connector group upsert failed: %s", self.connector_id, exc)
            return None
        self._connector_group_permission = Permission(
            entity_type=EntityType.GROUP, external_id=external_id, type=PermissionType.READ
        )
        return self._connector_group_permission

    def __repr__(self) -> str:
        return f"{type(self).__name__}(connector_id={self.connector_id!r}, scope={self.scope!r})"
