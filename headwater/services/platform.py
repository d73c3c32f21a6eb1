"""Opening an initialised instance, and finding what a user names in it: connector instances by
name, platform users by email, the organisation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from headwater.config.base import ConfigStore
from headwater.config.registry import open_config_store
from headwater.connectors.core.definitions import CONNECTOR_CONFIG_PATH
from headwater.connectors.core.instances import list_instances
from headwater.errors import NotFoundError
from headwater.settings import Settings
from headwater.store.base import GraphStore, Transaction
from headwater.store.registry import open_store

from .errors import InstanceNotFoundError, NotInitialisedError


@dataclass
class Platform:
    """The open stores of one instance. The config store is None when a caller did not need it."""

    settings: Settings
    store: GraphStore
    config: ConfigStore | None = None

    @property
    def config_store(self) -> ConfigStore:
        assert self.config is not None, "opened without the config store"
        return self.config


def config_key(connector_id: str) -> str:
    """Where an instance's config document lives in the config store."""
    return CONNECTOR_CONFIG_PATH.format(connector_id=connector_id)


def require_data_dir(settings: Settings) -> None:
    """NotInitialisedError unless an embedded store file exists (server stores always "exist")."""
    if settings.store_url is not None:
        return
    db = settings.data_dir / "headwater.db"
    if not db.exists():
        raise NotInitialisedError(
            f"no Headwater instance in {settings.data_dir.resolve()} (no headwater.db) — run "
            f"`headwater init --data-dir {settings.data_dir}` first, or pass the right --data-dir"
        )


def open_store_only(settings: Settings) -> GraphStore:
    """The graph store of an initialised instance (the caller closes it)."""
    require_data_dir(settings)
    return open_store(settings.resolved_store_url)


@asynccontextmanager
async def open_platform(settings: Settings, *, with_config: bool = True) -> AsyncIterator[Platform]:
    """The graph store (and config store) of an initialised instance, closed on exit."""
    store = open_store_only(settings)
    config: ConfigStore | None = None
    try:
        if with_config:
            config = await open_config_store(settings)
        yield Platform(settings, store, config)
    finally:
        try:
            if config is not None:
                await config.close()
        finally:
            store.close()


def organisation(tx: Transaction) -> dict[str, Any]:
    """The instance's organisation (the first one); NotInitialisedError when there is none."""
    orgs = tx.find_nodes("organizations", limit=1)
    if not orgs:
        raise NotInitialisedError("no organisation yet — run `headwater init` first")
    return orgs[0]


def find_instance(store: GraphStore, name_or_id: str) -> dict[str, Any]:
    """The connector instance named `name_or_id` (case-insensitive), else the one with that id.
    InstanceNotFoundError lists the names there are."""
    instances = list_instances(store)
    wanted = name_or_id.strip().lower()
    for doc in instances:
        if str(doc.get("name", "")).lower() == wanted:
            return doc
    for doc in instances:
        if doc["_key"] == name_or_id:
            return doc
    names = ", ".join(sorted(str(d.get("name")) for d in instances)) or "none yet"
    raise InstanceNotFoundError(
        f"no connector instance named {name_or_id!r} (instances: {names}) — add one with "
        "`headwater connectors add TYPE --name NAME`"
    )


def find_user(tx: Transaction, email: str) -> dict[str, Any]:
    """The platform user with this email; NotFoundError lists the users there are."""
    user = tx.get_node_by_external_id("users", "", email)
    if user is not None:
        return user
    known = sorted(str(d.get("email")) for d in tx.find_nodes("users") if d.get("isActive", True))
    shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
    raise NotFoundError(f"no user with email {email!r} (users: {shown or 'none'}) — check the address")


def default_creator(tx: Transaction) -> dict[str, Any]:
    """Who creates connector instances from the command line when no --owner is given: the first
    admin, else the first active user."""
    users = [d for d in tx.find_nodes("users") if d.get("isActive", True) and d.get("email")]
    users.sort(key=lambda d: (d.get("role") != "admin", int(d.get("createdAtTimestamp") or 0), d["_key"]))
    if not users:
        raise NotInitialisedError("no users yet — run `headwater init --admin-email YOU@EXAMPLE.COM` first")
    return users[0]
