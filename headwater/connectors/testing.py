"""The connector contract kit: the checks every connector's tests run (built-in or plug-in).

A connector's test module builds its connector against a fake of its vendor API and a store (the
`store` fixture gives every backend), and calls the checks::

    from headwater.connectors import testing

    async def make(store, connector_id):                  # a MakeConnector
        provider = await testing.data_store_provider_for(store, connector_id)
        connector = await AcmeWikiConnector.create_connector(log, provider, config_service)
        connector.connector_id = connector_id
        assert await connector.init()
        return connector

    def test_contract(store):
        asyncio.run(testing.run_contract(
            make, store,
            connector_cls=AcmeWikiConnector,
            delete_in_source=lambda: fake_server.delete_page("p-2"),   # returns "p-2"
            make_bad_connector=make_with_password("wrong-secret-123"),
            bad_secret="wrong-secret-123",
        ))

The factory contract: `make_connector(store, connector_id)` is an async callable that returns a
connector ready to sync (`init()` done) whose processor writes into `store` under `connector_id`,
talking to the SAME fake source every time it is called (the kit builds a fresh instance for each
sync, as the sync engine may, so all state between runs must live in the store: sync points).
`make_bad_connector()` returns a connector configured with bad credentials, NOT initialised.

Each check raises `ContractError` (an AssertionError) that says what is wrong, with examples.
A sync here is `run_sync()` (full) or `run_incremental_sync()`, then the processor's `flush()` and
the connector's `cleanup()`: what the engine does around a run.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from headwater.connectors.core.connector import BaseConnector, ConnectorInitError, maybe_await
from headwater.connectors.core.data_store import DataStoreProvider
from headwater.models.constants import EDGE_COLLECTIONS, NODE_COLLECTIONS
from headwater.store.base import GraphStore
from headwater.store.schema import PARTITIONS, TOPICS

MakeConnector = Callable[[GraphStore, str], Awaitable[BaseConnector]]
MakeBadConnector = Callable[[], Awaitable[BaseConnector]]
DeleteInSource = Callable[[], str | Awaitable[str]]

DEFAULT_CONNECTOR_ID = "contract-connector"
DEFAULT_ORG_ID = "contract-org"
# a sync point may legitimately change on every run (a delta link the source rotates, a
# last-run time): it is not part of "an unchanged re-sync writes nothing"
VOLATILE_COLLECTIONS = frozenset({"syncPoints"})
CONFIG_SHAPE_KEYS = (
    "iconPath",
    "supportsRealtime",
    "supportsSync",
    "documentationLinks",
    "auth",
    "sync",
    "filters",
)
MAX_EXAMPLES = 5


class ContractError(AssertionError):
    """A connector broke the contract; the message says which rule and shows examples."""


# ---- set-up helpers ---------------------------------------------------------------------------------


async def data_store_provider_for(
    store: GraphStore, connector_id: str, *, org_id: str = DEFAULT_ORG_ID, secret_box: Any = None
) -> DataStoreProvider:
    """A data store provider for one connector instance on `store`, with an organisation in the
    store (created if there is none) so that the processor's `initialize()` finds it. Sync points
    get a fresh `SecretBox` unless one is given."""
    from headwater.config.crypto import SecretBox

    with store.transaction() as tx:
        if not tx.find_nodes("organizations", limit=1):
            tx.upsert_nodes("organizations", [{"_key": org_id, "registeredName": "Contract test org"}])
    return DataStoreProvider(store, connector_id=connector_id, secret_box=secret_box or SecretBox.generate())


async def processor_for(
    store: GraphStore,
    connector_id: str,
    connector_name: str | None = None,
    *,
    org_id: str = DEFAULT_ORG_ID,
    **processor_options: Any,
) -> tuple[DataStoreProvider, Any]:
    """(provider, initialised DataSourceEntitiesProcessor) for one connector instance on `store`."""
    from headwater.connectors.core.processor import DataSourceEntitiesProcessor

    provider = await data_store_provider_for(store, connector_id, org_id=org_id)
    processor = DataSourceEntitiesProcessor(
        logging.getLogger(f"headwater.connectors.{connector_name or connector_id}"),
        provider,
        None,
        connector_id=connector_id,
        connector_name=connector_name,
        **processor_options,
    )
    await processor.initialize()
    return provider, processor


class DictConfigService:
    """An in-memory config service with the playbook's method names, for connector tests."""

    def __init__(self, values: dict[str, dict[str, Any]] | None = None) -> None:
        self.values: dict[str, dict[str, Any]] = dict(values or {})

    async def get_config(
        self, key: str, default: dict[str, Any] | None = None, use_cache: bool = False
    ) -> dict[str, Any] | None:
        return self.values.get(key, default)

    async def set_config(self, key: str, value: dict[str, Any]) -> None:
        self.values[key] = value

    async def update_config(self, key: str, value: dict[str, Any]) -> None:
        self.values[key] = value

    async def delete_config(self, key: str) -> bool:
        return self.values.pop(key, None) is not None


