"""Who may see and change which connector instance (the rules every API route and web page applies).

    * a team instance belongs to its organisation: every member of that organisation sees it (its
      name, type, state, progress and run counts); only the organisation's admins change it, sync
      it, see its config (secrets masked) and its per-item failures (whose names may be those of
      items the member cannot read);
    * a personal instance belongs to its creator alone: nobody else sees it, admins included;
    * nothing of another organisation is visible: it is "not found", never "forbidden", so that an
      id does not reveal that an instance exists.

The rules take an `Actor` (who is asking): the API's `Caller` is one, and so is anything with a
user key, an organisation key and an admin flag.
"""

from __future__ import annotations

from typing import Any, Protocol

from headwater.connectors.core.definitions import ConnectorScope
from headwater.connectors.core.instances import list_instances
from headwater.store.base import GraphStore

from .errors import ForbiddenError, InstanceNotFoundError


class Actor(Protocol):
    """Who is asking (the API's `Caller` fits)."""

    @property
    def user_key(self) -> str: ...

    @property
    def org_key(self) -> str: ...

    @property
    def is_admin(self) -> bool: ...


def is_personal(doc: dict[str, Any]) -> bool:
    return str(doc.get("scope") or ConnectorScope.PERSONAL.value) != ConnectorScope.TEAM.value


def may_see(actor: Actor, doc: dict[str, Any]) -> bool:
    """Whether `actor` may know that the instance exists."""
    if str(doc.get("orgId") or "") != actor.org_key:
        return False
    if is_personal(doc):
        return str(doc.get("createdBy") or "") == actor.user_key
    return True


def may_manage(actor: Actor, doc: dict[str, Any]) -> bool:
    """Whether `actor` may change, sync, authorise or delete the instance and read its config."""
    if not may_see(actor, doc):
        return False
    return is_personal(doc) or actor.is_admin  # a personal one is seen by its owner only


def check_may_create(actor: Actor, scope: str) -> None:
    """ForbiddenError unless `actor` may create an instance of `scope`."""
    if scope == ConnectorScope.TEAM.value and not actor.is_admin:
        raise ForbiddenError(
            "only an admin can add a team connector; add a personal one (scope: personal) for your account"
        )


def visible_instances(store: GraphStore, actor: Actor) -> list[dict[str, Any]]:
    """The instances `actor` may see, by name (case-insensitive)."""
    docs = [d for d in list_instances(store, org_id=actor.org_key) if may_see(actor, d)]
    return sorted(docs, key=lambda d: (str(d.get("name") or "").lower(), str(d["_key"])))


def visible_instance(store: GraphStore, actor: Actor, connector_id: str) -> dict[str, Any]:
    """The instance, if `actor` may see it; InstanceNotFoundError otherwise (also for another
    organisation's or another user's personal instance)."""
    with store.read() as tx:
        doc = tx.get_node("apps", connector_id)
    if doc is None or doc.get("type") is None or not may_see(actor, doc):
        raise InstanceNotFoundError(f"no connector instance {connector_id!r} in your organisation")
    return doc


def managed_instance(store: GraphStore, actor: Actor, connector_id: str) -> dict[str, Any]:
    """The instance, if `actor` may change it; InstanceNotFoundError when they may not even see
    it, ForbiddenError when they see it read-only (a member and a team instance)."""
    doc = visible_instance(store, actor, connector_id)
    if not may_manage(actor, doc):
        raise ForbiddenError(
            f"only an admin can change the team connector {doc.get('name')!r}; members see its state only"
        )
    return doc
