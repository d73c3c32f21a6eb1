"""Where subscriptions are remembered: the config store, whose values are encrypted at rest.

    /services/webhooks/microsoft/subscriptions/{subscription id}  -> Subscription (with its clientState)
    /services/webhooks/microsoft/connectors/{connector id}        -> {"subscriptions": [ids]}

The receiver finds a notification's subscription by its id (one read), the manager an instance's
subscriptions through the per-instance index. The clientState is a random secret per subscription: it
never leaves the config store except in the request that creates the subscription, and `repr` hides it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

PREFIX = "/services/webhooks/microsoft"


class ConfigLike(Protocol):
    """What is needed of a config service or config store (both have these)."""

    async def get_config(self, key: str, default: dict[str, Any] | None = None) -> dict[str, Any] | None: ...

    async def set_config(self, key: str, value: dict[str, Any]) -> None: ...

    async def delete_config(self, key: str) -> bool: ...


@dataclass(frozen=True)
class Subscription:
    """One Graph subscription of one connector instance, for one scope (a drive, a mail folder)."""

    id: str
    connector_id: str
    org_id: str
    scope: str
    resource: str
    change_type: str
    expiration: str  # ISO 8601, UTC
    client_state: str = field(repr=False)

    @property
    def expires_at(self) -> datetime:
        return datetime.fromisoformat(self.expiration.replace("Z", "+00:00"))

    @classmethod
    def from_stored(cls, value: dict[str, Any]) -> Subscription:
        return cls(**{name: str(value[name]) for name in cls.__dataclass_fields__})


def subscription_key(subscription_id: str) -> str:
    return f"{PREFIX}/subscriptions/{subscription_id}"


def connector_key(connector_id: str) -> str:
    return f"{PREFIX}/connectors/{connector_id}"


class SubscriptionRegistry:
    def __init__(self, config: ConfigLike) -> None:
        self.config = config

    async def get(self, subscription_id: str) -> Subscription | None:
        if not subscription_id or "/" in subscription_id:
            return None
        value = await self.config.get_config(subscription_key(subscription_id))
        try:
            return Subscription.from_stored(value) if isinstance(value, dict) else None
        except (KeyError, TypeError):
            return None

    async def of_connector(self, connector_id: str) -> list[Subscription]:
        index = await self.config.get_config(connector_key(connector_id)) or {}
        found = [await self.get(str(i)) for i in index.get("subscriptions") or []]
        return [s for s in found if s is not None]

    async def put(self, subscription: Subscription) -> None:
        await self.config.set_config(subscription_key(subscription.id), asdict(subscription))
        await self._index(subscription.connector_id, add=subscription.id)

    async def remove(self, subscription: Subscription) -> None:
        await self.config.delete_config(subscription_key(subscription.id))
        await self._index(subscription.connector_id, drop=subscription.id)

    async def _index(self, connector_id: str, *, add: str | None = None, drop: str | None = None) -> None:
        index = await self.config.get_config(connector_key(connector_id)) or {}
        ids = [str(i) for i in index.get("subscriptions") or [] if str(i) != drop]
        if add is not None and add not in ids:
            ids.append(add)
        if ids:
            await self.config.set_config(connector_key(connector_id), {"subscriptions": ids})
        else:
            await self.config.delete_config(connector_key(connector_id))
