"""The tenant's directory: Entra ID users and groups -> app users, groups and membership edges.

Shared by every Microsoft 365 connector; each instance keeps its own copy (groups are identified by
(connector id, group id)) and its own delta links, in two sync points:

* `directory/users` (type users): the users delta link and the roster, every user the tenant has
  now (id -> email, name, enabled, member/guest). Drives, mailboxes and grants name users by id;
  the roster turns ids into the emails the graph identifies people by.
* `directory/groups` (type groups): the groups delta link and the ids of the groups written.

A round without a stored link (first sync, full sync, expired link) lists everything: users not
listed leave the roster, groups not listed are deleted. A round from a link reads only changes.

Nested groups are written as they are, group -> group `belongsTo` edges, because the SDK's principal
expansion follows `belongsTo` transitively (a member of a nested group acts as a member of every
group above it). Membership is replaced per group (`on_new_user_groups`): in a full round from the
`members@delta` slices of the round (a large group comes back on later pages with more members:
merged by id), in a change round by reading the direct members of every changed group again,
because `members@delta` then holds only the additions and removals.

Users become app users by email: `mail`, else a `userPrincipalName` that looks like one. A user with
neither cannot be matched to a person and is left out (recorded as skipped). Disabled users stay app
users (their grants stay on record) but are not active: no drive or mailbox is synced for them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.clients.microsoft import DeltaExpiredError, GraphClient, GraphObject
from headwater.connectors.core.data_store import DataStoreProvider
from headwater.connectors.core.processor import DataSourceEntitiesProcessor
from headwater.connectors.core.sync_point import SyncDataPointType, SyncPoint
from headwater.connectors.sources.microsoft.common.timestamps import graph_ms
from headwater.models.constants import Connectors
from headwater.models.entities import AppUser, AppUserGroup

USERS_KEY = "directory/users"
GROUPS_KEY = "directory/groups"
GROUP_WRITE_BATCH = 200
USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DirectoryUser:
    """One user of the tenant as the connectors need it."""

    id: str
    email: str
    display_name: str | None = None
    enabled: bool = True
    member: bool = True  # userType Member; guests (False) have no OneDrive or mailbox here

    @property
    def active(self) -> bool:
        """Whose drive and mailbox are synced: enabled members."""
        return self.enabled and self.member

    def to_state(self) -> list[Any]:
        return [self.email, self.display_name, self.enabled, self.member]

    @classmethod
    def from_state(cls, user_id: str, value: Sequence[Any]) -> DirectoryUser:
        email, name, enabled, member = value
        return cls(user_id, str(email), name, bool(enabled), bool(member))


@dataclass(frozen=True)
class Directory:
    """The tenant's users after a directory sync."""

    users: Mapping[str, DirectoryUser]

    def email_of(self, user_id: str | None) -> str | None:
        user = self.users.get(user_id or "")
        return user.email if user is not None else None

    def active_users(self) -> list[DirectoryUser]:
        """Enabled member users, by id (a stable order for syncing their drives and mailboxes)."""
        return sorted((u for u in self.users.values() if u.active), key=lambda u: u.id)


# -- mapping (pure) --------------------------------------------------------------------------------


def user_email(user: Mapping[str, Any]) -> str | None:
    """The email a Graph user is known by: `mail`, else a `userPrincipalName` shaped like an address
    (guests' UPNs, `name_domain#EXT#@tenant`, are not an address anyone signs in with)."""
    mail = user.get("mail")
    if isinstance(mail, str) and "@" in mail:
        return mail.strip().lower()
    upn = user.get("userPrincipalName")
    if isinstance(upn, str) and "@" in upn and "#EXT#" not in upn.upper():
        return upn.strip().lower()
    return None


def directory_user(user: Mapping[str, Any]) -> DirectoryUser | None:
    """A Graph user (from a list or a delta round) as a roster entry; None for one without an email."""
    email = user_email(user)
    if email is None:
        return None
    return DirectoryUser(
        id=str(user["id"]),
        email=email,
        display_name=user.get("displayName"),
        enabled=user.get("accountEnabled") is not False,
        member=str(user.get("userType") or "Member") == "Member",
    )


def app_user(user: DirectoryUser, *, app_name: Connectors | str, connector_id: str) -> AppUser:
    return AppUser(
        app_name=app_name,
        connector_id=connector_id,
        source_user_id=user.id,
        email=user.email,
        full_name=user.display_name,
        is_active=user.enabled,
    )