# ---- running syncs and looking at the store ----------------------------------------------------------


async def sync_once(
    make_connector: MakeConnector,
    store: GraphStore,
    connector_id: str = DEFAULT_CONNECTOR_ID,
    *,
    incremental: bool = False,
) -> BaseConnector:
    """Build a connector, run one sync, flush its processor, clean it up; returns the connector."""
    connector = await make_connector(store, connector_id)
    try:
        if incremental:
            await connector.run_incremental_sync()
        else:
            await connector.run_sync()
        flush = getattr(connector.data_entities_processor, "flush", None)
        if flush is not None:
            await maybe_await(flush())
    finally:
        await maybe_await(connector.cleanup())
    return connector


@dataclass
class Snapshot:
    """Every node and edge document in the store (by collection) and the number of events per topic."""

    nodes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    edges: dict[str, dict[tuple[str, str, str], dict[str, Any]]] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)


def snapshot(store: GraphStore) -> Snapshot:
    from headwater.store.schema import edge_kind

    snap = Snapshot()
    with store.read() as tx:
        for collection in sorted(NODE_COLLECTIONS):
            snap.nodes[collection] = {str(d["_key"]): d for d in tx.find_nodes(collection)}
        for collection in sorted(EDGE_COLLECTIONS):
            snap.edges[collection] = {
                (str(e["_from"]), str(e["_to"]), edge_kind(collection, e)): e
                for e in tx.get_edges(collection)
            }
        for topic in TOPICS:
            snap.events[topic] = sum(
                len(tx.read_events(topic, partition, -1, 10_000_000)) for partition in range(PARTITIONS)
            )
    return snap


def record_events(store: GraphStore) -> list[tuple[str, dict[str, Any]]]:
    """(eventType, payload) of every `record-events` event, partition by partition."""
    found: list[tuple[str, dict[str, Any]]] = []
    with store.read() as tx:
        for partition in range(PARTITIONS):
            for e in tx.read_events("record-events", partition, -1, 10_000_000):
                found.append((str(e.event.get("eventType")), dict(e.event.get("payload") or {})))
    return found


