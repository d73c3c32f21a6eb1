"""Keeping a connector instance's Graph subscriptions in line with the scopes it syncs.

A Microsoft connector says which scopes it wants notifications for (`NotifiableConnector.
subscription_scopes()`: scope id, Graph resource, changeType — drives: "/drives/{id}/root", "updated";
mail folders: "/users/{u}/mailFolders/{f}/messages", "created,updated,deleted"). `reconcile` then:
  * creates a subscription for a scope that has none, with a fresh random clientState (Graph first
    checks the notification URL with the validationToken handshake);
  * renews one that has less than half its lifetime left (`renewal_due`), or creates it again when
    Graph no longer knows it;
  * deletes those of scopes no longer wanted.
A subscription that cannot be created or renewed is logged (without the clientState) and counted;
the scope is then kept current by the scheduled sync, which polls every folder and drive anyway.
`remove_all` deletes every subscription of an instance (when it is disabled or deleted). Without a
notification URL (never set, or cleared since) nothing is wanted: `reconcile` deletes what is left.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from headwater.clients.microsoft import GraphClient, GraphError, NotFoundError, ThrottledError
from headwater.clients.microsoft.notifications import renewal_due, subscription_expiration
from headwater.connectors.sources.microsoft.notifications.registry import (
    ConfigLike,
    Subscription,
    SubscriptionRegistry,
)

log = logging.getLogger(__name__)

Scope = tuple[str, str, str]  # (scope id, Graph resource, changeType)


class NotifiableConnector(Protocol):
    """What a Microsoft connector offers the manager."""

    async def subscription_scopes(self) -> list[Scope]: ...


@dataclass
class ReconcileReport:
    created: list[str] = field(default_factory=list)  # scope ids
    renewed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # scope id -> why (then: polling only)


def new_client_state() -> str:
    """A clientState: 256 random bits (Graph allows up to 128 characters)."""
    return secrets.token_urlsafe(32)


class SubscriptionManager:
    """Subscriptions of one tenant's connector instances, reached through `client`."""

    def __init__(
        self,
        client: GraphClient,
        config: ConfigLike,
        notification_url: str | None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        logger: logging.Logger | None = None,
    ) -> None:
        if notification_url is not None and not notification_url.startswith("https://"):
            raise ValueError("Graph delivers change notifications to https URLs only")
        self.client = client
        self.registry = SubscriptionRegistry(config)
        self.notification_url = notification_url
        self.now = now
        self.logger = logger or log

    async def reconcile(self, connector_id: str, org_id: str, wanted: Sequence[Scope]) -> ReconcileReport:
        report = ReconcileReport()
        existing = {s.scope: s for s in await self.registry.of_connector(connector_id)}
        if self.notification_url is None:
            wanted = []
        wanted_by_scope = {scope: (resource, change) for scope, resource, change in wanted}
        for scope, stale in sorted(existing.items()):
            if scope not in wanted_by_scope or stale.resource != wanted_by_scope[scope][0]:
                await self._delete(stale)
                report.deleted.append(scope)
                existing.pop(scope)
        for scope, (resource, change) in sorted(wanted_by_scope.items()):
            current = existing.get(scope)
            try:
                if current is None:
                    await self._create(connector_id, org_id, scope, resource, change)
                    report.created.append(scope)
                elif renewal_due(resource, current.expires_at, self.now()):
                    if await self._renew(current):
                        report.renewed.append(scope)
                    else:
                        await self._create(connector_id, org_id, scope, resource, change)
                        report.created.append(scope)
            except ThrottledError:
                raise  # the whole tenant is paused: the sync engine resumes later
            except GraphError as exc:
                report.failed[scope] = str(exc)
                self.logger.warning(
                    "connector %s: no change notifications for %s (%s); the scheduled sync polls it",
                    connector_id,
                    scope,
                    exc,
                )
        return report

    async def remove_all(self, connector_id: str) -> list[str]:
        """Delete every subscription of the instance; returns their scopes."""
        removed = []
        for subscription in await self.registry.of_connector(connector_id):
            await self._delete(subscription)
            removed.append(subscription.scope)
        return sorted(removed)

    async def _create(self, connector_id: str, org_id: str, scope: str, resource: str, change: str) -> None:
        assert self.notification_url is not None  # reconcile wants nothing without one
        client_state = new_client_state()
        expiration = subscription_expiration(resource, self.now())
        created = await self.client.create_subscription(
            resource, change, self.notification_url, client_state, expiration
        )
        await self.registry.put(
            Subscription(
                id=str(created["id"]),
                connector_id=connector_id,
                org_id=org_id,
                scope=scope,
                resource=resource,
                change_type=change,
                expiration=str(created.get("expirationDateTime") or expiration.isoformat()),
                client_state=client_state,
            )
        )

    async def _renew(self, current: Subscription) -> bool:
        """Move the expiry; False when Graph no longer has the subscription (it must be created again)."""
        try:
            renewed = await self.client.renew_subscription(
                current.id, subscription_expiration(current.resource, self.now())
            )
        except NotFoundError:
            await self.registry.remove(current)
            return False
        expiration = str(renewed.get("expirationDateTime") or current.expiration)
        await self.registry.put(
            Subscription(
                **{**_fields(current), "expiration": expiration, "client_state": current.client_state}
            )
        )
        return True

    async def _delete(self, subscription: Subscription) -> None:
        try:
            await self.client.delete_subscription(subscription.id)
        except GraphError as exc:  # it expires by itself; our record of it goes either way
            self.logger.info("subscription for %s not deleted in Graph: %s", subscription.scope, exc)
        await self.registry.remove(subscription)


def _fields(subscription: Subscription) -> dict[str, str]:
    return {name: getattr(subscription, name) for name in Subscription.__dataclass_fields__}
