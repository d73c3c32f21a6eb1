"""The fake tenant's objects: plain dataclasses, no I/O, no JSON shapes (those live in `serialize.py`).

Every object that a delta query can report carries `seq`, the position in the tenant's change log of
its latest change; tombstones keep their object with `removed` set so delta can report them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


class UnknownObject(KeyError):
    """A lookup named an object the tenant does not have (the HTTP app answers 404)."""


MemberKind = Literal["user", "group"]
GranteeKind = Literal["user", "group", "siteUser", "siteGroup"]
LinkScope = Literal["anonymous", "organization", "users"]
LinkType = Literal["view", "edit", "embed"]


@dataclass
class User:
    id: str
    display_name: str
    user_principal_name: str
    mail: str | None
    given_name: str | None
    surname: str | None
    job_title: str | None
    created: datetime
    seq: int
    account_enabled: bool = True
    user_type: str = "Member"
    # None: present; "changed": soft-deleted (restorable); "deleted": gone for good
    removed: Literal["changed", "deleted"] | None = None
    drive_id: str | None = None


@dataclass
class MemberChange:
    seq: int
    kind: MemberKind
    present: bool


@dataclass
class Group:
    id: str
    display_name: str
    description: str | None
    mail: str | None
    mail_enabled: bool
    security_enabled: bool
    group_types: list[str]
    visibility: str | None
    created: datetime
    seq: int
    members: dict[str, MemberKind] = field(default_factory=dict)  # insertion-ordered
    # the latest membership change per member id, current or removed, for members@delta
    member_changes: dict[str, MemberChange] = field(default_factory=dict)
    removed: Literal["changed", "deleted"] | None = None


@dataclass
class Grantee:
    """Who a permission is granted to (one entry of a sharePointIdentitySet)."""

    kind: GranteeKind
    id: str
    display_name: str
    email: str | None = None
    login_name: str | None = None


@dataclass
class SharingLink:
    type: LinkType
    scope: LinkScope
    web_url: str
    prevents_download: bool = False


@dataclass
class Permission:
    id: str
    roles: list[str]
    grantee: Grantee | None = None  # grantedToV2
    link: SharingLink | None = None
    link_recipients: list[Grantee] = field(default_factory=list)  # grantedToIdentitiesV2
    share_id: str | None = None
    expiration: datetime | None = None


@dataclass
class DriveItem:
    id: str
    drive_id: str
    name: str
    parent_id: str | None  # None for the root
    is_folder: bool
    created: datetime
    modified: datetime
    created_by: str  # user id
    modified_by: str
    seq: int
    guid: str  # the resource id inside eTag/cTag, as OneDrive for Business writes them
    content: bytes = b""
    mime_type: str | None = None
    etag_version: int = 1
    ctag_version: int = 1
    description: str | None = None
    deleted: bool = False
    permissions: list[Permission] = field(default_factory=list)
    shared_changed_seq: int = 0  # seq of the latest sharing change (for deltashowsharingchanges)
    meta_seq: int = 0  # seq of the latest change other than sharing (what delta reports without that header)


@dataclass
class Drive:
    id: str
    name: str
    drive_type: Literal["business", "documentLibrary"]
    owner_kind: Literal["user", "group"]
    owner_id: str
    web_url: str
    root_id: str
    created: datetime
    site_id: str | None = None
    description: str | None = None
    items: dict[str, DriveItem] = field(default_factory=dict)


@dataclass
class SitePage:
    id: str
    site_id: str
    name: str
    title: str
    html: str
    web_url: str
    created: datetime
    modified: datetime
    created_by: str
    seq: int
    description: str | None = None
    etag_version: int = 1


@dataclass
class Site:
    id: str  # "host,siteCollectionGuid,webGuid"
    name: str
    display_name: str
    description: str | None
    web_url: str
    created: datetime
    modified: datetime
    drive_ids: list[str] = field(default_factory=list)
    permissions: list[Permission] = field(default_factory=list)
    pages: dict[str, SitePage] = field(default_factory=dict)
    is_root: bool = False


@dataclass
class EmailAddress:
    address: str
    name: str


@dataclass
class Attachment:
    id: str
    name: str
    content_type: str
    content: bytes
    modified: datetime
    is_inline: bool = False
    content_id: str | None = None


@dataclass
class Message:
    id: str
    user_id: str
    folder_id: str
    subject: str
    body_html: str
    sender: EmailAddress
    to: list[EmailAddress]
    cc: list[EmailAddress]
    bcc: list[EmailAddress]
    conversation_id: str
    internet_message_id: str
    received: datetime
    sent: datetime
    created: datetime
    modified: datetime
    seq: int
    change_version: int = 1
    is_read: bool = False
    is_draft: bool = False
    importance: str = "normal"
    attachments: list[Attachment] = field(default_factory=list)
    # what Graph answers under `Prefer: IdType="ImmutableId"`: kept when the message moves
    immutable_id: str = ""


@dataclass
class MailFolder:
    id: str
    user_id: str
    display_name: str
    parent_id: str  # the mailbox's root folder id for top-level folders
    well_known_name: str | None = None
    is_hidden: bool = False
    # message id -> seq of its removal from this folder (deleted or moved away), for @removed
    removed_messages: dict[str, int] = field(default_factory=dict)
    # message id -> its immutable id, for the @removed entries of clients asking for immutable ids
    removed_immutable_ids: dict[str, str] = field(default_factory=dict)


@dataclass
class Mailbox:
    user_id: str
    root_id: str  # msgfolderroot, the parent of the top-level folders
    folders: dict[str, MailFolder] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)


@dataclass
class Subscription:
    id: str
    resource: str
    change_type: str
    notification_url: str
    client_state: str | None
    expiration: datetime
    scope: tuple[str, ...]  # the change-log scope it listens to, see tenant.scope keys
    lifecycle_notification_url: str | None = None
