"""A stateful Microsoft 365 tenant: the directory, OneDrive and SharePoint drives, sites, mailboxes.

Tests seed it, sync, mutate it through the methods below, and sync again; the HTTP app (`app.py`)
only reads it. Files and sites live in `files.py`, mail in `mail.py`; this module holds the directory
and ties the parts together."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from headwater.testing.fake_graph.changelog import GROUPS, USERS, ChangeLog, FakeClock, IdFactory, Scope
from headwater.testing.fake_graph.files import FilesMixin
from headwater.testing.fake_graph.mail import MailMixin
from headwater.testing.fake_graph.model import (
    Drive,
    Group,
    Mailbox,
    MemberChange,
    MemberKind,
    Site,
    Subscription,
    UnknownObject,
    User,
)
from headwater.testing.fake_graph.sites import SitesMixin


class FakeTenant(FilesMixin, SitesMixin, MailMixin):
    """One Entra ID tenant with its Microsoft 365 content.

    Args:
        domain: the verified domain; users get `name@domain` addresses.
        seed: makes every id reproducible.
        clock: the fake's time; `FakeClock()` starts at 2024-05-01T09:00:00Z and ticks one second per change.
        delta_token_lifetime: delta tokens older than this answer 410; None keeps them valid until
            a scope is expired with `expire_delta_tokens`.
    """

    def __init__(
        self,
        *,
        domain: str = "contoso.onmicrosoft.com",
        seed: int = 7,
        clock: FakeClock | None = None,
        delta_token_lifetime: timedelta | None = None,
    ) -> None:
        self.ids = IdFactory(seed)
        self.clock = clock or FakeClock()
        self.log = ChangeLog(self.clock)
        self.tenant_id = self.ids.guid()
        self.domain = domain
        org = domain.split(".")[0]
        self.sharepoint_host = f"{org}.sharepoint.com"
        self.onedrive_host = f"{org}-my.sharepoint.com"
        self.delta_token_lifetime = delta_token_lifetime
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.drives: dict[str, Drive] = {}
        self.sites: dict[str, Site] = {}
        self.mailboxes: dict[str, Mailbox] = {}
        self.subscriptions: dict[str, Subscription] = {}

    # -- change log ---------------------------------------------------------------------------------

    def expire_delta_tokens(self, scope: Scope) -> None:
        """Make every delta token of one scope answer 410 (e.g. `("drive", drive_id)`, `("users",)`)."""
        self.log.expire(scope)

    # -- users --------------------------------------------------------------------------------------

    def add_user(
        self,
        display_name: str,
        *,
        mail_nickname: str | None = None,
        job_title: str | None = None,
        with_drive: bool = True,
        with_mailbox: bool = True,
    ) -> User:
        """A member user `nickname@domain` with a OneDrive and a mailbox (unless told otherwise)."""
        nickname = mail_nickname or display_name.split()[0].lower()
        given, _, surname = display_name.partition(" ")
        user_id = self.ids.guid()
        user = User(
            id=user_id,
            display_name=display_name,
            user_principal_name=f"{nickname}@{self.domain}",
            mail=f"{nickname}@{self.domain}",
            given_name=given or None,
            surname=surname or None,
            job_title=job_title,
            created=self.clock.now(),
            seq=self.log.record(USERS, "created", user_id),
        )
        self.users[user.id] = user
        if with_drive:
            self.add_personal_drive(user)
        if with_mailbox:
            self.add_mailbox(user)
        return user

    def update_user(
        self,
        user_id: str,
        *,
        display_name: str | None = None,
        job_title: str | None = None,
        account_enabled: bool | None = None,
    ) -> User:
        user = self.user(user_id)
        if display_name is not None:
            user.display_name = display_name
        if job_title is not None:
            user.job_title = job_title
        if account_enabled is not None:
            user.account_enabled = account_enabled
        user.seq = self.log.record(USERS, "updated", user_id)
        return user

    def delete_user(self, user_id: str, *, permanent: bool = False) -> None:
        """Soft-delete (delta says `@removed: changed`, restorable) or delete for good (`deleted`).

        The user also leaves every group, as in Entra ID."""
        user = self.user(user_id)
        for group in self.groups.values():
            if user_id in group.members:
                self.remove_group_member(group.id, user_id)
        user.removed = "deleted" if permanent else "changed"
        user.seq = self.log.record(USERS, "deleted", user_id)

    def restore_user(self, user_id: str) -> User:
        user = self.users[user_id]
        if user.removed != "changed":
            raise ValueError(f"only a soft-deleted user can be restored ({user_id=}, removed={user.removed})")
        user.removed = None
        user.seq = self.log.record(USERS, "updated", user_id)
        return user

    def user(self, user_id: str) -> User:
        """An existing (not deleted) user, by id or userPrincipalName."""
        user = self.users.get(user_id)
        if user is None:
            user = next(
                (u for u in self.users.values() if u.user_principal_name.lower() == user_id.lower()), None
            )
        if user is None or user.removed:
            raise UnknownObject(f"no user {user_id!r} in the fake tenant")
        return user

    def active_users(self) -> list[User]:
        return [u for u in self.users.values() if not u.removed]

    # -- groups -------------------------------------------------------------------------------------

    def add_group(
        self,
        display_name: str,
        *,
        description: str | None = None,
        unified: bool = False,
        members: Iterable[str] = (),
    ) -> Group:
        """A security group (or a Microsoft 365 group when `unified`), with users or groups as members."""
        nickname = display_name.lower().replace(" ", "-")
        group_id = self.ids.guid()
        group = Group(
            id=group_id,
            display_name=display_name,
            description=description,
            mail=f"{nickname}@{self.domain}" if unified else None,
            mail_enabled=unified,
            security_enabled=not unified,
            group_types=["Unified"] if unified else [],
            visibility="Private" if unified else None,
            created=self.clock.now(),
            seq=self.log.record(GROUPS, "created", group_id),
        )
        self.groups[group.id] = group
        for member_id in members:
            self.add_group_member(group.id, member_id)
        return group

    def update_group(
        self, group_id: str, *, display_name: str | None = None, description: str | None = None
    ) -> Group:
        group = self.group(group_id)
        if display_name is not None:
            group.display_name = display_name
        if description is not None:
            group.description = description
        group.seq = self.log.record(GROUPS, "updated", group_id)
        return group

    def add_group_member(self, group_id: str, member_id: str) -> None:
        group = self.group(group_id)
        kind = self._member_kind(member_id)
        if member_id in group.members:
            return
        group.members[member_id] = kind
        group.seq = self.log.record(GROUPS, "updated", group_id)
        group.member_changes[member_id] = MemberChange(group.seq, kind, present=True)

    def remove_group_member(self, group_id: str, member_id: str) -> None:
        group = self.group(group_id)
        kind = group.members.pop(member_id, None)
        if kind is None:
            raise UnknownObject(f"{member_id!r} is not a member of group {group_id!r}")
        group.seq = self.log.record(GROUPS, "updated", group_id)
        group.member_changes[member_id] = MemberChange(group.seq, kind, present=False)

    def delete_group(self, group_id: str) -> None:
        group = self.group(group_id)
        group.removed = "changed"
        group.seq = self.log.record(GROUPS, "deleted", group_id)
        for other in self.groups.values():
            if group_id in other.members:
                self.remove_group_member(other.id, group_id)

    def group(self, group_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None or group.removed:
            raise UnknownObject(f"no group {group_id!r} in the fake tenant")
        return group

    def active_groups(self) -> list[Group]:
        return [g for g in self.groups.values() if not g.removed]

    def transitive_members(self, group_id: str) -> list[tuple[str, MemberKind]]:
        """Every direct and nested member (users and the nested groups themselves), each once."""
        seen: dict[str, MemberKind] = {}
        pending = [group_id]
        visited = {group_id}
        while pending:
            for member_id, kind in self.group(pending.pop(0)).members.items():
                seen.setdefault(member_id, kind)
                if kind == "group" and member_id not in visited:
                    visited.add(member_id)
                    pending.append(member_id)
        return list(seen.items())

    def _member_kind(self, object_id: str) -> MemberKind:
        if object_id in self.users and not self.users[object_id].removed:
            return "user"
        if object_id in self.groups and not self.groups[object_id].removed:
            return "group"
        raise UnknownObject(f"no user or group {object_id!r} in the fake tenant")
