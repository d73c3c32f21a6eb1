"""Who may read what: the processor's writes of principals and grants.

Grants (`permissions` edges, principal -> record | record group) are replaced by what the source
reports now; a grant to an unknown email lands on an inactive `users` node for that email, a grant
to an unknown group or role on a placeholder node with that identity. Users, groups and roles of a
source, their memberships (`belongsTo`), and record groups with their parents and inheritance are
written here too. A mixin of `DataSourceEntitiesProcessor` (see its module docstring).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from headwater.connectors.core.graph_writes import (
    BELONGS_TO,
    GROUPS,
    INHERIT,
    PERMISSIONS,
    RECORD_GROUPS,
    ROLE_RANK,
    ROLES,
    USER_APP,
    USERS,
    _email_of,
    _outbound,
    _reconcile,
    _to_collection,
    _upsert_identity_nodes,
    _write_edge_diff,
)
from headwater.models.constants import (
    Connectors,
)
from headwater.models.documents import plain
from headwater.models.entities import (
    AppUser,
    AppUserGroup,
    RecordGroup,
)
from headwater.models.permission import EntityType, Permission
from headwater.models.timeutil import now_ms
from headwater.store.base import Transaction


class PrincipalsMixin:
    """The identity-and-grant half of the processor."""

    connector_id: str
    connector_name: Connectors | str | None
    org_id: str
    logger: logging.Logger

    # ---- permissions -----------------------------------------------------------------------------

    def _replace_permissions(
        self,
        tx: Transaction,
        grants: Sequence[tuple[str, list[Permission]]],
        *,
        quiet: Collection[str] = (),
    ) -> None:
        """Make the inbound `permissions` edges of each target exactly the grants given. Targets whose
        grants changed are announced (`updatePermissions`), except those in `quiet`."""
        if not grants:
            return
        desired_by_target = self._permission_edges(tx, grants)
        desired = [e for edges in desired_by_target.values() for e in edges]
        existing = tx.get_edges(PERMISSIONS, to_ids=list(desired_by_target))
        _reconcile(tx, PERMISSIONS, desired, existing, quiet=quiet)

    def _permission_edges(
        self, tx: Transaction, grants: Sequence[tuple[str, list[Permission]]]
    ) -> dict[str, list[dict[str, Any]]]:
        """target node id -> the `permissions` edges for its grants, one per principal (highest role).
        Principals are resolved in one lookup per kind; unknown ones get identity / placeholder nodes."""
        emails: list[str] = []
        groups: dict[str, list[str]] = {GROUPS: [], ROLES: []}
        for _, permissions in grants:
            for p in permissions:
                if p.entity_type == EntityType.USER:
                    email = _email_of(p)
                    if email:
                        emails.append(email)
                elif p.entity_type in (EntityType.GROUP, EntityType.TEAM, EntityType.ROLE):
                    ext = p.external_id or p.email
                    if ext:
                        groups[ROLES if p.entity_type == EntityType.ROLE else GROUPS].append(ext)
        users = self._users_by_email(tx, emails) if emails else {}
        principal_keys = {
            coll: self._principal_nodes(tx, coll, self.connector_id, exts) if exts else {}
            for coll, exts in groups.items()
        }

        result: dict[str, list[dict[str, Any]]] = {}
        for target, permissions in grants:
            best: dict[str, dict[str, Any]] = {}
            for p in permissions:
                principal = self._principal_id(p, users, principal_keys)
                if principal is None:
                    self.logger.warning(
                        "a %s grant on %s names no principal we can record; it is not stored",
                        p.entity_type,
                        target,
                    )
                    continue
                edge = {"_from": principal, "_to": target, "role": p.type.value, "type": p.entity_type.value}
                current = best.get(principal)
                if current is None or ROLE_RANK.get(edge["role"], 0) > ROLE_RANK.get(current["role"], 0):
                    best[principal] = edge
            result[target] = list(best.values())
        return result

    def _principal_id(
        self, p: Permission, users: dict[str, str], principal_keys: dict[str, dict[str, str]]
    ) -> str | None:
        kind = p.entity_type
        if kind == EntityType.USER:
            email = _email_of(p)
            return f"{USERS}/{users[email]}" if email else None
        if kind in (EntityType.GROUP, EntityType.TEAM, EntityType.ROLE):
            coll = ROLES if kind == EntityType.ROLE else GROUPS
            ext = p.external_id or p.email
            return f"{coll}/{principal_keys[coll][ext]}" if ext else None
        if kind == EntityType.ORG:
            return f"organizations/{self.org_id}" if self.org_id else None
        if kind == EntityType.DOMAIN:
            domain = (p.external_id or p.email or "").strip().lower()
            domain = domain.rsplit("@", 1)[-1]
            return f"domains/{domain}" if domain else None
        if kind == EntityType.ANYONE:
            return f"anyone/{self.org_id}" if self.org_id else None
        if kind == EntityType.ANYONE_WITH_LINK:
            return f"anyoneWithLink/{self.org_id}" if self.org_id else None
        return None

    def _users_by_email(
        self, tx: Transaction, emails: Iterable[str], app_users: Sequence[AppUser] = ()
    ) -> dict[str, str]:
        """lower-cased email -> users key; an unknown email gets an inactive user node (an identity
        that a person who joins with that email takes over)."""
        wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()))
        found = tx.get_nodes_by_external_ids(USERS, "", wanted)
        keys = {email: str(doc["_key"]) for email, doc in found.items()}
        by_email = {u.email.strip().lower(): u for u in app_users}
        now = now_ms()
        new_docs: list[dict[str, Any]] = []
        for email in wanted:
            if email in keys:
                continue
            app_user = by_email.get(email)
            doc: dict[str, Any] = {
                "_key": str(uuid.uuid4()),
                "email": email,
                "orgId": self.org_id,
                "isActive": False,
                # nothing proves the person controls this mailbox yet: no domain-wide grants until then
                "emailVerified": False,
                "createdAtTimestamp": now,
                "updatedAtTimestamp": now,
            }
            if app_user is not None:
                doc["userId"] = app_user.source_user_id
                doc["fullName"] = app_user.full_name
            new_docs.append(doc)
            keys[email] = doc["_key"]
        if new_docs:
            tx.upsert_nodes(USERS, new_docs)
        return keys

    def _principal_nodes(
        self, tx: Transaction, collection: str, connector_id: str, external_ids: Sequence[str]
    ) -> dict[str, str]:
        """external id -> key of the group / role of this connector; an unknown one gets a placeholder
        node with that identity, which the real group takes over when it syncs."""
        wanted = list(dict.fromkeys(external_ids))
        found = tx.get_nodes_by_external_ids(collection, connector_id, wanted)
        keys = {ext: str(doc["_key"]) for ext, doc in found.items()}
        ext_field = "externalRoleId" if collection == ROLES else "externalGroupId"
        now = now_ms()
        stubs = []
        for ext in wanted:
            if ext not in keys:
                keys[ext] = str(uuid.uuid4())
                stubs.append(
                    {
                        "_key": keys[ext],
                        "orgId": self.org_id,
                        "connectorId": connector_id,
                        "connectorName": plain(self.connector_name) if self.connector_name else None,
                        ext_field: ext,
                        "name": ext,
                        "isPlaceholder": True,
                        "createdAtTimestamp": now,
                        "updatedAtTimestamp": now,
                    }
                )
        if stubs:
            tx.upsert_nodes(collection, stubs)
        return keys

    # ---- groups, roles, users, record groups -----------------------------------------------------

    def _apply_app_users(self, tx: Transaction, users: list[AppUser]) -> None:
        for u in users:
            u.org_id = u.org_id or self.org_id
            u.connector_id = u.connector_id or self.connector_id
        keys = self._users_by_email(tx, [u.email for u in users], users)
        org = f"organizations/{self.org_id}"
        member_of: list[dict[str, Any]] = []
        app_edges: list[dict[str, Any]] = []
        for u in users:
            key = keys.get(u.email.strip().lower())
            if key is None:
                continue
            u.id = key
            if self.org_id:
                member_of.append({"_from": f"{USERS}/{key}", "_to": org, "entityType": "ORGANIZATION"})
            if u.connector_id:
                app_edges.append(
                    {
                        "_from": f"{USERS}/{key}",
                        "_to": f"apps/{u.connector_id}",
                        "sourceUserId": u.source_user_id,
                        "syncState": "NOT_STARTED",
                    }
                )
        sources = [e["_from"] for e in member_of]
        _write_edge_diff(
            tx,
            BELONGS_TO,
            member_of,
            _outbound(tx, BELONGS_TO, sources, _to_collection("organizations")),
            delete_missing=False,
        )
        existing_app = tx.get_edges(USER_APP, from_ids=[e["_from"] for e in app_edges]) if app_edges else []
        present = {(e["_from"], e["_to"]) for e in existing_app}
        missing = [e for e in app_edges if (e["_from"], e["_to"]) not in present]
        if missing:
            now = now_ms()
            tx.upsert_edges(
                USER_APP,
                [
                    {**e, "lastSyncUpdate": now, "createdAtTimestamp": now, "updatedAtTimestamp": now}
                    for e in missing
                ],
            )

    def _apply_principal_groups(
        self, tx: Transaction, collection: str, entries: list[tuple[Any, Sequence[Any]]]
    ) -> None:
        """Upsert groups or roles and replace the membership of each (`belongsTo` member -> group)."""
        ext_field = "externalRoleId" if collection == ROLES else "externalGroupId"
        docs: list[dict[str, Any]] = []
        for entity, _ in entries:
            entity.org_id = entity.org_id or self.org_id
            entity.connector_id = entity.connector_id or self.connector_id
            docs.append(entity.to_document())
        keys = _upsert_identity_nodes(tx, collection, ext_field, docs)
        for (entity, _), doc in zip(entries, docs, strict=True):
            entity.id = keys[(doc["connectorId"], doc[ext_field])]

        users = [m for _, members in entries for m in members if isinstance(m, AppUser)]
        user_keys = self._users_by_email(tx, [u.email for u in users], users) if users else {}
        nested: dict[str, list[str]] = {}
        for _, members in entries:
            for m in members:
                if isinstance(m, AppUserGroup):
                    nested.setdefault(m.connector_id or self.connector_id, []).append(m.source_user_group_id)
        nested_keys = {c: self._principal_nodes(tx, GROUPS, c, exts) for c, exts in nested.items()}

        desired: list[dict[str, Any]] = []
        targets: list[str] = []
        for entity, members in entries:
            target = f"{collection}/{entity.id}"
            targets.append(target)
            for m in members:
                if isinstance(m, AppUser):
                    desired.append({"_from": f"{USERS}/{user_keys[m.email.strip().lower()]}", "_to": target})
                elif isinstance(m, AppUserGroup):
                    key = nested_keys[m.connector_id or self.connector_id][m.source_user_group_id]
                    desired.append({"_from": f"{GROUPS}/{key}", "_to": target})
        existing = [
            e for e in tx.get_edges(BELONGS_TO, to_ids=targets)
            if e["_from"].startswith((f"{USERS}/", f"{GROUPS}/"))
        ]  # fmt: skip
        _reconcile(tx, BELONGS_TO, desired, existing)

    def _apply_record_groups(
        self, tx: Transaction, entries: list[tuple[RecordGroup, list[Permission]]]
    ) -> None:
        for group, _ in entries:
            group.org_id = group.org_id or self.org_id
            group.connector_id = group.connector_id or self.connector_id
            if self.connector_name is not None and group.connector_name == Connectors.UNKNOWN:
                group.connector_name = self.connector_name
        docs = [g.to_document() for g, _ in entries]
        keys = _upsert_identity_nodes(tx, RECORD_GROUPS, "externalGroupId", docs)
        for (group, _), doc in zip(entries, docs, strict=True):
            group.id = keys[(doc["connectorId"], doc["externalGroupId"])]

        # parents: in this batch, in the store, or a placeholder
        parent_exts: dict[str, set[str]] = {}
        for g, _ in entries:
            if g.parent_external_group_id and (g.connector_id, g.parent_external_group_id) not in keys:
                parent_exts.setdefault(g.connector_id, set()).add(g.parent_external_group_id)
        for connector_id, exts in parent_exts.items():
            found = tx.get_nodes_by_external_ids(RECORD_GROUPS, connector_id, sorted(exts))
            stubs = []
            for ext in sorted(exts):
                if ext in found:
                    keys[(connector_id, ext)] = str(found[ext]["_key"])
                    continue
                stub = RecordGroup(
                    name=ext, external_group_id=ext, connector_id=connector_id, org_id=self.org_id
                )
                if self.connector_name is not None:
                    stub.connector_name = self.connector_name
                stubs.append({**stub.to_document(), "isPlaceholder": True})
                keys[(connector_id, ext)] = stub.id
            if stubs:
                tx.upsert_nodes(RECORD_GROUPS, stubs)

        belongs: list[dict[str, Any]] = []
        inherit: list[dict[str, Any]] = []
        sources: list[str] = []
        for g, _ in entries:
            me = f"{RECORD_GROUPS}/{g.id}"
            sources.append(me)
            if g.org_id:
                belongs.append(
                    {"_from": me, "_to": f"organizations/{g.org_id}", "entityType": "ORGANIZATION"}
                )
            parent_key = (
                keys[(g.connector_id, g.parent_external_group_id)]
                if g.parent_external_group_id
                else g.parent_record_group_id
            )
            if parent_key:
                belongs.append({"_from": me, "_to": f"{RECORD_GROUPS}/{parent_key}"})
                if g.inherit_permissions:
                    inherit.append({"_from": me, "_to": f"{RECORD_GROUPS}/{parent_key}"})
            elif g.connector_id:
                belongs.append({"_from": me, "_to": f"apps/{g.connector_id}"})
        _reconcile(tx, BELONGS_TO, belongs, tx.get_edges(BELONGS_TO, from_ids=sources))
        _reconcile(tx, INHERIT, inherit, _outbound(tx, INHERIT, sources, _to_collection(RECORD_GROUPS)))
        self._replace_permissions(tx, [(f"{RECORD_GROUPS}/{g.id}", list(p or [])) for g, p in entries])