def app_group(group: Mapping[str, Any], *, app_name: Connectors | str, connector_id: str) -> AppUserGroup:
    """A Graph group as an app group (identified by its object id)."""
    return AppUserGroup(
        app_name=app_name,
        connector_id=connector_id,
        source_user_group_id=str(group["id"]),
        name=str(group.get("displayName") or group["id"]),
        description=group.get("description") or None,
        source_created_at=graph_ms(group.get("createdDateTime")),
    )


def group_members(
    members: Iterable[Mapping[str, Any]],
    users: Mapping[str, DirectoryUser],
    *,
    app_name: Connectors | str,
    connector_id: str,
) -> list[AppUser | AppUserGroup]:
    """A group's direct members as the processor takes them: users (by the roster's email) and nested
    groups; devices, service principals, contacts and users without an email are left out."""
    out: list[AppUser | AppUserGroup] = []
    seen: set[str] = set()
    for member in members:
        member_id = str(member.get("id") or "")
        if not member_id or member_id in seen or "@removed" in member:
            continue
        kind = member.get("@odata.type")
        if kind == USER_TYPE:
            user = users.get(member_id)
            if user is not None:
                seen.add(member_id)
                out.append(app_user(user, app_name=app_name, connector_id=connector_id))
        elif kind == GROUP_TYPE:
            seen.add(member_id)
            out.append(
                AppUserGroup(
                    app_name=app_name,
                    connector_id=connector_id,
                    source_user_group_id=member_id,
                    name=str(member.get("displayName") or member_id),
                )
            )
    return out


