"""Pure mapping from Graph's Outlook objects to Headwater's model: mailboxes and folders to record groups,
messages to MailRecords, file attachments to FileRecords attached to their message.

Identity (external ids within one connector instance):
  * a mailbox:    "users/{user id}/mailbox" (a MAILBOX record group owned by the user);
  * a folder:     "users/{user id}/mailFolders/{folder id}" — the same string as the Graph client's
                  delta scope, so an expired token (`DeltaExpiredError.scope`) names the record group to
                  resync, and as the subscription resource (without "/messages");
  * a message:    its Graph id (immutable when the client asks for immutable ids, as ours does);
  * an attachment: "{message id}:{attachment id}" (":" never occurs in Outlook's base64 ids).

Who may read: the mailbox owner only. The mailbox group carries the OWNER grant; folders inherit from
their parent folder (top-level ones from the mailbox); messages and attachments from their folder.

Revisions: a sent or received message's content (subject, people, body) does not change, but its
changeKey does on every flag or read-state change; so a message's revision is a digest of what the
index shows (subject, addresses, body preview), and only drafts use the changeKey. A read flag then
rewrites nothing and re-indexes nothing.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from headwater.models.constants import Connectors, MimeTypes, RecordGroupType, RecordType
from headwater.models.entities import FileRecord, MailRecord, RecordGroup
from headwater.models.permission import EntityType, Permission, PermissionType

NO_SUBJECT = "(no subject)"
FILE_ATTACHMENT = "#microsoft.graph.fileAttachment"
ATTACHMENT_SEPARATOR = ":"

GraphObject = Mapping[str, Any]


def mailbox_id(user_id: str) -> str:
    return f"users/{user_id}/mailbox"


def folder_scope(user_id: str, folder_id: str) -> str:
    """A folder's record group id, which is also its delta scope in the Graph client."""
    return f"users/{user_id}/mailFolders/{folder_id}"


def split_folder_scope(scope: str) -> tuple[str, str] | None:
    """(user id, folder id) of a folder scope; None for anything else."""
    parts = scope.split("/", 3)
    if len(parts) == 4 and parts[0] == "users" and parts[2] == "mailFolders" and parts[1] and parts[3]:
        return parts[1], parts[3]
    return None


def rest_form(outlook_id: str) -> str:
    """An Outlook id as Graph takes it inside a resource path ("/" -> "-", "+" -> "_")."""
    return outlook_id.replace("/", "-").replace("+", "_")


def attachment_external_id(message_id: str, attachment_id: str) -> str:
    return f"{message_id}{ATTACHMENT_SEPARATOR}{attachment_id}"


def split_attachment_id(external_id: str) -> tuple[str, str]:
    message_id, _, attachment_id = external_id.partition(ATTACHMENT_SEPARATOR)
    return message_id, attachment_id


def owner_permission(email: str) -> Permission:
    return Permission(email=email, type=PermissionType.OWNER, entity_type=EntityType.USER)


def mailbox_group(user_id: str, email: str, display_name: str | None) -> RecordGroup:
    return RecordGroup(
        name=f"{display_name or email}'s mailbox",
        external_group_id=mailbox_id(user_id),
        connector_name=Connectors.OUTLOOK,
        group_type=RecordGroupType.MAILBOX,
        description=email,
    )


def folder_group(user_id: str, folder: GraphObject, known_folder_ids: Iterable[str]) -> RecordGroup:
    """A mail folder as a record group under its parent folder (or the mailbox, for top-level ones),
    inheriting the mailbox owner's grant."""
    parent = folder.get("parentFolderId")
    parent_group = (
        folder_scope(user_id, str(parent))
        if parent and parent in set(known_folder_ids)
        else mailbox_id(user_id)
    )
    return RecordGroup(
        name=str(folder.get("displayName") or folder["id"]),
        external_group_id=folder_scope(user_id, str(folder["id"])),
        parent_external_group_id=parent_group,
        connector_name=Connectors.OUTLOOK,
        group_type=RecordGroupType.MAILBOX,
        inherit_permissions=True,
    )


