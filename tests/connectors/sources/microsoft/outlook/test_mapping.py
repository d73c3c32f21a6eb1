"""The pure mapping: Graph messages, folders and attachments to records and record groups; message HTML."""

from __future__ import annotations

from typing import Any

from headwater.connectors.core.filters import FilterCollection, parse_filter_values
from headwater.connectors.sources.microsoft.outlook import mapping
from headwater.connectors.sources.microsoft.outlook.content import message_html
from headwater.connectors.sources.microsoft.outlook.sync_run import MailFilters
from headwater.models.constants import RecordType

MESSAGE: dict[str, Any] = {
    "id": "AAMk+a/b=",
    "subject": " Plan ",
    "from": {"emailAddress": {"name": "Bob", "address": "Bob@Contoso.com"}},
    "toRecipients": [{"emailAddress": {"address": "ada@contoso.com"}}, {"emailAddress": {}}],
    "ccRecipients": [],
    "bccRecipients": [{"emailAddress": {"address": "audit@contoso.com"}}],
    "conversationId": "conv-1",
    "internetMessageId": "<x@contoso.com>",
    "receivedDateTime": "2024-05-02T11:00:00Z",
    "bodyPreview": "the plan",
    "changeKey": "ck1",
    "isRead": False,
    "isDraft": False,
    "webLink": "https://outlook.office365.com/owa/?ItemID=x",
}


def test_a_message_becomes_a_mail_record_in_its_folder() -> None:
    record = mapping.mail_record("u1", "f/1", MESSAGE)
    assert (record.record_name, record.subject, record.from_email) == ("Plan", "Plan", "bob@contoso.com")
    assert (record.to_emails, record.cc_emails, record.bcc_emails) == (
        ["ada@contoso.com"],
        [],
        ["audit@contoso.com"],
    )
    assert (record.thread_id, record.internet_message_id) == ("conv-1", "<x@contoso.com>")
    assert record.external_record_group_id == "users/u1/mailFolders/f/1"
    assert mapping.split_folder_scope(record.external_record_group_id) == ("u1", "f/1")
    assert record.source_created_at == 1714647600000
    assert record.inherit_permissions


def test_read_state_and_flags_do_not_change_the_revision_but_content_and_drafts_do() -> None:
    base = mapping.message_revision(MESSAGE)
    assert mapping.message_revision({**MESSAGE, "isRead": True, "changeKey": "ck2"}) == base
    assert mapping.message_revision({**MESSAGE, "subject": "Plan B"}) != base
    draft = {**MESSAGE, "isDraft": True}
    assert mapping.message_revision(draft) == "draft:ck1"
    assert mapping.message_revision({**draft, "changeKey": "ck2"}) == "draft:ck2"


def test_attachments_are_files_attached_to_their_message_and_inline_images_are_not() -> None:
    message = mapping.mail_record("u1", "f1", MESSAGE)
    attachment = {"id": "at+1", "name": "Q3.XLSX", "contentType": "application/vnd.ms-excel", "size": 12,
                  "lastModifiedDateTime": "2024-05-02T11:00:00Z"}  # fmt: skip
    record = mapping.attachment_record(message, attachment)
    assert record.external_record_id == "AAMk+a/b=:at+1"
    assert mapping.split_attachment_id(record.external_record_id) == ("AAMk+a/b=", "at+1")
    assert (record.parent_external_record_id, record.parent_record_type) == ("AAMk+a/b=", RecordType.MAIL)
    assert (record.extension, record.size_in_bytes, record.external_record_group_id) == (
        "xlsx",
        12,
        "users/u1/mailFolders/f1",
    )
    assert mapping.is_indexable_attachment(attachment)
    assert not mapping.is_indexable_attachment({**attachment, "isInline": True})
    assert not mapping.is_indexable_attachment(
        {**attachment, "@odata.type": "#microsoft.graph.itemAttachment"}
    )


def test_folders_nest_under_their_parent_or_the_mailbox() -> None:
    top = mapping.folder_group(
        "u1", {"id": "inbox", "displayName": "Inbox", "parentFolderId": "root"}, ["inbox", "p"]
    )
    child = mapping.folder_group(
        "u1", {"id": "p", "displayName": "Projects", "parentFolderId": "inbox"}, ["inbox", "p"]
    )
    assert top.parent_external_group_id == "users/u1/mailbox"
    assert child.parent_external_group_id == "users/u1/mailFolders/inbox"
    owner = mapping.owner_permission("ada@contoso.com")
    assert (owner.email, owner.type.value, owner.entity_type.value) == ("ada@contoso.com", "OWNER", "USER")


def test_the_message_page_carries_headers_and_the_body_without_its_own_html_wrapper() -> None:
    page = message_html(
        {
            **MESSAGE,
            "body": {"contentType": "html", "content": "<html><body><p>Hi &amp; bye</p></body></html>"},
        }
    )
    assert page.startswith(
        "<html><head><title>Plan</title></head><body><h1>Plan</h1><p>From: bob@contoso.com</p>"
    )
    assert "<p>To: ada@contoso.com</p>" in page
    assert "<p>Bcc: audit@contoso.com</p>" in page
    assert page.endswith("<p>Hi &amp; bye</p></body></html>")
    text = message_html({"subject": "<b>x</b>", "body": {"contentType": "text", "content": "a < b\n\nc"}})
    assert "<title>&lt;b&gt;x&lt;/b&gt;</title>" in text
    assert text.endswith("<p>a &lt; b</p><p>c</p></body></html>")


def test_filters_read_folder_names_and_the_received_window() -> None:
    values = {
        "folders": {"type": "multiselect", "operator": "not_in", "value": ["Junk Email"]},
        "received": {"type": "datetime", "operator": "is_after", "value": {"start": 1714600000000}},
    }
    filters = MailFilters.from_collection(parse_filter_values(values, "Outlook", "sync"))
    assert filters.exclude_folders == frozenset({"junk email"})
    assert not filters.wants_folder({"displayName": "Junk Email"})
    assert filters.wants_folder({"displayName": "Inbox"})
    assert filters.wants_message(MESSAGE)
    assert not filters.wants_message({**MESSAGE, "receivedDateTime": "2024-04-01T00:00:00Z"})
    assert filters.key() != MailFilters.from_collection(FilterCollection()).key()
