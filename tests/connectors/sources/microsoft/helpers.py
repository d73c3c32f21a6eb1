"""A fake Microsoft 365 tenant wired to the connectors: endpoints, configs, and readers of the graph.

The fake (`headwater.testing.fake_graph`) is reached in process through an ASGI transport at https
URLs (msal accepts only https authorities); the rate budget runs on a virtual clock, so Retry-After
is waited out without sleeping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from headwater.clients.microsoft import RateBudget, RetryPolicy
from headwater.connectors import testing
from headwater.connectors.sources.microsoft.common import GraphEndpoint
from headwater.store.base import GraphStore
from headwater.testing.fake_graph import FakeGraph
from tests.clients.microsoft.mini_graph import FakeClock

T = TypeVar("T")
GRAPH = "https://graph.fake.test/v1.0"
LOGIN = "https://login.fake.test"
LOG = logging.getLogger("test.microsoft")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def endpoint(fake: FakeGraph, clock: FakeClock | None = None) -> GraphEndpoint:
    """Where a connector finds `fake`, with a tenant budget on a virtual clock."""
    clock = clock or FakeClock()
    return GraphEndpoint(
        base_url=GRAPH,
        authority_base=LOGIN,
        transport=fake.transport(),
        budget=RateBudget(clock=clock, sleep=clock.sleep),
        retry=RetryPolicy(max_attempts=8, base_delay_s=0.5),
    )


def auth_config(fake: FakeGraph, *, secret: str | None = None) -> dict[str, Any]:
    return {
        "auth": {
            "authType": "OAUTH_ADMIN_CONSENT",
            "tenantId": fake.tenant.tenant_id,
            "clientId": fake.client_id,
            "clientSecret": secret if secret is not None else fake.client_secret,
        }
    }


def config_service(
    connector_id: str, fake: FakeGraph, *, secret: str | None = None, sync: dict[str, Any] | None = None
) -> testing.DictConfigService:
    config = auth_config(fake, secret=secret)
    if sync:
        config["sync"] = dict(sync)
    return testing.DictConfigService({f"/services/connectors/{connector_id}/config": config})


def group_members(store: GraphStore, connector_id: str, group_id: str) -> list[str]:
    """The direct members of a synced group: users by email, nested groups as `group:<name>`."""
    with store.read() as tx:
        group = tx.get_node_by_external_id("groups", connector_id, group_id)
        if group is None:
            return []
        out = []
        for edge in tx.get_edges("belongsTo", to_ids=[f"groups/{group['_key']}"]):
            collection, key = edge["_from"].split("/", 1)
            doc = tx.get_node(collection, key) or {}
            out.append(str(doc["email"]) if collection == "users" else f"group:{doc.get('name')}")
    return sorted(out)


def group_names(store: GraphStore, connector_id: str) -> list[str]:
    with store.read() as tx:
        return sorted(
            str(d.get("name"))
            for d in tx.find_nodes("groups", connector_id=connector_id)
            if not d.get("isPlaceholder")
        )


# The kit's reader of record events since the last call, under the name these tests use.
EventReader = testing.RecordEventReader
