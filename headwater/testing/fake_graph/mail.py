"""Outlook mailboxes: folders (well-known ones plus user folders), messages with attachments.

Ids. Outlook ids are base64 and, as Graph really hands them out, may contain "/" and "+" (the fake's
ids do, most of them). Graph cannot route such an id in a path, even percent-encoded; clients send
its REST form instead ("/" -> "-", "+" -> "_"), which every lookup here accepts (`rest_id`).

Moves. A message has two ids: its regular one, which changes when the message moves to another
folder, and its immutable one (`Message.immutable_id`), which Graph answers instead when the request
says `Prefer: IdType="ImmutableId"` and which survives moves. Either way the source folder's delta
reports the message `@removed` and the target folder's delta reports it as new: with regular ids
under a new id, with immutable ids under the same one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from headwater.testing.fake_graph.changelog import ChangeLog, FakeClock, IdFactory, mail_scope
from headwater.testing.fake_graph.model import (
    Attachment,
    EmailAddress,
    Mailbox,
    MailFolder,
    Message,
    UnknownObject,
    User,
)

WELL_KNOWN_FOLDERS = {
    "inbox": "Inbox",
    "drafts": "Drafts",
    "sentitems": "Sent Items",
    "deleteditems": "Deleted Items",
    "archive": "Archive",
    "junkemail": "Junk Email",
}

Address = str | tuple[str, str]  # "a@x" or (name, "a@x")


def rest_id(outlook_id: str) -> str:
    """An Outlook id in the form Graph takes in a URL path (translateExchangeIds' restId)."""
    return outlook_id.replace("/", "-").replace("+", "_")


def _outlook_id(ids: IdFactory, prefix: str = "") -> str:
    """A new Outlook id in the form Graph returns it: standard base64, so "/" and "+" occur."""
    raw = ids.mail_id().replace("-", "+").replace("_", "/")
    return prefix + raw[len(prefix) :] if prefix else raw


class MailMixin:
    ids: IdFactory
    clock: FakeClock
    log: ChangeLog
    domain: str
    mailboxes: dict[str, Mailbox]

    def user(self, user_id: str) -> User:  # provided by FakeTenant
        raise NotImplementedError

    def add_mailbox(self, user: User) -> Mailbox:
        mailbox = Mailbox(user_id=user.id, root_id=_outlook_id(self.ids))
        self.mailboxes[user.id] = mailbox
        for well_known, display_name in WELL_KNOWN_FOLDERS.items():
            folder = MailFolder(
                _outlook_id(self.ids), user.id, display_name, mailbox.root_id, well_known_name=well_known
            )
            mailbox.folders[folder.id] = folder
        return mailbox

    def mailbox(self, user_id: str) -> Mailbox:
        user = self.user(user_id)
        if user.id not in self.mailboxes:
            raise UnknownObject(f"user {user_id!r} has no mailbox")
        return self.mailboxes[user.id]

    def mail_folder(self, user_id: str, folder: str) -> MailFolder:
        """A folder by id (as returned, or its REST form) or well-known name ("inbox", ...)."""
        mailbox = self.mailbox(user_id)
        if folder in mailbox.folders:
            return mailbox.folders[folder]
        wanted = rest_id(folder)
        for candidate in mailbox.folders.values():
            if candidate.well_known_name == folder.lower() or rest_id(candidate.id) == wanted:
                return candidate
        raise UnknownObject(f"no mail folder {folder!r} for user {user_id!r}")

    def child_folders(self, user_id: str, parent_id: str) -> list[MailFolder]:
        return [f for f in self.mailbox(user_id).folders.values() if f.parent_id == parent_id]

    def add_mail_folder(self, user_id: str, display_name: str, *, parent: str | None = None) -> MailFolder:
        mailbox = self.mailbox(user_id)
        parent_id = self.mail_folder(user_id, parent).id if parent else mailbox.root_id
        folder = MailFolder(_outlook_id(self.ids), mailbox.user_id, display_name, parent_id)
        mailbox.folders[folder.id] = folder
        return folder

    def add_message(
        self,
        user_id: str,
        subject: str,
        body_html: str,
        *,
        folder: str = "inbox",
        sender: Address,
        to: Iterable[Address] = (),
        cc: Iterable[Address] = (),
        bcc: Iterable[Address] = (),
        conversation_id: str | None = None,
        attachments: Iterable[tuple[str, str, bytes]] = (),
        received: datetime | None = None,
    ) -> Message:
        """A message in `folder`; `attachments` are (name, contentType, bytes). Pass the
        `conversation_id` of an earlier message to put a reply in its conversation."""
        target = self.mail_folder(user_id, folder)
        message_id = _outlook_id(self.ids)
        now = self.clock.now()
        message = Message(
            id=message_id,
            user_id=target.user_id,
            folder_id=target.id,
            subject=subject,
            body_html=body_html,
            sender=_address(sender),
            to=[_address(a) for a in to],
            cc=[_address(a) for a in cc],
            bcc=[_address(a) for a in bcc],
            conversation_id=conversation_id or self.ids.mail_id(),
            immutable_id=_outlook_id(self.ids, "AAkALgAAAAAAHYQDEapmEc2byACqAC"),
            internet_message_id=f"<{self.ids.token()}@{self.domain}>",
            received=received or now,
            sent=received or now,
            created=now,
            modified=now,
            seq=self.log.record(mail_scope(target.user_id, target.id), "created", message_id),
            attachments=[
                Attachment(_outlook_id(self.ids), name, content_type, data, now)
                for name, content_type, data in attachments
            ],
        )
        self.mailboxes[target.user_id].messages[message_id] = message
        return message

    def message(self, user_id: str, message_id: str) -> Message:
        """A message by its regular or immutable id, as returned or in REST form."""
        messages = self.mailbox(user_id).messages
        found = messages.get(message_id)
        if found is None:
            wanted = rest_id(message_id)
            found = next(
                (m for m in messages.values() if wanted in (rest_id(m.id), rest_id(m.immutable_id))),
                None,
            )
        if found is None:
            raise UnknownObject(f"no message {message_id!r} for user {user_id!r}")
        return found

    def update_message(
        self, user_id: str, message_id: str, *, is_read: bool | None = None, subject: str | None = None
    ) -> Message:
        message = self.message(user_id, message_id)
        message_id = message.id
        message.is_read = message.is_read if is_read is None else is_read
        message.subject = message.subject if subject is None else subject
        message.change_version += 1
        message.modified = self.clock.now()
        message.seq = self.log.record(mail_scope(message.user_id, message.folder_id), "updated", message_id)
        return message

    def move_message(self, user_id: str, message_id: str, folder: str) -> Message:
        """Move to another folder; the message gets a new regular id there (returned) and keeps its
        immutable id."""
        old = self.message(user_id, message_id)
        target = self.mail_folder(user_id, folder)
        self.delete_message(user_id, old.id)
        new_id = _outlook_id(self.ids)
        moved = replace(
            old,
            id=new_id,
            folder_id=target.id,
            modified=self.clock.now(),
            change_version=old.change_version + 1,
            seq=self.log.record(mail_scope(old.user_id, target.id), "created", new_id),
        )
        self.mailboxes[old.user_id].messages[new_id] = moved
        return moved

    def delete_message(self, user_id: str, message_id: str) -> None:
        """Remove for good (a hard delete); the folder's delta reports `@removed: deleted`."""
        message = self.message(user_id, message_id)
        mailbox = self.mailboxes[message.user_id]
        del mailbox.messages[message.id]
        seq = self.log.record(mail_scope(message.user_id, message.folder_id), "deleted", message.id)
        folder = mailbox.folders[message.folder_id]
        folder.removed_messages[message.id] = seq
        folder.removed_immutable_ids[message.id] = message.immutable_id

    def folder_messages(self, user_id: str, folder_id: str) -> list[Message]:
        return [m for m in self.mailbox(user_id).messages.values() if m.folder_id == folder_id]


def _address(value: Address) -> EmailAddress:
    if isinstance(value, tuple):
        return EmailAddress(address=value[1], name=value[0])
    return EmailAddress(address=value, name=value.split("@")[0])
