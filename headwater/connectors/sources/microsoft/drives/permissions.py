"""Graph permissions of a driveItem (or a site) -> the SDK's grants. Pure functions.

What becomes a grant, and to whom:

* `grantedToV2.user` -> USER by email (the identity's own `email`, else the directory's email for
  its id); `grantedToV2.group` -> GROUP by the Entra object id, the same id the directory sync
  writes its groups under, so membership reaches the grant; `siteUser` -> USER when its login
  name carries an address ("i:0#.f|membership|ada@contoso.com").
* Sharing links, only as wide as the link says: scope `organization` -> ORG (everyone in the
  organisation), `anonymous` -> ANYONE (nothing narrower describes "whoever has the link"),
  `users` -> each person or group the link was granted to (`grantedToIdentitiesV2`), with the
  link's role. `existingAccess` links add nobody. Expired links add nobody.
* Roles: owner (and SharePoint's full control) -> OWNER, write -> WRITER, anything else -> READER.

Left out, so fail closed: SharePoint groups (`siteGroup`: their members are not in Entra ID; site
access reaches documents through the site's record group instead), applications, devices, and
identities we cannot turn into an email or a group id. A permission we cannot read is skipped, never
widened."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from headwater.connectors.sources.microsoft.common.timestamps import graph_ms
from headwater.models.permission import EntityType, Permission, PermissionType

EmailOf = Callable[[str], str | None]
NO_EXPIRY_BEFORE_MS = 0  # Graph writes "0001-01-01T00:00:00Z" for "never expires"


def role_of(roles: Iterable[str], link: Mapping[str, Any] | None = None) -> PermissionType:
    names = {str(r).lower() for r in roles}
    if "owner" in names or any("full control" in n for n in names):
        return PermissionType.OWNER
    if names & {"write", "edit", "contribute"} or (link or {}).get("type") == "edit":
        return PermissionType.WRITER
    return PermissionType.READER


def login_email(login_name: str | None) -> str | None:
    """The address in a SharePoint claims login name ("i:0#.f|membership|ada@contoso.com")."""
    if not login_name:
        return None
    tail = login_name.rsplit("|", 1)[-1].strip().lower()
    return tail if "@" in tail and " " not in tail else None


def identity_grant(identity: Mapping[str, Any], role: PermissionType, email_of: EmailOf) -> Permission | None:
    """One entry of a sharePointIdentitySet as a grant; None when it names nobody we can record."""
    user = identity.get("user")
    if isinstance(user, Mapping):
        email = user.get("email") or email_of(str(user.get("id") or ""))
        if isinstance(email, str) and "@" in email:
            return Permission(email=email.strip().lower(), type=role, entity_type=EntityType.USER)
        return None
    group = identity.get("group")
    if isinstance(group, Mapping) and group.get("id"):
        return Permission(external_id=str(group["id"]), type=role, entity_type=EntityType.GROUP)
    site_user = identity.get("siteUser")
    if isinstance(site_user, Mapping):
        email = login_email(site_user.get("loginName")) or site_user.get("email")
        if isinstance(email, str) and "@" in email:
            return Permission(email=email.strip().lower(), type=role, entity_type=EntityType.USER)
    return None


def permission_grants(permission: Mapping[str, Any], email_of: EmailOf, *, now_ms: int) -> list[Permission]:
    """The grants one Graph permission gives (often one, several for a link shared with several)."""
    link = permission.get("link") if isinstance(permission.get("link"), Mapping) else None
    role = role_of(permission.get("roles") or [], link)
    if link is not None:
        expires = graph_ms(permission.get("expirationDateTime"))
        if expires is not None and NO_EXPIRY_BEFORE_MS < expires <= now_ms:
            return []
        scope = str(link.get("scope") or "")
        if scope == "organization":
            return [Permission(type=role, entity_type=EntityType.ORG)]
        if scope == "anonymous":
            return [Permission(type=role, entity_type=EntityType.ANYONE)]
        if scope != "users":
            return []
        recipients = permission.get("grantedToIdentitiesV2") or []
        found = [identity_grant(r, role, email_of) for r in recipients if isinstance(r, Mapping)]
        return [g for g in found if g is not None]
    granted = permission.get("grantedToV2")
    if isinstance(granted, Mapping):
        grant = identity_grant(granted, role, email_of)
        if grant is not None:
            return [grant]
    invitation = permission.get("invitation")
    if isinstance(invitation, Mapping) and isinstance(invitation.get("email"), str):
        return [Permission(email=invitation["email"].strip().lower(), type=role, entity_type=EntityType.USER)]
    return []


def item_grants(
    permissions: Iterable[Mapping[str, Any]],
    email_of: EmailOf,
    *,
    now_ms: int,
    inherited_ids: Collection[str] = (),
) -> list[Permission]:
    """Every grant of an item's permissions, in a stable order, one per principal (the highest role).

    Args:
        inherited_ids: permission ids that reach the item through its record group (a site's grants
            on a library's items) and are left to that inheritance.
    """
    best: dict[tuple[str, str], Permission] = {}
    rank = {PermissionType.READER: 1, PermissionType.WRITER: 2, PermissionType.OWNER: 3}
    for permission in permissions:
        if str(permission.get("id") or "") in inherited_ids:
            continue
        for grant in permission_grants(permission, email_of, now_ms=now_ms):
            who = (grant.entity_type.value, grant.email or grant.external_id or "")
            current = best.get(who)
            if current is None or rank.get(grant.type, 0) > rank.get(current.type, 0):
                best[who] = grant
    return [best[k] for k in sorted(best)]
