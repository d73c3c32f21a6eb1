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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from headwater.clients.microsoft import AuthError, GraphConnectionError, GraphError, ThrottledError
from headwater.connectors.core.builder import ConnectorBuilder, ConnectorConfigBuilder
from headwater.connectors.core.definitions import ConnectorScope, FilterField
from headwater.connectors.core.filters import FilterCollection
from headwater.connectors.sources.microsoft.common.connector import GraphConnector
from headwater.connectors.sources.microsoft.common.graph import (
    AUTH_TYPE,
    declare_app_registration,
    graph_errors,
)
from headwater.connectors.sources.microsoft.common.retire import forget_sync_points, retire_scope
from headwater.connectors.sources.microsoft.notifications.config import declare_change_notifications
from headwater.connectors.sources.microsoft.notifications.manager import Scope
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
MAIL_SUBSCRIPTION_CHANGES = "created,updated,deleted"


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
    return declare_change_notifications(builder, ["created", "updated", "deleted"])


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
    filters: MailFilters = MailFilters()

    async def init(self) -> bool:
        ready = await super().init()
        self.filters = MailFilters.from_collection(self.processor.sync_filters or FilterCollection())
        return ready

    def get_signed_url(self, record: Record) -> str | None:
        return None  # Graph has no pre-authenticated URL for mail: content goes through stream_record

    # ---- syncs -------------------------------------------------------------------------------------

    async def sync_everything(self, pending: Mapping[str, int]) -> None:
        """Every mailbox, every folder, from each folder's delta link (all of it where there is none)."""
        await self._sync_mailboxes(pending)

    async def sync_notified(self, pending: Mapping[str, int]) -> None:
        """Only the folders change notifications named."""
        run = self._run()
        by_user: dict[str, list[str]] = {}
        for scope in sorted(pending):
            where = mapping.split_folder_scope(scope)
            if where is not None:
                by_user.setdefault(where[0], []).append(where[1])
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
        state = await self.sync_point.read_sync_point(MAILBOXES_KEY)
        leaving = await self._retire_mailboxes(state, synced)
        await self.sync_point.update_sync_point(MAILBOXES_KEY, {"users": synced, "leaving": leaving})

    async def _retire_mailboxes(self, state: Mapping[str, Any], synced: list[str]) -> dict[str, list[str]]:
        """The mailboxes of users who left (deleted, disabled, no mailbox any more) lose their sync
        points now and their records through the brake (`common.retire`); returns those still held."""
        stored = state.get("leaving")
        leaving = {str(k): list(v) for k, v in stored.items()} if isinstance(stored, dict) else {}
        for gone in [u for u in state.get("users") or [] if u not in synced]:
            folders = (await self.sync_point.read_sync_point(f"outlook/users/{gone}/folders")).get(
                "folders"
            ) or []
            mailbox = mapping.mailbox_id(gone)
            leaving[mailbox] = [*(mapping.folder_scope(gone, f) for f in folders), mailbox]
            forget_sync_points(self.sync_point, [f"outlook/users/{gone}/", f"outlook/conversations/{gone}/"])
        back = {mapping.mailbox_id(u) for u in synced}
        for mailbox, group_ids in sorted(leaving.items()):
            if mailbox in back or await retire_scope(self.processor, mailbox, group_ids):
                del leaving[mailbox]
        return leaving

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

    async def subscription_scopes(self) -> list[Scope]:
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