def merge_member_slices(
    slices: Mapping[str, list[dict[str, Any]]], group: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The members of `group` so far in a full round: earlier slices plus this one's `members@delta`
    (a member removed in a later slice goes)."""
    current = {str(m.get("id")): m for m in slices.get(str(group["id"]), [])}
    for member in group.get("members@delta") or []:
        member_id = str(member.get("id") or "")
        if "@removed" in member:
            current.pop(member_id, None)
        elif member_id:
            current[member_id] = member
    return list(current.values())


# -- the sync ---------------------------------------------------------------------------------------


class DirectorySync:
    """One directory sync of one connector instance: users, then groups (whose members need the roster).

    Args:
        client: the tenant's Graph client.
        processor: the instance's processor (writes app users, groups, membership).
        data_store_provider: where the instance's sync points live.
        app_name: the connector's name on the app users and groups it writes.
    """

    def __init__(
        self,
        client: GraphClient,
        processor: DataSourceEntitiesProcessor,
        data_store_provider: DataStoreProvider,
        *,
        app_name: Connectors | str,
    ) -> None:
        self.client = client
        self.processor = processor
        self.app_name = app_name
        self.users_point = SyncPoint(str(app_name), "", SyncDataPointType.USERS, data_store_provider)
        self.groups_point = SyncPoint(str(app_name), "", SyncDataPointType.GROUPS, data_store_provider)

    @property
    def connector_id(self) -> str:
        return self.processor.connector_id

    async def run(self) -> Directory:
        """Bring users and groups up to date; the current roster."""
        directory = await self.sync_users()
        await self.sync_groups(directory)
        return directory

    async def roster(self) -> Directory:
        """The roster as the last users round left it (no Graph call)."""
        state = await self.users_point.read_sync_point(USERS_KEY)
        return Directory(_roster(state.get("roster")))

    # -- users ------------------------------------------------------------------------------------

    async def sync_users(self) -> Directory:
        state = await self.users_point.read_sync_point(USERS_KEY)
        link = state.get("deltaLink") if isinstance(state.get("deltaLink"), str) else None
        if link is not None:
            try:
                return await self._users_round(link, _roster(state.get("roster")))
            except DeltaExpiredError:
                log.info("connector %s: the users delta link expired; listing again", self.connector_id)
        return await self._users_round(None, {})

    async def _users_round(self, link: str | None, roster: dict[str, DirectoryUser]) -> Directory:
        users = dict(roster)
        delta_link: str | None = None
        async for page in self.client.users_delta(link):
            changed: list[DirectoryUser] = []
            for item in page.items:
                user_id = str(item.get("id") or "")
                if not user_id:
                    continue
                if "@removed" in item:
                    users.pop(user_id, None)
                    continue
                entry = directory_user(item)
                if entry is None:
                    users.pop(user_id, None)
                    self.processor.record_skipped()
                    log.info("connector %s: user %s has no email; left out", self.connector_id, user_id)
                    continue
                users[user_id] = entry
                changed.append(entry)
            if changed:
                await self.processor.on_new_app_users(
                    [app_user(u, app_name=self.app_name, connector_id=self.connector_id) for u in changed]
                )
            delta_link = page.delta_link or delta_link
        state: dict[str, Any] = {"roster": {i: u.to_state() for i, u in sorted(users.items())}}
        if delta_link:
            state["deltaLink"] = delta_link
        await self.users_point.update_sync_point(USERS_KEY, state)
        return Directory(users)

    # -- groups -----------------------------------------------------------------------------------

    async def sync_groups(self, directory: Directory) -> None:
        state = await self.groups_point.read_sync_point(GROUPS_KEY)
        known = [str(g) for g in state.get("known") or []]
        link = state.get("deltaLink") if isinstance(state.get("deltaLink"), str) else None
        if link is not None:
            try:
                await self._changed_groups(link, known, directory)
                return
            except DeltaExpiredError:
                log.info(
                    "connector %s: the groups delta link expired; listing groups again", self.connector_id
                )
        await self._all_groups(known, directory)

    async def _all_groups(self, known: list[str], directory: Directory) -> None:
        groups: dict[str, GraphObject] = {}
        slices: dict[str, list[dict[str, Any]]] = {}
        delta_link: str | None = None
        async for page in self.client.groups_delta():
            for item in page.items:
                group_id = str(item.get("id") or "")
                if not group_id or "@removed" in item:
                    continue
                slices[group_id] = merge_member_slices(slices, item)
                groups[group_id] = {**groups.get(group_id, {}), **item}
            delta_link = page.delta_link or delta_link
        entries = [
            (
                app_group(group, app_name=self.app_name, connector_id=self.connector_id),
                group_members(
                    slices[gid], directory.users, app_name=self.app_name, connector_id=self.connector_id
                ),
            )
            for gid, group in sorted(groups.items())
        ]
        for start in range(0, len(entries), GROUP_WRITE_BATCH):
            await self.processor.on_new_user_groups(entries[start : start + GROUP_WRITE_BATCH])
        for stale in sorted(set(known) - set(groups)):
            await self.processor.on_user_group_deleted(stale, self.connector_id)
        await self._save_groups(sorted(groups), delta_link)

    async def _changed_groups(self, link: str, known: list[str], directory: Directory) -> None:
        latest: dict[str, GraphObject] = {}
        delta_link: str | None = None
        async for page in self.client.groups_delta(link):
            for item in page.items:
                group_id = str(item.get("id") or "")
                if group_id:
                    latest[group_id] = item  # the last occurrence of a group in a round wins
            delta_link = page.delta_link or delta_link
        present = set(known)
        for group_id, item in sorted(latest.items()):
            if "@removed" in item:
                await self.processor.on_user_group_deleted(group_id, self.connector_id)
                present.discard(group_id)
                continue
            group = {**item, **await self._group_properties(group_id, item)}
            members = [m async for m in self.client.group_members(group_id)]
            entry = (
                app_group(group, app_name=self.app_name, connector_id=self.connector_id),
                group_members(
                    members, directory.users, app_name=self.app_name, connector_id=self.connector_id
                ),
            )
            await self.processor.on_new_user_groups([entry])
            present.add(group_id)
        await self._save_groups(sorted(present), delta_link)

    async def _group_properties(self, group_id: str, item: GraphObject) -> GraphObject:
        """A changed group's properties: a change round carries only what changed (members-only changes
        come without a name), so a group without its name is read again."""
        if item.get("displayName"):
            return {}
        return await self.client.session.get_json(
            f"/groups/{group_id}", params={"$select": "id,displayName,description,createdDateTime"}
        )

    async def _save_groups(self, known: list[str], delta_link: str | None) -> None:
        state: dict[str, Any] = {"known": known}
        if delta_link:
            state["deltaLink"] = delta_link
        await self.groups_point.update_sync_point(GROUPS_KEY, state)


def _roster(value: Any) -> dict[str, DirectoryUser]:
    if not isinstance(value, Mapping):
        return {}
    out: dict[str, DirectoryUser] = {}
    for user_id, entry in value.items():
        if isinstance(entry, list | tuple) and len(entry) == 4:
            out[str(user_id)] = DirectoryUser.from_state(str(user_id), entry)
    return out