def graph_ms(value: Any) -> int | None:
    """Graph's "2024-05-02T11:00:00Z" as epoch milliseconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def address(recipient: Any) -> str | None:
    email = recipient.get("emailAddress") if isinstance(recipient, Mapping) else None
    value = email.get("address") if isinstance(email, Mapping) else None
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def addresses(recipients: Any) -> list[str]:
    found = (address(r) for r in recipients) if isinstance(recipients, list) else ()
    return [a for a in found if a]


def message_revision(message: GraphObject) -> str:
    """What decides re-indexing: the changeKey for drafts, else a digest of what the index shows."""
    if message.get("isDraft") and message.get("changeKey"):
        return f"draft:{message['changeKey']}"
    shown = [
        message.get("subject"),
        address(message.get("from")),
        addresses(message.get("toRecipients")),
        addresses(message.get("ccRecipients")),
        addresses(message.get("bccRecipients")),
        message.get("bodyPreview"),
        message.get("internetMessageId"),
    ]
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()[:32]


def mail_record(user_id: str, folder_id: str, message: GraphObject) -> MailRecord:
    """A message (as a delta round returns it) as a MailRecord in its folder's record group."""
    subject = str(message.get("subject") or "").strip()
    received = graph_ms(message.get("receivedDateTime")) or graph_ms(message.get("sentDateTime"))
    return MailRecord(
        record_name=subject or NO_SUBJECT,
        external_record_id=str(message["id"]),
        external_revision_id=message_revision(message),
        external_record_group_id=folder_scope(user_id, folder_id),
        record_group_type=RecordGroupType.MAILBOX,
        connector_name=Connectors.OUTLOOK,
        mime_type=MimeTypes.HTML,
        weburl=message.get("webLink") if isinstance(message.get("webLink"), str) else None,
        source_created_at=received,
        source_updated_at=received,
        inherit_permissions=True,
        subject=subject or None,
        from_email=address(message.get("from")) or address(message.get("sender")),
        to=addresses(message.get("toRecipients")),
        cc=addresses(message.get("ccRecipients")),
        bcc=addresses(message.get("bccRecipients")),
        thread_id=message.get("conversationId") if isinstance(message.get("conversationId"), str) else None,
        internet_message_id=message.get("internetMessageId")
        if isinstance(message.get("internetMessageId"), str)
        else None,
    )


def is_indexable_attachment(attachment: GraphObject) -> bool:
    """File attachments that a reader sees as attachments; inline images (signatures, logos) and item
    or reference attachments are not files of their own."""
    kind = attachment.get("@odata.type", FILE_ATTACHMENT)
    return kind == FILE_ATTACHMENT and not attachment.get("isInline")


def attachment_record(message: MailRecord, attachment: GraphObject) -> FileRecord:
    """A file attachment as a FILE child of its message (the processor links it with ATTACHMENT)."""
    name = str(attachment.get("name") or attachment["id"])
    extension = posixpath.splitext(name)[1].lstrip(".").lower() or None
    size = attachment.get("size")
    modified = attachment.get("lastModifiedDateTime")
    return FileRecord(
        record_name=name,
        external_record_id=attachment_external_id(message.external_record_id, str(attachment["id"])),
        external_revision_id=f"{size}:{modified}",
        external_record_group_id=message.external_record_group_id,
        record_group_type=RecordGroupType.MAILBOX,
        parent_external_record_id=message.external_record_id,
        parent_record_type=RecordType.MAIL,
        connector_name=Connectors.OUTLOOK,
        mime_type=str(attachment.get("contentType") or MimeTypes.UNKNOWN.value),
        weburl=message.weburl,
        source_created_at=graph_ms(modified),
        source_updated_at=graph_ms(modified),
        size_in_bytes=size if isinstance(size, int) else None,
        inherit_permissions=True,
        is_file=True,
        extension=extension,
    )
