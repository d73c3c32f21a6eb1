"""Records, record groups and identities of the playbook's graph (playbook §4, reference §5.2-5.3).

A record is stored twice: its common fields in `records` and its type-specific fields in a type
collection (`files`, `mails`, ...) under the same key, the two linked by an `isOfType` edge.
"""

from __future__ import annotations

import functools
import os
import uuid
from typing import Any, ClassVar

from pydantic import Field

from headwater.models.constants import (
    CollectionNames,
    Connectors,
    ItemType,
    LinkPublicStatus,
    MimeTypes,
    OriginTypes,
    Priority,
    ProgressStatus,
    RecordGroupType,
    RecordType,
    Status,
)
from headwater.models.documents import Document, plain
from headwater.models.timeutil import now_ms


def new_id() -> str:
    """A time-ordered UUID (version 7 layout: 48-bit milliseconds, then random bits).

    Keys made one after the other sort together, so a sync's inserts land at the right edge of
    every B-tree keyed by record id instead of all over it; random v4 keys made large syncs slow
    down as the store grew (each commit dirtied pages across the whole index)."""
    ms = now_ms()
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms & ((1 << 48) - 1)) << 80
        | 0x7 << 76
        | (rand >> 68 & 0xFFF) << 64
        | 0b10 << 62
        | (rand & ((1 << 62) - 1))
    )
    return str(uuid.UUID(int=value))


