"""Tenant objects as Graph v1.0 JSON: field names, nesting and defaults as Graph sends them."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from headwater.testing.fake_graph.changelog import graph_time
from headwater.testing.fake_graph.model import (
    Attachment,
    Drive,
    DriveItem,
    EmailAddress,
    Grantee,
    Group,
    MailFolder,
    Message,
    Permission,
    Site,
    SitePage,
    Subscription,
    User,
)

Json = dict[str, Any]

USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)


def user_json(user: User) -> Json:
    """Every property the fake knows; `select` (in app.py) trims to the defaults or the $select list."""
    return {
        "id": user.id,
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": user.given_name,
        "jobTitle": user.job_title,
        "mail": user.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": user.surname,
        "userPrincipalName": user.user_principal_name,
        "accountEnabled": user.account_enabled,
        "userType": user.user_type,
        "createdDateTime": graph_time(user.created),
        "mailNickname": user.user_principal_name.split("@")[0],
    }


def group_json(group: Group) -> Json:
    return {
        "id": group.id,
        "deletedDateTime": None,
        "createdDateTime": graph_time(group.created),
        "description": group.description,
        "displayName": group.display_name,
        "groupTypes": list(group.group_types),
        "mail": group.mail,
        "mailEnabled": group.mail_enabled,
        "mailNickname": group.display_name.lower().replace(" ", "-"),
        "securityEnabled": group.security_enabled,
        "visibility": group.visibility,
    }


def identity_set(user: User | None, user_id: str) -> Json:
    if user is None:
        return {"user": {"id": user_id, "displayName": "Unknown user"}}
    return {"user": {"id": user.id, "displayName": user.display_name, "email": user.mail}}


def drive_json(drive: Drive, owner: Json) -> Json:
    used = sum(len(i.content) for i in drive.items.values() if not i.deleted)
    total = 1024**4
    return {
        "id": drive.id,
        "name": drive.name,
        "driveType": drive.drive_type,
        "description": drive.description or "",
        "createdDateTime": graph_time(drive.created),
        "lastModifiedDateTime": graph_time(drive.created),
        "webUrl": drive.web_url,
        "owner": owner,
        "quota": {"deleted": 0, "remaining": total - used, "state": "normal", "total": total, "used": used},
    }


def etag(item: DriveItem) -> str:
    return f'"{{{item.guid}}},{item.etag_version}"'


def ctag(item: DriveItem) -> str:
    return f'"c:{{{item.guid}}},{item.ctag_version}"'


def quick_xor_hash(data: bytes) -> str:
    """OneDrive's quickXorHash: bytes XORed into a 160-bit ring at 11-bit steps, length mixed in."""
    width = 160
    acc = 0
    for index, byte in enumerate(data):
        shifted = byte << ((index * 11) % width)
        acc ^= (shifted & ((1 << width) - 1)) ^ (shifted >> width)
    digest = bytearray(acc.to_bytes(20, "little"))
    for index, byte in enumerate(len(data).to_bytes(8, "little")):
        digest[12 + index] ^= byte
    return base64.b64encode(bytes(digest)).decode()


def sharepoint_identity(grantee: Grantee) -> Json:
    if grantee.kind in ("siteUser", "siteGroup"):
        return {
            grantee.kind: {
                "id": grantee.id,
                "displayName": grantee.display_name,
                "loginName": grantee.login_name,
            }
        }
    identity: Json = {"id": grantee.id, "displayName": grantee.display_name}
    if grantee.email:
        identity["email"] = grantee.email
    return {grantee.kind: identity}


def permission_json(permission: Permission) -> Json:
    body: Json = {"id": permission.id, "roles": list(permission.roles)}
    if permission.grantee is not None:
        body["grantedToV2"] = sharepoint_identity(permission.grantee)
    if permission.link is not None:
        body["link"] = {
            "type": permission.link.type,
            "scope": permission.link.scope,
            "webUrl": permission.link.web_url,
            "preventsDownload": permission.link.prevents_download,
        }
        body["grantedToIdentitiesV2"] = [sharepoint_identity(g) for g in permission.link_recipients]
    if permission.share_id:
        body["shareId"] = permission.share_id
    if permission.expiration is not None:
        body["expirationDateTime"] = graph_time(permission.expiration)
    return body


def shared_scope(permissions: list[Permission]) -> str | None:
    """The `shared.scope` facet: the widest audience among the item's non-owner permissions."""
    scopes = {p.link.scope if p.link else "users" for p in permissions if "owner" not in p.roles}
    for scope in ("anonymous", "organization", "users"):
        if scope in scopes:
            return scope
    return None


