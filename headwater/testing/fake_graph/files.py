"""Drives and their driveItem trees: OneDrive for Business per user, document libraries per site.

eTag changes with every change of an item (metadata, sharing or content); cTag only when the content
changes, which is how a connector tells "re-index" from "update metadata" apart."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from datetime import datetime

from headwater.testing.fake_graph.changelog import ChangeLog, FakeClock, IdFactory, drive_scope
from headwater.testing.fake_graph.model import (
    Drive,
    DriveItem,
    Grantee,
    Group,
    LinkScope,
    LinkType,
    Permission,
    SharingLink,
    Site,
    UnknownObject,
    User,
)


class FilesMixin:
    ids: IdFactory
    clock: FakeClock
    log: ChangeLog
    users: dict[str, User]
    groups: dict[str, Group]
    drives: dict[str, Drive]
    sites: dict[str, Site]
    onedrive_host: str

    def user(self, user_id: str) -> User:  # provided by FakeTenant
        raise NotImplementedError

    # -- drives -------------------------------------------------------------------------------------

    def add_personal_drive(self, user: User) -> Drive:
        personal = user.user_principal_name.replace("@", "_").replace(".", "_")
        drive = self._new_drive(
            name="OneDrive",
            drive_type="business",
            owner_kind="user",
            owner_id=user.id,
            web_url=f"https://{self.onedrive_host}/personal/{personal}/Documents",
        )
        user.drive_id = drive.id
        return drive

    def _new_drive(self, **fields: str) -> Drive:
        drive_id = self.ids.drive_id()
        root_id = self.ids.item_id()
        now = self.clock.now()
        drive = Drive(id=drive_id, root_id=root_id, created=now, **fields)  # type: ignore[arg-type]
        owner = drive.owner_id if drive.owner_kind == "user" else self._any_user_id()
        self._put_item(drive, root_id, "root", None, is_folder=True, author=owner)
        self.drives[drive_id] = drive
        return drive

    def drive(self, drive_id: str) -> Drive:
        drive = self.drives.get(drive_id)
        if drive is None:
            raise UnknownObject(f"no drive {drive_id!r} in the fake tenant")
        return drive

    def drive_of(self, user_id: str) -> Drive:
        user = self.user(user_id)
        if user.drive_id is None:
            raise UnknownObject(f"user {user_id!r} has no OneDrive")
        return self.drives[user.drive_id]

    def item(self, drive_id: str, item_id: str) -> DriveItem:
        """A live (not deleted) item; `item_id` "root" names the drive's root."""
        drive = self.drive(drive_id)
        found = drive.items.get(drive.root_id if item_id == "root" else item_id)
        if found is None or found.deleted:
            raise UnknownObject(f"no item {item_id!r} in drive {drive_id!r}")
        return found

    def children(self, drive: Drive, folder: DriveItem) -> list[DriveItem]:
        return [i for i in drive.items.values() if i.parent_id == folder.id and not i.deleted]

    def ancestors(self, drive: Drive, item: DriveItem) -> list[DriveItem]:
        """The folders above `item`, root first."""
        chain: list[DriveItem] = []
        parent_id = item.parent_id
        while parent_id is not None:
            parent = drive.items[parent_id]
            chain.append(parent)
            parent_id = parent.parent_id
        return chain[::-1]

    def path_of(self, drive: Drive, item: DriveItem) -> str:
        """`/drive/root:/folder/name` style path of the folder holding `item` (parentReference.path)."""
        names = [a.name for a in self.ancestors(drive, item)[1:]]
        return "/drive/root:" + "".join("/" + n for n in names)

    # -- file and folder changes --------------------------------------------------------------------

    def add_folder(
        self, drive_id: str, name: str, *, parent_id: str = "root", by: str | None = None
    ) -> DriveItem:
        return self._add_item(drive_id, name, parent_id, is_folder=True, content=b"", mime_type=None, by=by)

    def add_file(
        self,
        drive_id: str,
        name: str,
        content: bytes | str,
        *,
        parent_id: str = "root",
        mime_type: str | None = None,
        by: str | None = None,
    ) -> DriveItem:
        data = content.encode() if isinstance(content, str) else content
        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        return self._add_item(drive_id, name, parent_id, is_folder=False, content=data, mime_type=mime, by=by)

    def _add_item(
        self,
        drive_id: str,
        name: str,
        parent_id: str,
        *,
        is_folder: bool,
        content: bytes,
        mime_type: str | None,
        by: str | None,
    ) -> DriveItem:
        drive = self.drive(drive_id)
        parent = self.item(drive_id, parent_id)
        if not parent.is_folder:
            raise ValueError(f"{parent.name!r} is a file; items go into folders")
        self._check_free_name(drive, parent.id, name)
        author = self._author(drive, by)
        item_id = self.ids.item_id()
        return self._put_item(
            drive,
            item_id,
            name,
            parent.id,
            is_folder=is_folder,
            author=author,
            content=content,
            mime_type=mime_type,
        )

    def _put_item(
        self,
        drive: Drive,
        item_id: str,
        name: str,
        parent_id: str | None,
        *,
        is_folder: bool,
        author: str,
        content: bytes = b"",
        mime_type: str | None = None,
    ) -> DriveItem:
        """A new item in `drive`, its creation logged in the drive's change log."""
        now = self.clock.now()
        item = DriveItem(
            id=item_id,
            drive_id=drive.id,
            name=name,
            parent_id=parent_id,
            is_folder=is_folder,
            created=now,
            modified=now,
            created_by=author,
            modified_by=author,
            seq=self.log.record(drive_scope(drive.id), "created", item_id),
            guid=self.ids.guid().upper(),
            content=content,
            mime_type=mime_type,
        )
        item.meta_seq = item.seq
        drive.items[item_id] = item
        return item

    def edit_file(
        self, drive_id: str, item_id: str, content: bytes | str, *, by: str | None = None
    ) -> DriveItem:
        """New content: eTag and cTag both change."""
        item = self.item(drive_id, item_id)
        if item.is_folder:
            raise ValueError("a folder has no content to edit")
        item.content = content.encode() if isinstance(content, str) else content
        item.ctag_version += 1
        return self._touch(item, by)

    def rename_item(self, drive_id: str, item_id: str, name: str) -> DriveItem:
        """Metadata only: eTag changes, cTag does not; descendants are not reported (as in Graph)."""
        item = self.item(drive_id, item_id)
        assert item.parent_id is not None, "the root cannot be renamed"
        self._check_free_name(self.drive(drive_id), item.parent_id, name)
        item.name = name
        return self._touch(item, None)

    def move_item(
        self, drive_id: str, item_id: str, new_parent_id: str, *, name: str | None = None
    ) -> DriveItem:
        drive = self.drive(drive_id)
        item = self.item(drive_id, item_id)
        target = self.item(drive_id, new_parent_id)
        if not target.is_folder or target.id == item.id or item in self.ancestors(drive, target):
            raise ValueError(f"cannot move {item.name!r} into {target.name!r}")
        self._check_free_name(drive, target.id, name or item.name)
        item.parent_id = target.id
        item.name = name or item.name
        return self._touch(item, None)

    def delete_item(self, drive_id: str, item_id: str) -> list[DriveItem]:
        """Delete an item and, for a folder, everything below it; delta reports each with `deleted`."""
        drive = self.drive(drive_id)
        item = self.item(drive_id, item_id)
        doomed = [item]
        index = 0
        while index < len(doomed):
            doomed.extend(self.children(drive, doomed[index]))
            index += 1
        for victim in reversed(doomed):  # children first, so a folder is empty when its tombstone arrives
            victim.deleted = True
            victim.seq = victim.meta_seq = self.log.record(drive_scope(drive_id), "deleted", victim.id)
        return doomed

    def _touch(self, item: DriveItem, by: str | None) -> DriveItem:
        item.etag_version += 1
        item.modified = self.clock.now()
        item.modified_by = self._author(self.drive(item.drive_id), by)
        item.seq = item.meta_seq = self.log.record(drive_scope(item.drive_id), "updated", item.id)
        return item

    def _check_free_name(self, drive: Drive, parent_id: str, name: str) -> None:
        if not name or "/" in name:
            raise ValueError(f"invalid item name {name!r}")
        taken = any(
            i.parent_id == parent_id and not i.deleted and i.name.lower() == name.lower()
            for i in drive.items.values()
        )
        if taken:
            raise ValueError(f"an item named {name!r} already exists in that folder (nameAlreadyExists)")

    def _author(self, drive: Drive, by: str | None) -> str:
        if by is not None:
            return self.user(by).id
        return drive.owner_id if drive.owner_kind == "user" else self._any_user_id()

    def _any_user_id(self) -> str:
        return next(iter(self.users), "00000000-0000-0000-0000-000000000000")

    # -- sharing ------------------------------------------------------------------------------------

    def grantee(self, principal_id: str) -> Grantee:
        if principal_id in self.users:
            user = self.users[principal_id]
            return Grantee("user", user.id, user.display_name, email=user.mail)
        if principal_id in self.groups:
            group = self.groups[principal_id]
            return Grantee("group", group.id, group.display_name, email=group.mail)
        raise UnknownObject(f"no user or group {principal_id!r} to share with")

    def grant(
        self, drive_id: str, item_id: str, principal_id: str, roles: Iterable[str] = ("read",)
    ) -> Permission:
        """Share directly with a user or group (an invitation without a link)."""
        permission = Permission(
            id=self.ids.permission_id(), roles=list(roles), grantee=self.grantee(principal_id)
        )
        return self._add_permission(drive_id, item_id, permission)

    def create_link(
        self,
        drive_id: str,
        item_id: str,
        scope: LinkScope,
        *,
        link_type: LinkType = "view",
        recipients: Iterable[str] = (),
        expiration: datetime | None = None,
    ) -> Permission:
        """A sharing link; scope "users" links are usable only by `recipients` (grantedToIdentitiesV2)."""
        token = self.ids.token()
        kind = "f" if self.item(drive_id, item_id).is_folder else "u"
        permission = Permission(
            id=self.ids.permission_id(),
            roles=["write" if link_type == "edit" else "read"],
            link=SharingLink(
                type=link_type, scope=scope, web_url=f"https://{self.onedrive_host}/:{kind}:/g/{token}"
            ),
            link_recipients=[self.grantee(p) for p in recipients],
            share_id="u!" + token,
            expiration=expiration,
        )
        return self._add_permission(drive_id, item_id, permission)

    def remove_permission(self, drive_id: str, item_id: str, permission_id: str) -> None:
        item = self.item(drive_id, item_id)
        kept = [p for p in item.permissions if p.id != permission_id]
        if len(kept) == len(item.permissions):
            raise UnknownObject(f"item {item_id!r} has no permission {permission_id!r} of its own")
        item.permissions = kept
        self._sharing_changed(item)

    def _add_permission(self, drive_id: str, item_id: str, permission: Permission) -> Permission:
        item = self.item(drive_id, item_id)
        item.permissions.append(permission)
        self._sharing_changed(item)
        return permission

    def _sharing_changed(self, item: DriveItem) -> None:
        item.etag_version += 1
        item.seq = self.log.record(drive_scope(item.drive_id), "updated", item.id)
        item.shared_changed_seq = item.seq

    def owner_permission(self, drive: Drive) -> Permission | None:
        if drive.owner_kind != "user" or drive.owner_id not in self.users:
            return None
        owner = self.users[drive.owner_id]
        grantee = Grantee("user", owner.id, owner.display_name, email=owner.mail)
        return Permission(id="aTowIy5mfG1lbWJlcnNoaXB8b3duZXI", roles=["owner"], grantee=grantee)

    def effective_permissions(self, drive: Drive, item: DriveItem) -> list[Permission]:
        """What the permissions endpoint lists: the owner, the site's grants (libraries), then those
        inherited from each folder above, then the item's own."""
        found: list[Permission] = []
        owner = self.owner_permission(drive)
        if owner is not None:
            found.append(owner)
        if drive.site_id is not None and drive.site_id in self.sites:
            found.extend(self.sites[drive.site_id].permissions)
        for holder in [*self.ancestors(drive, item), item]:
            found.extend(holder.permissions)
        unique: dict[str, Permission] = {}
        for permission in found:
            unique.setdefault(permission.id, permission)
        return list(unique.values())