class RecordEventReader:
    """The `record-events` a connector's syncs append, read as they come: each `new()` returns
    those since the previous call, as sorted (eventType, record name — or record id for a
    deletion) pairs, so a scenario test can assert exactly what one incremental sync announced."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.offsets: dict[int, int] = {}

    def new(self) -> list[tuple[str, str]]:
        fresh: list[tuple[str, str]] = []
        with self.store.read() as tx:
            for partition in range(PARTITIONS):
                after = self.offsets.get(partition, -1)
                for stored in tx.read_events("record-events", partition, after, 10_000_000):
                    payload = stored.event.get("payload") or {}
                    name = payload.get("recordName") or payload.get("recordId")
                    fresh.append((str(stored.event.get("eventType")), str(name)))
                    self.offsets[partition] = stored.offset
        return sorted(fresh)


def diff_snapshots(before: Snapshot, after: Snapshot, *, ignore: frozenset[str] = frozenset()) -> list[str]:
    """What changed between two snapshots, one line per change (collections in `ignore` skipped);
    new events first."""
    events: list[str] = []
    for topic in sorted(set(before.events) | set(after.events)):
        added = after.events.get(topic, 0) - before.events.get(topic, 0)
        if added:
            events.append(f"{added} new {topic} event(s)")
    changes: list[str] = []
    for collection in sorted(set(before.nodes) | set(after.nodes)):
        if collection in ignore:
            continue
        old, new = before.nodes.get(collection, {}), after.nodes.get(collection, {})
        for key in sorted(new.keys() - old.keys()):
            changes.append(f"{collection}/{key} was created")
        for key in sorted(old.keys() - new.keys()):
            changes.append(f"{collection}/{key} was deleted")
        for key in sorted(old.keys() & new.keys()):
            if old[key] != new[key]:
                fields = sorted(
                    k for k in set(old[key]) | set(new[key]) if old[key].get(k) != new[key].get(k)
                )
                changes.append(f"{collection}/{key} was rewritten (fields {', '.join(fields)})")
    for collection in sorted(set(before.edges) | set(after.edges)):
        if collection in ignore:
            continue
        old_e, new_e = before.edges.get(collection, {}), after.edges.get(collection, {})
        for k in sorted(new_e.keys() - old_e.keys()):
            changes.append(f"{collection} edge {k[0]} -> {k[1]} was created")
        for k in sorted(old_e.keys() - new_e.keys()):
            changes.append(f"{collection} edge {k[0]} -> {k[1]} was deleted")
        for k in sorted(old_e.keys() & new_e.keys()):
            if old_e[k] != new_e[k]:
                changes.append(f"{collection} edge {k[0]} -> {k[1]} was rewritten")
    return events + changes


def _records_of(store: GraphStore, connector_id: str) -> list[dict[str, Any]]:
    with store.read() as tx:
        return tx.find_nodes("records", connector_id=connector_id)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _examples(items: Sequence[str]) -> str:
    shown = "; ".join(items[:MAX_EXAMPLES])
    more = f" (and {len(items) - MAX_EXAMPLES} more)" if len(items) > MAX_EXAMPLES else ""
    return shown + more


# ---- the checks -------------------------------------------------------------------------------------


def check_metadata(connector_cls: type) -> dict[str, Any]:
    """The class is a concrete BaseConnector decorated by `ConnectorBuilder(...).build_decorator()`,
    with a name, a group, auth types, the config shape's keys, and every auth field named.
    Returns the metadata."""
    problems: list[str] = []
    if not (isinstance(connector_cls, type) and issubclass(connector_cls, BaseConnector)):
        raise ContractError(f"{connector_cls!r} is not a BaseConnector subclass")
    if inspect.isabstract(connector_cls):
        missing = sorted(getattr(connector_cls, "__abstractmethods__", ()))
        problems.append(f"abstract methods not implemented: {', '.join(missing)}")
    meta = getattr(connector_cls, "_connector_metadata", None)
    if not isinstance(meta, dict):
        raise ContractError(
            f"{connector_cls.__name__} has no _connector_metadata: decorate it with "
            "@(ConnectorBuilder(...)...build_decorator())"
        )
    if not getattr(connector_cls, "_is_connector", False):
        problems.append("_is_connector is not set (use the builder's decorator)")
    name = meta.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("metadata has no name")
    if not isinstance(meta.get("appGroup"), str) or not str(meta.get("appGroup")).strip():
        problems.append("metadata has no appGroup (.in_group(...))")
    auth_types = meta.get("supportedAuthTypes")
    if not isinstance(auth_types, list) or not auth_types or not all(isinstance(a, str) for a in auth_types):
        problems.append("metadata has no supportedAuthTypes (.with_auth_type(...))")
        auth_types = []
    config = meta.get("config")
    if not isinstance(config, dict):
        raise ContractError(f"{connector_cls.__name__}: metadata has no config; problems: {problems}")
    for key in CONFIG_SHAPE_KEYS:
        if key not in config:
            problems.append(f"config has no {key!r}")
    auth = _dict(config.get("auth"))
    schemas = _dict(auth.get("schemas"))
    for auth_type, schema in schemas.items():
        fields_ = schema.get("fields", []) if isinstance(schema, dict) else []
        seen: set[str] = set()
        for n, f in enumerate(fields_, 1):
            fname = f.get("name") if isinstance(f, dict) else None
            if not isinstance(fname, str) or not fname.strip():
                problems.append(f"auth schema {auth_type}: field #{n} has no name")
                continue
            if fname in seen:
                problems.append(f"auth schema {auth_type}: field {fname!r} appears twice")
            seen.add(fname)
            if not str(f.get("displayName") or "").strip():
                problems.append(f"auth schema {auth_type}: field {fname!r} has no displayName")
    for auth_type in auth_types:
        if auth_type not in ("NONE",) and schemas and auth_type not in schemas:
            problems.append(f"auth type {auth_type} has no schema in config.auth.schemas")
    sync = _dict(config.get("sync"))
    if not sync.get("supportedStrategies"):
        problems.append("config.sync has no supportedStrategies (.with_sync_strategies([...]))")
    filters = _dict(config.get("filters"))
    for category in ("sync", "indexing"):
        schema = _dict(_dict(filters.get(category)).get("schema"))
        for n, f in enumerate(schema.get("fields", []), 1):
            if not isinstance(f, dict) or not str(f.get("name") or "").strip():
                problems.append(f"{category} filter field #{n} has no name")
    if problems:
        raise ContractError(f"{connector_cls.__name__} metadata: {_examples(problems)}")
    return meta


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format string is the connector's bug, not ours
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]}"
        self.lines.append(text)


async def check_bad_credentials(make_bad_connector: MakeBadConnector, bad_secret: str) -> str:
    """With bad credentials, `init()` returns False or raises ConnectorInitError with a non-empty
    message, or `test_connection_and_access()` is False; no other exception escapes, and the secret
    appears neither in the message nor in what the connector logs. Returns the outcome in words."""
    if not bad_secret:
        raise ValueError("check_bad_credentials needs the bad secret the connector was configured with")
    connector = await make_bad_connector()
    capture = _Capture()
    logger = connector.logger if isinstance(connector.logger, logging.Logger) else logging.getLogger()
    old_level = logger.level
    logger.addHandler(capture)
    logger.setLevel(logging.DEBUG)
    try:
        outcome = await _bad_credentials_outcome(connector, bad_secret)
    finally:
        logger.removeHandler(capture)
        logger.setLevel(old_level)
        try:
            await maybe_await(connector.cleanup())
        except Exception:  # cleanup after a failed init may legitimately have nothing to close
            pass
    leaked = [line for line in capture.lines if bad_secret in line]
    if leaked:
        raise ContractError(f"the bad secret appears in {len(leaked)} log line(s) of the connector")
    return outcome


async def _bad_credentials_outcome(connector: BaseConnector, bad_secret: str) -> str:
    try:
        ok = await connector.init()
    except ConnectorInitError as exc:
        message = str(exc)
        if not message.strip():
            raise ContractError("init() raised ConnectorInitError with an empty message") from None
        if bad_secret in message:
            raise ContractError("the ConnectorInitError message contains the bad secret") from None
        return f"init() raised ConnectorInitError: {message}"
    except Exception as exc:
        shown = str(exc).replace(bad_secret, "***")
        raise ContractError(
            f"init() with bad credentials raised {type(exc).__name__} ({shown}); return False or "
            "raise ConnectorInitError with a message for the user"
        ) from None
    if ok is False:
        return "init() returned False"
    try:
        access = await maybe_await(connector.test_connection_and_access())
    except Exception as exc:
        shown = str(exc).replace(bad_secret, "***")
        raise ContractError(
            f"test_connection_and_access() with bad credentials raised {type(exc).__name__} ({shown}); "
            "it should return False"
        ) from None
    if access:
        raise ContractError("with bad credentials, init() succeeded and test_connection_and_access() is True")
    return "test_connection_and_access() returned False"


async def check_full_then_unchanged_resync(
    make_connector: MakeConnector, store: GraphStore, connector_id: str = DEFAULT_CONNECTOR_ID
) -> Snapshot:
    """A full sync writes records; a second full sync of an unchanged source writes nothing: no
    node or edge is created, rewritten or deleted, and no event is emitted (sync points may change).
    Returns the snapshot after the first sync."""
    await sync_once(make_connector, store, connector_id)
    if not _records_of(store, connector_id):
        raise ContractError(
            f"a full sync wrote no records for connector {connector_id!r}: is the fake source seeded, "
            "and does the processor write under this connector id?"
        )
    first = snapshot(store)
    await sync_once(make_connector, store, connector_id)
    changes = diff_snapshots(first, snapshot(store), ignore=VOLATILE_COLLECTIONS)
    if changes:
        raise ContractError(
            f"an unchanged re-sync wrote {len(changes)} change(s): {_examples(changes)}. An unchanged "
            "item must come with the same revision (etag / cTag / version) and the same fields"
        )
    return first


async def check_deletes_propagate(
    make_connector: MakeConnector,
    store: GraphStore,
    delete_in_source: DeleteInSource,
    connector_id: str = DEFAULT_CONNECTOR_ID,
) -> str:
    """After an item is deleted in the source (`delete_in_source()` deletes one and returns its
    external id) and an incremental sync runs, the record, its type document and every edge
    touching it are gone, and a `deleteRecord` event names it. Syncs first if nothing is synced.
    Returns the external id."""
    if not _records_of(store, connector_id):
        await sync_once(make_connector, store, connector_id)
    ext = await maybe_await(delete_in_source())
    with store.read() as tx:
        record = tx.get_record_by_external_id(connector_id, ext)
    if record is None:
        raise ContractError(f"record {ext!r} is not in the store before the delete; sync it first")
    key = record.id
    node_id = f"records/{key}"
    await sync_once(make_connector, store, connector_id, incremental=True)
    problems: list[str] = []
    with store.read() as tx:
        if tx.get_record_by_external_id(connector_id, ext) is not None or tx.get_node("records", key):
            stored = tx.get_node("records", key) or {}
            quarantine = (
                " (it is quarantined by the mass-deletion brake)" if stored.get("quarantinedAt") else ""
            )
            problems.append(f"record {ext!r} is still in the store{quarantine}")
        if record.type_collection and tx.get_node(record.type_collection, key) is not None:
            problems.append(f"its {record.type_collection} document is still in the store")
        for collection in sorted(EDGE_COLLECTIONS):
            touching = tx.get_edges(collection, from_ids=[node_id]) + tx.get_edges(
                collection, to_ids=[node_id]
            )
            if touching:
                problems.append(f"{len(touching)} {collection} edge(s) still touch it")
    # a record's key is never reused, so any deleteRecord naming it is this deletion's
    if not any(t == "deleteRecord" and p.get("recordId") == key for t, p in record_events(store)):
        problems.append("no deleteRecord event names it")
    if problems:
        raise ContractError(f"deleting {ext!r} in the source did not propagate: {_examples(problems)}")
    return ext


async def check_every_record_has_a_permission_decision(store: GraphStore, connector_id: str) -> int:
    """Every record of the connector (placeholders aside) has an inbound `permissions` edge, or an
    `inheritPermissions` path to a node that has one. Fail closed makes a record without a decision
    invisible to everyone: that is a bug in the connector's permission mapping. Returns how many
    records were checked."""
    docs = [d for d in _records_of(store, connector_id) if not d.get("isPlaceholder")]
    undecided: list[str] = []
    with store.read() as tx:
        for doc in docs:
            node = f"records/{doc['_key']}"
            reached = {node}
            frontier = {node}
            decided = False
            while frontier and not decided:
                if tx.edge_sources("permissions", sorted(frontier)):
                    decided = True
                    break
                frontier = tx.edge_targets("inheritPermissions", sorted(frontier)) - reached
                reached |= frontier
            if not decided:
                undecided.append(f"{doc.get('externalRecordId')} ({doc.get('recordName')})")
    if undecided:
        raise ContractError(
            f"{len(undecided)} of {len(docs)} record(s) have no permission decision (no grant, none "
            f"inherited): {_examples(sorted(undecided))}"
        )
    return len(docs)


@dataclass
class ContractReport:
    """What `run_contract` checked (name -> outcome in words); checks not run are listed in `skipped`."""

    passed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


async def run_contract(
    make_connector: MakeConnector,
    store: GraphStore,
    *,
    connector_cls: type | None = None,
    connector_id: str = DEFAULT_CONNECTOR_ID,
    delete_in_source: DeleteInSource | None = None,
    make_bad_connector: MakeBadConnector | None = None,
    bad_secret: str | None = None,
) -> ContractReport:
    """Every check, in order, on a store with nothing of `connector_id` yet: metadata (of
    `connector_cls`, else of the class `make_connector` builds), full then unchanged re-sync, a
    permission decision for every record, deletes propagating (with `delete_in_source`), and bad
    credentials (with `make_bad_connector` and `bad_secret`). The first failing check raises."""
    report = ContractReport()
    if connector_cls is None:
        probe = await make_connector(store, connector_id)
        connector_cls = type(probe)
        await maybe_await(probe.cleanup())
    meta = check_metadata(connector_cls)
    report.passed["metadata"] = f"connector {meta.get('name')!r}"
    await check_full_then_unchanged_resync(make_connector, store, connector_id)
    report.passed["unchanged re-sync"] = f"{len(_records_of(store, connector_id))} records, nothing rewritten"
    checked = await check_every_record_has_a_permission_decision(store, connector_id)
    report.passed["permission decision"] = f"{checked} records"
    if delete_in_source is not None:
        ext = await check_deletes_propagate(make_connector, store, delete_in_source, connector_id)
        report.passed["deletes propagate"] = f"{ext!r} deleted"
    else:
        report.skipped.append("deletes propagate (no delete_in_source)")
    if make_bad_connector is not None and bad_secret:
        report.passed["bad credentials"] = await check_bad_credentials(make_bad_connector, bad_secret)
    else:
        report.skipped.append("bad credentials (no make_bad_connector / bad_secret)")
    return report


__all__ = [
    "ContractError",
    "ContractReport",
    "DeleteInSource",
    "DictConfigService",
    "MakeBadConnector",
    "MakeConnector",
    "Snapshot",
    "check_bad_credentials",
    "check_deletes_propagate",
    "check_every_record_has_a_permission_decision",
    "check_full_then_unchanged_resync",
    "check_metadata",
    "data_store_provider_for",
    "diff_snapshots",
    "processor_for",
    "record_events",
    "run_contract",
    "snapshot",
    "sync_once",
]
