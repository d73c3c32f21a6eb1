"""The Outlook connector: every enabled user's Exchange Online mailbox, over Microsoft Graph with an app
registration (application permissions, admin consent).

Graph (`sync_run.py` says how a sync walks it, `mapping.py` what becomes of each object):

    mailbox (MAILBOX record group, OWNER: the user)
      └─ mail folder (record group, inherits) ─ child folders ...
           └─ message (MailRecord, inherits)  ── SIBLING ── next message of its conversation
                └─ ATTACHMENT ─ file attachment (FileRecord)

Incremental: one delta link per mail folder. Change notifications (`microsoft/notifications`) mark a
folder as changed; an incremental sync then syncs only the notified folders, unless a full poll is due
(`poll_interval_s` since the last one), which is the fallback that catches whatever a lost or
unsubscribed notification missed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from headwater.clients.microsoft import AuthError, GraphConnectionError, GraphError, ThrottledError
from headwater.connectors.core.builder import ConnectorBuilder, ConnectorConfigBuilder
from headwater.connectors.core.connector import ConnectorInitError
from headwater.connectors.core.definitions import ConnectorScope, CustomField, FilterField
from headwater.connectors.core.filters import FilterCollection
from headwater.connectors.sources.microsoft.common.connector import GraphConnector
from headwater.connectors.sources.microsoft.common.graph import (
    AUTH_TYPE,
    declare_app_registration,
    graph_errors,
)
from headwater.connectors.sources.microsoft.notifications.manager import ReconcileReport, SubscriptionManager
from headwater.connectors.sources.microsoft.notifications.pending import pending_scopes
from headwater.connectors.sources.microsoft.outlook import mapping
from headwater.connectors.sources.microsoft.outlook.content import message_html
from headwater.connectors.sources.microsoft.outlook.sync_run import (
    FOLDERS_FILTER,
    RECEIVED_FILTER,
    MailboxRun,
    MailFilters,
)
from headwater.models.constants import AppGroups, Connectors, MimeTypes, RecordType
from headwater.models.entities import Record

NAME = "Outlook"
MAILBOXES_KEY = "outlook/mailboxes"
POLL_KEY = "outlook/poll"
DEFAULT_POLL_INTERVAL_S = 3600.0
MAIL_SUBSCRIPTION_CHANGES = "created,updated,deleted"
NOTIFICATION_URL = "notificationUrl"


@dataclass(frozen=True)
class OutlookContent:
    """A record's content for indexing: `.body` bytes and their `.media_type`."""

    body: bytes
    media_type: str


def _declare(builder: ConnectorConfigBuilder) -> ConnectorConfigBuilder:
    declare_app_registration(builder, icon="/assets/icons/connectors/outlook.svg")
    builder.add_filter_field(
        FilterField(
            name=FOLDERS_FILTER,
            display_name="Mail folders",
            description="Folders to sync (in) or to leave out (not in), by display name, e.g. Junk Email",
            field_type="MULTISELECT",
            default_value=[],
        ),
        "manual",
    )
    builder.add_filter_field(
        FilterField(
            name=RECEIVED_FILTER,
            display_name="Received",
            description="Only messages received in this period",
            field_type="DATERANGE",
        ),
        "static",
    )
    builder.add_sync_custom_field(
        CustomField(
            name=NOTIFICATION_URL,
            display_name="Change notification URL",
            field_type="URL",
            description=(
                "Headwater's public https address of POST /api/v1/webhooks/microsoft, e.g. "
                "https://headwater.example.com/api/v1/webhooks/microsoft. Empty: changes are found by the "
                "scheduled sync only"
            ),
        )
    )
    builder.with_webhook_config(True, ["created", "updated", "deleted"])
    return builder.with_sync_strategies(["SCHEDULED", "MANUAL", "WEBHOOK"])


