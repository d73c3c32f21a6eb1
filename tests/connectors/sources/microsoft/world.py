"""A Microsoft 365 connector instance over a fake tenant on a SQLite store: syncs the way the engine does
(`testing.sync_once`), readers that show the graph by record name, and the real indexing worker and
search service (HashingEmbedder) for exact search results per user."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.config.crypto import SecretBox
from headwater.config.registry import create_config_store
from headwater.connectors import testing
from headwater.connectors.core.instances import create_instance
from headwater.connectors.sources.microsoft.common.connector import GraphConnector
from headwater.events.store_log import StoreEventLog
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.indexing.index.registry import open_search_index
from headwater.indexing.parsing.base import ParseLimits
from headwater.indexing.sources import ConnectorPool, ContentFetcher
from headwater.indexing.status import RetryPolicy
from headwater.indexing.worker import IndexingWorker, WorkerOptions
from headwater.search.service import SearchService
from headwater.store.base import GraphStore
from headwater.store.registry import open_store
from headwater.testing.fake_graph import FakeGraph, FakeTenant
from tests.clients.microsoft.mini_graph import FakeClock

from .helpers import LOG, EventReader, config_service, endpoint, run

ORG = testing.DEFAULT_ORG_ID


@dataclass
class World:
    """One connector instance `cid` of `connector_cls` syncing `tenant` into a store under `tmp`."""

    tmp: Path
    tenant: FakeTenant
    connector_cls: type[GraphConnector]
    cid: str = "m365-1"
    page_size_cap: int | None = 3
    store: GraphStore = field(init=False)
    fake: FakeGraph = field(init=False)
    clock: FakeClock = field(default_factory=FakeClock)
    secret: str | None = None
    sync_config: dict[str, Any] | None = None  # e.g. the instance's notificationUrl

    def __post_init__(self) -> None:
        self.store = open_store(f"sqlite:///{self.tmp / 'graph.db'}")
        self.fake = FakeGraph(self.tenant, page_size_cap=self.page_size_cap, validate=True)
        self.events = EventReader(self.store)
        self._search: SearchWorld | None = None
        self._configs: dict[str, testing.DictConfigService] = {}

    def config(self, connector_id: str) -> testing.DictConfigService:
        """The instance's config service, one per instance (it also keeps its subscriptions)."""
        if connector_id not in self._configs:
            self._configs[connector_id] = config_service(
                connector_id, self.fake, secret=self.secret, sync=self.sync_config
            )
        return self._configs[connector_id]

    async def make(self, store: GraphStore, connector_id: str) -> GraphConnector:
        provider = await testing.data_store_provider_for(store, connector_id)
        connector = await self.connector_cls.create_connector(
            LOG, provider, self.config(connector_id), connector_id=connector_id
        )
        connector.graph_endpoint = endpoint(self.fake, self.clock)
        connector.subscription_now = self.tenant.clock.now  # type: ignore[method-assign]
        assert await connector.init()
        return connector

    def sync(self) -> GraphConnector:
        connector = run(testing.sync_once(self.make, self.store, self.cid, incremental=True))
        assert isinstance(connector, GraphConnector)
        failures = connector.data_entities_processor.failures
        assert failures == [], failures
        return connector

    def sync_points(self) -> dict[str, dict[str, Any]]:
        """Sync point key (without the org/connector prefix) -> its data."""
        with self.store.read() as tx:
            docs = tx.find_nodes("syncPoints", connector_id=self.cid)
        prefix = f"{ORG}/{self.cid}/"
        return {
            str(d["syncPointKey"]).removeprefix(prefix): {
                k: v for k, v in d.items() if not k.startswith("_") and not k.endswith("Timestamp")
            }
            for d in docs
        }

    # -- search ---------------------------------------------------------------------------------

    def search(self, query: str, email: str) -> list[str]:
        """The record names `email` finds for `query` (keyword search), after indexing what is queued."""
        if self._search is None:
            self._search = SearchWorld(self)
        return self._search.search(query, email)

    def close(self) -> None:
        if self._search is not None:
            self._search.close()
        self.store.close()


@dataclass
class Seed:
    """A seeded fake tenant and the objects a test names in it (users, drives, items, grants)."""

    tenant: FakeTenant
    ids: dict[str, Any]


@contextmanager
def calm_and_throttled(
    make_world: Callable[[str], tuple[World, Seed]], mutate: Callable[[Seed], None], *, throttle_seed: int
) -> Iterator[tuple[World, World]]:
    """Two worlds from the same seed, one with 20 % of Graph's answers throttled (429/503), each synced,
    mutated and synced again: (calm, throttled), for a test to compare their end states."""
    calm, calm_seed = make_world("calm")
    noisy, noisy_seed = make_world("noisy")
    try:
        noisy.fake.faults.throttle_fraction(0.2, seed=throttle_seed, statuses=(429, 503))
        for world, seed in ((calm, calm_seed), (noisy, noisy_seed)):
            world.sync()
            mutate(seed)
            world.sync()
        yield calm, noisy
    finally:
        calm.close()
        noisy.close()


