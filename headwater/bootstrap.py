"""Setting up an instance: the data directory, the organisation, its first users.

Used by `headwater init` and by the demo; the API will call the same functions.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from headwater.config.registry import open_config_store
from headwater.models.constants import CollectionNames
from headwater.models.entities import Organization, User
from headwater.settings import Settings
from headwater.store.registry import open_store

DEMO_ORG = "Demo Org"
DEMO_USERS = (
    ("ada@demo.headwater.test", "Ada Admin", "admin"),
    ("bob@demo.headwater.test", "Bob Member", "member"),
)


@dataclass
class InstanceSummary:
    store_url: str
    config_url: str
    organizations: list[str] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    records: int = 0
    record_groups: int = 0
    readable: dict[str, int] = field(default_factory=dict)
    config_keys: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "storeUrl": self.store_url,
            "configUrl": self.config_url,
            "organizations": self.organizations,
            "users": self.users,
            "records": self.records,
            "recordGroups": self.record_groups,
            "configKeys": self.config_keys,
            "readableRecordsByUser": self.readable,
        }


def init_instance(settings: Settings, org_name: str, users: tuple[tuple[str, str, str], ...]) -> str:
    """Create the organisation and users if they do not exist; returns the organisation id.

    Idempotent: running it again finds the organisation by name and the users by email."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.resolved_store_url)
    try:
        with store.transaction() as tx:
            org = next(
                (d for d in tx.find_nodes(CollectionNames.ORGS.value) if d.get("registeredName") == org_name),
                None,
            )
            org_id = org["_key"] if org else Organization(name=org_name).id
            if org is None:
                tx.upsert_nodes(
                    CollectionNames.ORGS.value, [Organization(id=org_id, name=org_name).to_document()]
                )
            for email, full_name, role in users:
                existing = tx.get_node_by_external_id(CollectionNames.USERS.value, "", email)
                if existing is not None:
                    continue
                user = User(email=email, full_name=full_name, org_id=org_id)
                doc = user.to_document() | {"role": role, "emailVerified": True}
                tx.upsert_nodes(CollectionNames.USERS.value, [doc])
                tx.upsert_edges(
                    CollectionNames.BELONGS_TO.value,
                    [
                        {
                            "_from": f"users/{user.id}",
                            "_to": f"organizations/{org_id}",
                            "entityType": "ORGANIZATION",
                        }
                    ],
                )
                tx.append_event(
                    "entity-events",
                    "userAdded",
                    {"userId": user.id, "orgId": org_id, "email": email, "fullName": full_name},
                    key=user.id,
                )
    finally:
        store.close()
    asyncio.run(_write_org_config(settings, org_id, org_name))
    return org_id


async def _write_org_config(settings: Settings, org_id: str, org_name: str) -> None:
    config = await open_config_store(settings)
    try:
        await config.put(f"/services/orgs/{org_id}/settings", {"name": org_name})
    finally:
        await config.close()


def summarize(settings: Settings) -> InstanceSummary:
    summary = InstanceSummary(settings.resolved_store_url, settings.resolved_config_url)
    store = open_store(settings.resolved_store_url)
    try:
        with store.read() as tx:
            summary.organizations = [
                d.get("registeredName", d["_key"]) for d in tx.find_nodes("organizations")
            ]
            summary.users = [
                {"email": d.get("email"), "name": d.get("fullName"), "role": d.get("role", "member")}
                for d in tx.find_nodes("users")
            ]
            summary.records = len(tx.find_nodes("records"))
            summary.record_groups = len(tx.find_nodes("recordGroups"))
            summary.readable = {
                d["email"]: len(tx.readable_record_keys(d["_key"])) for d in tx.find_nodes("users")
            }
    finally:
        store.close()
    summary.config_keys = asyncio.run(_config_keys(settings))
    return summary


async def _config_keys(settings: Settings) -> list[str]:
    config = await open_config_store(settings)
    try:
        return await config.list_keys("/")
    finally:
        await config.close()