@(
    ConnectorBuilder(NAME)
    .in_group(AppGroups.MICROSOFT.value)
    .with_auth_type(AUTH_TYPE)
    .with_description(
        "Every enabled user's Exchange Online mailbox: messages with their attachments and "
        "conversations, each visible to the mailbox's owner only"
    )
    .with_categories(["Email"])
    .with_scopes([ConnectorScope.TEAM])
    .configure(_declare)
    .build_decorator()
)
class OutlookConnector(GraphConnector):
    """Syncs the tenant's mailboxes; one delta link per mail folder."""

    connector_enum = Connectors.OUTLOOK
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S
    clock: Callable[[], float] = time.time
    filters: MailFilters = MailFilters()
    notification_url: str | None = None

    async def init(self) -> bool:
        ready = await super().init()
        self.filters = MailFilters.from_collection(self.processor.sync_filters or FilterCollection())
        config = await self.config_service.get_config(f"/services/connectors/{self.connector_id}/config")
        self.notification_url = notification_url_of(config)
        return ready

    def get_signed_url(self, record: Record) -> str | None:
        return None  # Graph has no pre-authenticated URL for mail: content goes through stream_record

    # ---- syncs -------------------------------------------------------------------------------------

    async def run_sync(self) -> None:
        """Every mailbox, every folder, from each folder's delta link (all of it where there is none)."""
        pending = await pending_scopes(self.sync_point)
        async with graph_errors():
            await self._sync_mailboxes(pending)
            await self.manage_subscriptions()
        await self.sync_point.update_sync_point(POLL_KEY, {"at": int(self.clock() * 1000)})

    async def run_incremental_sync(self) -> None:
        """The folders change notifications named, or everything when a poll is due (or none named)."""
        pending = await pending_scopes(self.sync_point)
        last_poll = (await self.sync_point.read_sync_point(POLL_KEY)).get("at")
        poll_due = (
            not isinstance(last_poll, int) or self.clock() * 1000 - last_poll >= self.poll_interval_s * 1000
        )
        if poll_due or not pending:
            await self.run_sync()
            return
        run = self._run()
        by_user: dict[str, list[str]] = {}
        for scope in sorted(pending):
            where = mapping.split_folder_scope(scope)
            if where is not None:
                by_user.setdefault(where[0], []).append(where[1])
        async with graph_errors():
            for user_id, folder_ids in by_user.items():
                await run.sync_folders(user_id, folder_ids, pending)

    async def _sync_mailboxes(self, pending: Mapping[str, int]) -> None:
        run = self._run()
        directory = await self.sync_directory()
        synced: list[str] = []
        for user in directory.active_users():
            try:
                scopes = await run.sync_mailbox(user, pending=pending)
            except GraphError as exc:
                if isinstance(exc, ThrottledError | AuthError | GraphConnectionError):
                    raise  # these concern every mailbox: the engine pauses, asks for re-auth, or fails
                self.processor.record_failure(user.id, f"mailbox not synced: {exc}", user.email)
                synced.append(user.id)  # keep what was synced before; try again next run
                continue
            if scopes:
                synced.append(user.id)
        previous = (await self.sync_point.read_sync_point(MAILBOXES_KEY)).get("users") or []
        for gone in [u for u in previous if u not in synced]:
            folders = (await self.sync_point.read_sync_point(f"outlook/users/{gone}/folders")).get(
                "folders"
            ) or []
            for folder_id in folders:
                await run.drop_scope(mapping.folder_scope(gone, folder_id))
            await self.processor.on_record_group_deleted(mapping.mailbox_id(gone), self.connector_id)
        await self.sync_point.update_sync_point(MAILBOXES_KEY, {"users": synced})

    def _run(self) -> MailboxRun:
        return MailboxRun(
            client=self.graph,
            processor=self.processor,
            sync_point=self.sync_point,
            connector_id=self.connector_id,
            filters=self.filters,
            logger=self.logger,
        )

    # ---- content -----------------------------------------------------------------------------------

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> OutlookContent:
        """A message as HTML (headers and body); an attachment's own bytes."""
        where = mapping.split_folder_scope(record.external_record_group_id or "")
        if where is None:
            raise ValueError(f"record {record.external_record_id!r} is not an Outlook message or attachment")
        user_id = where[0]
        async with graph_errors():
            if record.record_type == RecordType.MAIL:
                message = await self.graph.message(user_id, record.external_record_id)
                return OutlookContent(message_html(message).encode(), MimeTypes.HTML.value)
            message_id, attachment_id = mapping.split_attachment_id(record.external_record_id)
            data = await self.graph.attachment_content(user_id, message_id, attachment_id)
            return OutlookContent(data, str(record.mime_type))

    # ---- change notifications ----------------------------------------------------------------------

    def subscriptions(self) -> SubscriptionManager | None:
        """The instance's subscription manager; None without a notification URL (polling only)."""
        if not self.notification_url:
            return None
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

    async def manage_subscriptions(self) -> ReconcileReport | None:
        """Subscribe to every synced folder, renew what is due, drop what is no longer synced."""
        manager = self.subscriptions()
        if manager is None:
            return None
        return await manager.reconcile(
            self.connector_id, self.processor.org_id, await self.subscription_scopes()
        )

    async def remove_subscriptions(self) -> list[str]:
        """Delete the instance's subscriptions (when it is disabled or deleted)."""
        manager = self.subscriptions()
        if manager is None:
            return []
        return await manager.remove_all(self.connector_id)

    async def subscription_scopes(self) -> list[tuple[str, str, str]]:
        """(scope, Graph resource, changeType) for every folder this instance syncs: what the
        subscription manager subscribes to."""
        scopes: list[tuple[str, str, str]] = []
        for user_id in (await self.sync_point.read_sync_point(MAILBOXES_KEY)).get("users") or []:
            folders = (await self.sync_point.read_sync_point(f"outlook/users/{user_id}/folders")).get(
                "folders"
            ) or []
            for folder_id in folders:
                resource = f"/users/{user_id}/mailFolders/{mapping.rest_form(folder_id)}/messages"
                scopes.append((mapping.folder_scope(user_id, folder_id), resource, MAIL_SUBSCRIPTION_CHANGES))
        return scopes


def notification_url_of(config: Mapping[str, Any] | None) -> str | None:
    """The instance's notification URL (`sync.notificationUrl` or its `customValues`); None when unset.

    Raises:
        ConnectorInitError: it is set but is not an https URL (Graph delivers to https only)."""
    sync = config.get("sync") if isinstance(config, Mapping) else None
    if not isinstance(sync, Mapping):
        return None
    custom = sync.get("customValues")
    value = sync.get(NOTIFICATION_URL) or (
        custom.get(NOTIFICATION_URL) if isinstance(custom, Mapping) else None
    )
    url = str(value or "").strip()
    if not url:
        return None
    if not url.startswith("https://"):
        raise ConnectorInitError(
            "Change notification URL must start with https:// (Microsoft Graph delivers to https only); "
            "leave it empty to rely on the scheduled sync"
        )
    return url