class _Factory:
    """Builds the world's connector for the indexing worker's pool (pointed at the fake)."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def create_connector(self, kind: str, logger: Any, provider: Any, config: Any, **kw: Any) -> Any:
        return await self.world.make(self.world.store, str(kw["connector_id"]))


class SearchWorld:
    def __init__(self, world: World) -> None:
        self.world = world
        create_instance(
            world.store, type=world.connector_cls.connector_enum.value, connector_id=world.cid, org_id=ORG
        )
        self.config = create_config_store(f"sqlite:///{world.tmp / 'config.db'}", SecretBox.generate())
        run(self.config.connect())
        self.embedder = HashingEmbedder()
        self.index = open_search_index(f"embedded://{world.tmp / 'index'}", self.embedder.dimensions)
        self.service = SearchService(world.store, self.index, self.embedder)

    def index_all(self) -> None:
        async def go() -> None:
            pool = ConnectorPool(self.world.store, self.config, factory=_Factory(self.world))
            worker = IndexingWorker(
                self.world.store,
                StoreEventLog(self.world.store, lease_ms=5000, poll_interval_s=0.01),
                self.index,
                self.embedder,
                ContentFetcher(pool),
                options=WorkerOptions(
                    idle_poll_s=0.02,
                    retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05),
                    parse_limits=ParseLimits(isolate=False),
                ),
            )
            try:
                await worker.run_until_idle(30.0)
            finally:
                await pool.close()

        asyncio.run(go())

    def search(self, query: str, email: str) -> list[str]:
        self.index_all()
        user = self.service.user_key_for_email(email)
        hits = self.service.search(query, user_key=user, k=50, mode="keyword").hits
        return sorted(h.record_name for h in hits)

    def close(self) -> None:
        self.index.close()


# -- the graph by record name -------------------------------------------------------------------------


def _principal(tx: Any, node_id: str) -> str:
    collection, key = node_id.split("/", 1)
    if collection == "users":
        return f"user:{(tx.get_node('users', key) or {}).get('email')}"
    if collection == "groups":
        return f"group:{(tx.get_node('groups', key) or {}).get('name')}"
    return {"organizations": "org", "anyone": "anyone", "anyoneWithLink": "anyoneWithLink"}.get(
        collection, collection
    )


def _grants(tx: Any, node_id: str) -> list[str]:
    """The grants on a record or record group as sorted `principal:ROLE` strings."""
    return sorted(
        f"{_principal(tx, e['_from'])}:{e['role']}" for e in tx.get_edges("permissions", to_ids=[node_id])
    )


def records(store: GraphStore, cid: str) -> dict[str, tuple[str | None, str, bool, list[str]]]:
    """record name -> (parent record name, record group name, is_file, [principal:ROLE grants])."""
    out: dict[str, tuple[str | None, str, bool, list[str]]] = {}
    with store.read() as tx:
        docs = {
            d["_key"]: d for d in tx.find_nodes("records", connector_id=cid) if not d.get("isPlaceholder")
        }
        groups = {d["_key"]: d for d in tx.find_nodes("recordGroups", connector_id=cid)}
        ids = [f"records/{k}" for k in docs]
        parent_of = {
            e["_to"].split("/", 1)[1]: e["_from"].split("/", 1)[1]
            for e in tx.get_edges("recordRelations", to_ids=ids)
            if e.get("relationshipType") == "PARENT_CHILD"
        }
        group_of = {
            e["_from"].split("/", 1)[1]: e["_to"].split("/", 1)[1]
            for e in tx.get_edges("inheritPermissions", from_ids=ids)
        }
        for key, doc in docs.items():
            type_doc = tx.get_node("files", key) or {}
            parent = parent_of.get(key)
            out[str(doc["recordName"])] = (
                str(docs[parent]["recordName"]) if parent else None,
                str(groups[group_of[key]]["groupName"]),
                bool(type_doc.get("isFile", True)),
                _grants(tx, f"records/{key}"),
            )
    return out


def record_groups(store: GraphStore, cid: str) -> dict[str, tuple[str | None, list[str]]]:
    """record group name -> (the group it inherits from, [principal:ROLE grants])."""
    out: dict[str, tuple[str | None, list[str]]] = {}
    with store.read() as tx:
        groups = {d["_key"]: d for d in tx.find_nodes("recordGroups", connector_id=cid)}
        for key, doc in groups.items():
            inherits = [
                e["_to"].split("/", 1)[1]
                for e in tx.get_edges("inheritPermissions", from_ids=[f"recordGroups/{key}"])
            ]
            parent = str(groups[inherits[0]]["groupName"]) if inherits else None
            out[str(doc["groupName"])] = (parent, _grants(tx, f"recordGroups/{key}"))
    return out


def revisions(store: GraphStore, cid: str) -> dict[str, tuple[str | None, int]]:
    """record name -> (revision, version)."""
    with store.read() as tx:
        return {
            str(d["recordName"]): (d.get("externalRevisionId"), int(d.get("version") or 0))
            for d in tx.find_nodes("records", connector_id=cid)
            if not d.get("isPlaceholder")
        }
