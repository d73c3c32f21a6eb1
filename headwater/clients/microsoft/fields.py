"""The `$select` of each resource: only the fields the Microsoft 365 connectors use travel.

Graph always returns `id`, and annotations such as `@odata.type`, `@removed`, `members@delta` and
`@microsoft.graph.downloadUrl` come with the objects that carry them. A connector needing another field passes
its own `select=` to the client method."""

from __future__ import annotations

from collections.abc import Iterable

USER = (
    "id",
    "displayName",
    "userPrincipalName",
    "mail",
    "givenName",
    "surname",
    "jobTitle",
    "accountEnabled",
    "userType",
    "createdDateTime",
)

GROUP = (
    "id",
    "displayName",
    "description",
    "mail",
    "mailEnabled",
    "securityEnabled",
    "groupTypes",
    "visibility",
    "createdDateTime",
)

# group delta: selecting `members` makes each group carry `members@delta` (added and removed members)
GROUP_DELTA = (*GROUP, "members")

MEMBER = ("id", "displayName", "mail", "userPrincipalName")

DRIVE = ("id", "name", "driveType", "webUrl", "owner", "createdDateTime", "lastModifiedDateTime")

DRIVE_ITEM = (
    "id",
    "name",
    "eTag",
    "cTag",
    "size",
    "createdDateTime",
    "lastModifiedDateTime",
    "webUrl",
    "description",
    "createdBy",
    "lastModifiedBy",
    "parentReference",
    "file",
    "folder",
    "package",
    "root",
    "deleted",
    "shared",
    "remoteItem",
    "sharepointIds",
)

PERMISSION = (
    "id",
    "roles",
    "link",
    "grantedToV2",
    "grantedToIdentitiesV2",
    "invitation",
    "expirationDateTime",
    "inheritedFrom",
)

SITE = (
    "id",
    "name",
    "displayName",
    "description",
    "webUrl",
    "createdDateTime",
    "lastModifiedDateTime",
    "siteCollection",
    "root",
    "isPersonalSite",
)

SITE_PERMISSION = ("id", "roles", "grantedToIdentitiesV2", "grantedToV2")

SITE_PAGE = (
    "id",
    "name",
    "title",
    "description",
    "webUrl",
    "eTag",
    "pageLayout",
    "publishingState",
    "createdDateTime",
    "lastModifiedDateTime",
    "createdBy",
    "lastModifiedBy",
)

MAIL_FOLDER = (
    "id",
    "displayName",
    "parentFolderId",
    "childFolderCount",
    "totalItemCount",
    "isHidden",
)

# The body is not part of a delta round: content is fetched when the record is indexed (`message()`).
MESSAGE = (
    "id",
    "internetMessageId",
    "conversationId",
    "subject",
    "from",
    "sender",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "receivedDateTime",
    "sentDateTime",
    "lastModifiedDateTime",
    "hasAttachments",
    "isDraft",
    "parentFolderId",
    "changeKey",
    "webLink",
    "categories",
)

MESSAGE_CONTENT = (*MESSAGE, "body")

ATTACHMENT = ("id", "name", "contentType", "size", "isInline", "lastModifiedDateTime")

SUBSCRIPTION = (
    "id",
    "resource",
    "changeType",
    "notificationUrl",
    "lifecycleNotificationUrl",
    "expirationDateTime",
    "clientState",
)


def select(fields: Iterable[str]) -> str:
    """The `$select` value for `fields`."""
    return ",".join(dict.fromkeys(fields))