def site_json(site: Site, host: str) -> Json:
    body: Json = {
        "id": site.id,
        "name": site.name,
        "displayName": site.display_name,
        "description": site.description,
        "webUrl": site.web_url,
        "createdDateTime": graph_time(site.created),
        "lastModifiedDateTime": graph_time(site.modified),
        "siteCollection": {"hostname": host},
        "sharepointIds": {
            "siteId": site.id.split(",")[1],
            "webId": site.id.split(",")[2],
            "siteUrl": site.web_url,
        },
    }
    if site.is_root:
        body["root"] = {}
    return body


def page_json(page: SitePage, author: Json, *, with_content: bool) -> Json:
    body: Json = {
        "@odata.type": "#microsoft.graph.sitePage",
        "id": page.id,
        "name": page.name,
        "title": page.title,
        "webUrl": page.web_url,
        "description": page.description,
        "eTag": f'"{{{page.id.upper()}}},{page.etag_version}"',
        "pageLayout": "article",
        "promotionKind": "page",
        "createdDateTime": graph_time(page.created),
        "lastModifiedDateTime": graph_time(page.modified),
        "createdBy": author,
        "lastModifiedBy": author,
        "publishingState": {"level": "published", "versionId": f"{page.etag_version}.0"},
    }
    if with_content:
        body["canvasLayout"] = {
            "horizontalSections": [
                {
                    "layout": "oneColumn",
                    "id": "1",
                    "emphasis": "none",
                    "columns": [
                        {"id": "1", "width": 12, "webparts": [{"id": page.id, "innerHtml": page.html}]}
                    ],
                }
            ]
        }
    return body


def mail_folder_json(folder: MailFolder, *, child_count: int, total: int, unread: int) -> Json:
    return {
        "id": folder.id,
        "displayName": folder.display_name,
        "parentFolderId": folder.parent_id,
        "childFolderCount": child_count,
        "unreadItemCount": unread,
        "totalItemCount": total,
        "isHidden": folder.is_hidden,
    }


def recipient(address: EmailAddress) -> Json:
    return {"emailAddress": {"name": address.name, "address": address.address}}


def change_key(message: Message) -> str:
    return base64.b64encode(
        hashlib.sha1(f"{message.id}:{message.change_version}".encode()).digest()[:16]
    ).decode()


def message_json(message: Message, web_base: str) -> Json:
    text = message.body_html
    return {
        "@odata.etag": f'W/"{change_key(message)}"',
        "id": message.id,
        "createdDateTime": graph_time(message.created),
        "lastModifiedDateTime": graph_time(message.modified),
        "changeKey": change_key(message),
        "categories": [],
        "receivedDateTime": graph_time(message.received),
        "sentDateTime": graph_time(message.sent),
        "hasAttachments": any(not a.is_inline for a in message.attachments),
        "internetMessageId": message.internet_message_id,
        "subject": message.subject,
        "bodyPreview": _preview(text),
        "importance": message.importance,
        "parentFolderId": message.folder_id,
        "conversationId": message.conversation_id,
        "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False,
        "isRead": message.is_read,
        "isDraft": message.is_draft,
        "webLink": f"{web_base}?ItemID={message.id}&exvsurl=1&viewmodel=ReadMessageItem",
        "inferenceClassification": "focused",
        "body": {"contentType": "html", "content": text},
        "sender": recipient(message.sender),
        "from": recipient(message.sender),
        "toRecipients": [recipient(a) for a in message.to],
        "ccRecipients": [recipient(a) for a in message.cc],
        "bccRecipients": [recipient(a) for a in message.bcc],
        "replyTo": [],
        "flag": {"flagStatus": "notFlagged"},
    }


def _preview(html: str) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()[:255]


def attachment_json(attachment: Attachment) -> Json:
    return {
        "@odata.type": "#microsoft.graph.fileAttachment",
        "@odata.mediaContentType": attachment.content_type,
        "id": attachment.id,
        "lastModifiedDateTime": graph_time(attachment.modified),
        "name": attachment.name,
        "contentType": attachment.content_type,
        "size": len(attachment.content),
        "isInline": attachment.is_inline,
        "contentId": attachment.content_id,
        "contentLocation": None,
        "contentBytes": base64.b64encode(attachment.content).decode(),
    }


def subscription_json(subscription: Subscription, application_id: str) -> Json:
    return {
        "id": subscription.id,
        "resource": subscription.resource,
        "applicationId": application_id,
        "changeType": subscription.change_type,
        "clientState": subscription.client_state,
        "notificationUrl": subscription.notification_url,
        "lifecycleNotificationUrl": subscription.lifecycle_notification_url,
        "expirationDateTime": graph_time(subscription.expiration),
        "creatorId": application_id,
        "latestSupportedTlsVersion": "v1_2",
        "includeResourceData": False,
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": None,
        "notificationQueryOptions": None,
    }