class Record(Document):
    """Common fields of every synced item. Subclasses add a type document."""

    collection: ClassVar[str] = CollectionNames.RECORDS.value
    type_collection: ClassVar[str | None] = None

    id: str = Field(default_factory=new_id)
    org_id: str = ""
    record_name: str
    record_type: RecordType
    external_record_id: str
    external_revision_id: str | None = None
    external_record_group_id: str | None = None
    parent_external_record_id: str | None = None
    parent_record_type: RecordType | None = None
    record_group_type: RecordGroupType | None = None
    record_group_id: str | None = None
    version: int = 0
    origin: OriginTypes = OriginTypes.CONNECTOR
    connector_name: Connectors | str = Connectors.UNKNOWN
    connector_id: str = ""
    mime_type: MimeTypes | str = MimeTypes.UNKNOWN
    weburl: str | None = None
    created_at: int = Field(default_factory=now_ms)
    updated_at: int = Field(default_factory=now_ms)
    source_created_at: int | None = None
    source_updated_at: int | None = None
    processing_started_at: int | None = None
    indexing_status: ProgressStatus = ProgressStatus.QUEUED
    parsing_status: ProgressStatus = ProgressStatus.NOT_STARTED
    extraction_status: ProgressStatus = ProgressStatus.NOT_STARTED
    reason: str | None = None
    is_deleted: bool = False
    is_archived: bool = False
    deleted_by_user_id: str | None = None
    preview_renderable: bool = True
    is_shared: bool = False
    is_vlm_ocr_processed: bool = False
    md5_hash: str | None = None
    size_in_bytes: int | None = None
    hide_weburl: bool = False
    is_internal: bool = False
    is_placeholder: bool = False
    inherit_permissions: bool = True
    virtual_record_id: str | None = None
    storage_document_id: str | None = None

    # --- the playbook's stored shapes -----------------------------------------------------------

    def to_documents(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The `records` document and the type document (None for a type without one)."""
        full = self.to_document()
        base_keys, own_keys = _document_keys(type(self))
        base = {k: full[k] for k in base_keys}
        if self.type_collection is None:
            return base, None
        type_doc: dict[str, Any] = {"_key": self.id, "orgId": self.org_id, "name": self.record_name}
        for k in own_keys:
            type_doc[k] = full[k]
        return base, type_doc

    def to_base_document(self) -> dict[str, Any]:
        """The `records` document."""
        return self.to_documents()[0]

    def to_type_document(self) -> dict[str, Any] | None:
        """The type-collection document (same `_key`), or None for a type without one."""
        return self.to_documents()[1]

    def to_arango_base_record(self) -> dict[str, Any]:
        return self.to_base_document()

    def to_arango_record(self) -> dict[str, Any] | None:
        return self.to_type_document()

    def to_kafka_record(self) -> dict[str, Any]:
        """The payload of this record's `newRecord` / `updateRecord` event (reference §5.2)."""
        return {
            "recordId": self.id,
            "orgId": self.org_id,
            "recordName": self.record_name,
            "recordType": self.record_type.value,
            "externalRecordId": self.external_record_id,
            "externalRevisionId": self.external_revision_id,
            "externalGroupId": self.external_record_group_id,
            "parentExternalRecordId": self.parent_external_record_id,
            "version": self.version,
            "origin": self.origin.value,
            "connectorName": plain(self.connector_name),
            "connectorId": self.connector_id,
            "mimeType": plain(self.mime_type),
            "webUrl": self.weburl,
            "createdAtTimestamp": self.created_at,
            "updatedAtTimestamp": self.updated_at,
            "sourceCreatedAtTimestamp": self.source_created_at,
            "sourceLastModifiedTimestamp": self.source_updated_at,
            "virtualRecordId": self.virtual_record_id,
        }


@functools.cache
def _document_keys(cls: type[Record]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys of the `records` document, keys of the type document) for a record class."""
    fields = cls.model_fields
    base = tuple(fields[n].alias or n for n in Record.model_fields)
    own = tuple(fields[n].alias or n for n in fields if n not in Record.model_fields)
    return base, own


class FileRecord(Record):
    type_collection: ClassVar[str | None] = CollectionNames.FILES.value

    record_type: RecordType = RecordType.FILE
    is_file: bool = True
    extension: str | None = None
    path: str | None = None
    local_fs_relative_path: str | None = None
    etag: str | None = None
    ctag: str | None = None
    quick_xor_hash: str | None = None
    crc32_hash: str | None = None
    sha1_hash: str | None = None
    sha256_hash: str | None = None

    def to_kafka_record(self) -> dict[str, Any]:
        payload = super().to_kafka_record()
        payload.update(
            {
                "extension": self.extension,
                "sizeInBytes": self.size_in_bytes,
                "isFile": self.is_file,
                "storageDocumentId": self.storage_document_id,
            }
        )
        return payload


class MailRecord(Record):
    type_collection: ClassVar[str | None] = CollectionNames.MAILS.value

    record_type: RecordType = RecordType.MAIL
    subject: str | None = None
    from_email: str | None = None
    to_emails: list[str] = Field(default_factory=list, alias="to")
    cc_emails: list[str] = Field(default_factory=list, alias="cc")
    bcc_emails: list[str] = Field(default_factory=list, alias="bcc")
    thread_id: str | None = None
    is_parent: bool = False
    internet_message_id: str | None = None
    conversation_index: str | None = None
    label_ids: list[str] = Field(default_factory=list)


class MessageRecord(Record):
    type_collection: ClassVar[str | None] = CollectionNames.MESSAGES.value

    record_type: RecordType = RecordType.MESSAGE
    thread_id: str | None = None
    has_replies: bool = False
    is_reply: bool = False
    is_edited: bool = False
    author_id: str | None = None
    author_email: str | None = None
    start_ts: str | None = None
    end_ts: str | None = None


class WebpageRecord(Record):
    type_collection: ClassVar[str | None] = CollectionNames.WEBPAGES.value

    record_type: RecordType = RecordType.WEBPAGE


class CommentRecord(Record):
    type_collection: ClassVar[str | None] = CollectionNames.COMMENTS.value

    record_type: RecordType = RecordType.COMMENT
    author_source_id: str = ""
    resolution_status: str | None = None
    comment_selection: str | None = None


class TicketRecord(Record):
    type_collection: ClassVar[str | None] = CollectionNames.TICKETS.value

    record_type: RecordType = RecordType.TICKET
    status: Status | str | None = None
    priority: Priority | None = None
    type: ItemType | None = None
    assignee: str | None = None
    assignee_email: str | None = None
    reporter_email: str | None = None
    reporter_name: str | None = None
    creator_email: str | None = None
    creator_name: str | None = None
    labels: list[str] = Field(default_factory=list)


class LinkRecord(Record):
    type_collection: ClassVar[str | None] = CollectionNames.LINKS.value

    record_type: RecordType = RecordType.LINK
    url: str = ""
    title: str | None = None
    is_public: LinkPublicStatus = LinkPublicStatus.UNKNOWN
    linked_record_id: str | None = None


class ProjectRecord(Record):
    type_collection: ClassVar[str | None] = CollectionNames.PROJECTS.value

    record_type: RecordType = RecordType.PROJECT
    status: str | None = None
    priority: str | None = None
    lead_id: str | None = None
    lead_name: str | None = None
    lead_email: str | None = None


RECORD_CLASS_BY_TYPE: dict[RecordType, type[Record]] = {
    RecordType.FILE: FileRecord,
    RecordType.MAIL: MailRecord,
    RecordType.GROUP_MAIL: MailRecord,
    RecordType.MESSAGE: MessageRecord,
    RecordType.WEBPAGE: WebpageRecord,
    RecordType.CONFLUENCE_PAGE: WebpageRecord,
    RecordType.CONFLUENCE_BLOGPOST: WebpageRecord,
    RecordType.SHAREPOINT_PAGE: WebpageRecord,
    RecordType.DATABASE: WebpageRecord,
    RecordType.DATASOURCE: WebpageRecord,
    RecordType.COMMENT: CommentRecord,
    RecordType.INLINE_COMMENT: CommentRecord,
    RecordType.TICKET: TicketRecord,
    RecordType.CASE: TicketRecord,
    RecordType.TASK: TicketRecord,
    RecordType.LINK: LinkRecord,
    RecordType.PROJECT: ProjectRecord,
}

# reference §5.4 RECORD_TYPE_COLLECTION_MAPPING
RECORD_TYPE_COLLECTION_MAPPING: dict[RecordType, str] = {
    rt: cls.type_collection for rt, cls in RECORD_CLASS_BY_TYPE.items() if cls.type_collection
}


def record_from_documents(base: dict[str, Any], type_doc: dict[str, Any] | None) -> Record:
    """Rebuild the typed record from its `records` document and its type document."""
    record_type = RecordType(base["recordType"])
    cls = RECORD_CLASS_BY_TYPE.get(record_type, Record)
    merged = dict(type_doc or {})
    merged.pop("name", None)
    merged.update(base)
    return cls.model_validate(merged)


class RecordGroup(Document):
    """A container of records: a drive, mailbox, site, space, channel, project, or a configured folder."""

    collection: ClassVar[str] = CollectionNames.RECORD_GROUPS.value

    id: str = Field(default_factory=new_id)
    org_id: str = ""
    name: str = Field(alias="groupName")
    short_name: str | None = None
    description: str | None = None
    external_group_id: str
    parent_external_group_id: str | None = None
    parent_record_group_id: str | None = None
    connector_name: Connectors | str = Connectors.UNKNOWN
    connector_id: str = ""
    web_url: str | None = None
    group_type: RecordGroupType | None = None
    created_at: int = Field(default_factory=now_ms)
    updated_at: int = Field(default_factory=now_ms)
    source_created_at: int | None = None
    source_updated_at: int | None = None
    inherit_permissions: bool = False
    is_internal: bool = False
    hide_children: bool = False


class User(Document):
    """A platform user: a person who signs in to Headwater."""

    collection: ClassVar[str] = CollectionNames.USERS.value

    id: str = Field(default_factory=new_id)
    email: str
    user_id: str | None = None
    org_id: str = ""
    source_user_id: str | None = Field(default=None, alias="sourceUserId")
    is_active: bool = True
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    title: str | None = None
    created_at: int = Field(default_factory=now_ms)
    updated_at: int = Field(default_factory=now_ms)


class AppUser(Document):
    """A user identity at a source, as a connector reports it."""

    collection: ClassVar[str] = CollectionNames.USERS.value

    app_name: Connectors | str
    connector_id: str = ""
    id: str = Field(default_factory=new_id)
    source_user_id: str
    org_id: str = ""
    email: str
    full_name: str | None = None
    created_at: int = Field(default_factory=now_ms)
    updated_at: int = Field(default_factory=now_ms)
    source_created_at: int | None = None
    source_updated_at: int | None = None
    is_active: bool = False
    title: str | None = None


class AppUserGroup(Document):
    """A group at a source (Entra group, Google group, Slack user group, ...)."""

    collection: ClassVar[str] = CollectionNames.GROUPS.value

    app_name: Connectors | str
    connector_id: str = ""
    id: str = Field(default_factory=new_id)
    source_user_group_id: str
    name: str
    org_id: str = ""
    description: str | None = None
    created_at: int = Field(default_factory=now_ms)
    updated_at: int = Field(default_factory=now_ms)
    source_created_at: int | None = None
    source_updated_at: int | None = None


class AppRole(Document):
    """A role at a source (Salesforce role, Jira project role, ...); roles may nest under parents."""

    collection: ClassVar[str] = CollectionNames.ROLES.value

    app_name: Connectors | str
    connector_id: str = ""
    id: str = Field(default_factory=new_id)
    source_role_id: str
    name: str
    org_id: str = ""
    parent_role_id: str | None = None
    created_at: int = Field(default_factory=now_ms)
    updated_at: int = Field(default_factory=now_ms)


class Organization(Document):
    collection: ClassVar[str] = CollectionNames.ORGS.value

    id: str = Field(default_factory=new_id)
    name: str = Field(alias="registeredName")
    account_type: str = "enterprise"
    domains: list[str] = Field(default_factory=list)
    is_active: bool = True
    created_at: int = Field(default_factory=now_ms)
    updated_at: int = Field(default_factory=now_ms)
