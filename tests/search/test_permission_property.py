"""The property that matters most: search never returns a record the user may not read, and returns
every readable record that matches (0 leaks, 0 misses), over 2,000 generated graphs.

Each graph has users (with or without an organisation, verified or unverified email), nested groups
and roles, record groups and records linked by inheritance (cycles allowed), and grants of every
kind and role. An oracle written here from the rules in DESIGN.md decides readability; the system
under test is the whole path: store memberships -> effective principals of each record -> the real
embedded index -> keyword, vector and hybrid search. Graphs live side by side in one store and one
index under distinct key prefixes, so a leak between graphs is caught too. After the first check,
grants are mutated and the index's principals updated in place (no re-embedding), then checked again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.index.registry import open_search_index
from headwater.indexing.record_principals import effective_principals
from headwater.indexing.types import IndexedChunk, IndexedRecord
from headwater.search.service import SearchService
from headwater.store.base import GraphStore
from headwater.store.registry import open_store

GRAPHS_PER_EXAMPLE = 50
EXAMPLES = 40  # 40 x 50 = 2,000 graphs
USERS, GROUPS, ROLES, RGROUPS, RECORDS = 3, 4, 2, 3, 5
ROLES_OF_GRANTS = ["OTHERS", "READER", "COMMENTER", "WRITER", "OWNER"]  # lowest to highest
PRINCIPAL_KINDS = ["user", "group", "role", "org", "domain", "anyone", "link"]


@dataclass
class Graph:
    users: list[tuple[bool, bool, int]]  # (in the organisation?, email verified?, which of two domains)
    members: list[tuple[str, int, str, int]]  # (user|group, i) belongsTo (group|role, j)
    inherit: list[tuple[str, int, str, int]]  # (record|rgroup, i) inherits from (record|rgroup, j)
    grants: list[tuple[str, int, str, int, str]]  # (principal kind, i) -> (record|rgroup, j) with role
    mutated: list[tuple[str, int, str, int, str]]  # the grants after the mutation


def _grants() -> st.SearchStrategy[list[tuple[str, int, str, int, str]]]:
    grant = st.tuples(
        st.sampled_from(PRINCIPAL_KINDS),
        st.integers(0, GROUPS - 1),
        st.sampled_from(["record", "rgroup"]),
        st.integers(0, RECORDS - 1),
        st.sampled_from(ROLES_OF_GRANTS),
    )
    return st.lists(grant, max_size=7)


graphs = st.builds(
    Graph,
    users=st.lists(
        st.tuples(st.booleans(), st.booleans(), st.integers(0, 1)), min_size=USERS, max_size=USERS
    ),
    members=st.lists(
        st.tuples(
            st.sampled_from(["user", "group"]),
            st.integers(0, GROUPS - 1),
            st.sampled_from(["group", "role"]),
            st.integers(0, GROUPS - 1),
        ),
        max_size=6,
    ),
    inherit=st.lists(
        st.tuples(
            st.sampled_from(["record", "rgroup"]),
            st.integers(0, RECORDS - 1),
            st.sampled_from(["record", "rgroup"]),
            st.integers(0, RECORDS - 1),
        ),
        max_size=6,
    ),
    grants=_grants(),
    mutated=_grants(),
)


# ---- naming: every node of graph n lives under the prefix "g{n}x" ----------------------------------


def node(ns: str, kind: str, i: int) -> str:
    if kind == "user":
        return f"users/{ns}u{i % USERS}"
    if kind == "group":
        return f"groups/{ns}g{i % GROUPS}"
    if kind == "role":
        return f"roles/{ns}r{i % ROLES}"
    if kind == "record":
        return f"records/{ns}rec{i % RECORDS}"
    if kind == "rgroup":
        return f"recordGroups/{ns}rg{i % RGROUPS}"
    if kind == "org":
        return f"organizations/{ns}org"
    if kind == "domain":
        return f"domains/{ns}d{i % 2}.test"
    if kind == "anyone":
        return f"anyone/{ns}org"
    if kind == "link":
        return f"anyoneWithLink/{ns}org"
    raise AssertionError(kind)


# ---- the oracle: DESIGN.md's rules, independent of the store's code ----------------------------------


def oracle_principals(ns: str, graph: Graph, u: int) -> set[str]:
    in_org, verified, domain = graph.users[u]
    me = node(ns, "user", u)
    found = {me}
    changed = True
    while changed:
        changed = False
        for src_kind, i, dst_kind, j in graph.members:
            if node(ns, src_kind, i) in found and node(ns, dst_kind, j) not in found:
                found.add(node(ns, dst_kind, j))
                changed = True
    if in_org:
        found |= {node(ns, "org", 0), node(ns, "anyone", 0)}
    if verified:
        found.add(node(ns, "domain", domain))
    return found


def strongest(ns: str, grants: list[tuple[str, int, str, int, str]]) -> dict[tuple[str, str], str]:
    """(principal, target) -> its highest role: a principal holds one grant per target, as the
    processor writes them."""
    best: dict[tuple[str, str], str] = {}
    for kind, i, dst, j, role in grants:
        pair = (node(ns, kind, i), node(ns, dst, j))
        if pair not in best or ROLES_OF_GRANTS.index(role) > ROLES_OF_GRANTS.index(best[pair]):
            best[pair] = role
    return best


def oracle_readable(ns: str, graph: Graph, grants: list[tuple[str, int, str, int, str]], u: int) -> set[str]:
    principals = oracle_principals(ns, graph, u)
    granted = {
        target
        for (principal, target), role in strongest(ns, grants).items()
        if role != "OTHERS" and not principal.startswith("anyoneWithLink/") and principal in principals
    }
    readable = set()
    for r in range(RECORDS):
        reached, frontier = {node(ns, "record", r)}, {node(ns, "record", r)}
        while frontier:
            frontier = {
                node(ns, dk, j) for sk, i, dk, j in graph.inherit if node(ns, sk, i) in frontier
            } - reached
            reached |= frontier
        if reached & granted:
            readable.add(f"{ns}rec{r}")
    return readable


# ---- writing a graph into the store and the index ----------------------------------------------------


def grant_edges(ns: str, grants: list[tuple[str, int, str, int, str]]) -> list[dict[str, Any]]:
    return [{"_from": a, "_to": b, "role": role} for (a, b), role in strongest(ns, grants).items()]


def write_graph(store: GraphStore, ns: str, graph: Graph) -> None:
    with store.transaction() as tx:
        tx.upsert_nodes("organizations", [{"_key": f"{ns}org"}])
        tx.upsert_nodes(
            "users",
            [
                {
                    "_key": f"{ns}u{u}",
                    "email": f"{ns}u{u}@{ns}d{domain}.test",
                    "emailVerified": verified,
                    **({"orgId": f"{ns}org"} if in_org else {}),
                }
                for u, (in_org, verified, domain) in enumerate(graph.users)
            ],
        )
        tx.upsert_nodes("groups", [{"_key": f"{ns}g{g}"} for g in range(GROUPS)])
        tx.upsert_nodes("roles", [{"_key": f"{ns}r{r}"} for r in range(ROLES)])
        tx.upsert_nodes("records", [{"_key": f"{ns}rec{r}", "recordName": f"rec{r}"} for r in range(RECORDS)])
        tx.upsert_edges(
            "belongsTo",
            [
                {"_from": node(ns, s, i), "_to": node(ns, d, j)}
                for s, i, d, j in graph.members
                if (s, i) != (d, j)
            ],
        )
        tx.upsert_edges(
            "inheritPermissions",
            [
                {"_from": node(ns, s, i), "_to": node(ns, d, j)}
                for s, i, d, j in graph.inherit
                if (s, i) != (d, j)
            ],
        )
        tx.upsert_edges("permissions", grant_edges(ns, graph.grants))


def principals_of_records(store: GraphStore, ns: str) -> dict[str, frozenset[str]]:
    with store.read() as tx:
        return effective_principals(tx, [f"{ns}rec{r}" for r in range(RECORDS)])


# ---- the test ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[GraphStore, SearchIndex, SearchService]]:
    base: Path = tmp_path_factory.mktemp("property")
    store = open_store(f"sqlite:///{base / 'store.db'}")
    embedder = HashingEmbedder()
    index = open_search_index(f"embedded://{base / 'index'}", embedder.dimensions)
    try:
        yield store, index, SearchService(store, index, embedder, candidates=200)
    finally:
        index.close()
        store.close()


counter = iter(range(10**9))


def check(service: SearchService, ns: str, graph: Graph, grants: list[Any], how: str) -> None:
    query_vector = service.embedder.embed_query("alpha") if service.embedder else None
    for u in range(USERS):
        user_key = f"{ns}u{u}"
        expected = oracle_readable(ns, graph, grants, u)
        principals = service.principal_cache.principals(user_key)
        assert set(principals) == oracle_principals(ns, graph, u)
        if how == "separately":
            keyword = {c.record_key for c in service.index.keyword_search("alpha", principals, k=200)}
            vector = {c.record_key for c in service.index.vector_search(query_vector, principals, k=200)}
            assert keyword == expected, ("keyword", user_key, keyword ^ expected)
            assert vector == expected, ("vector", user_key, vector ^ expected)
        else:
            hits = {h.record_key for h in service.search("alpha", user_key=user_key, k=200).hits}
            assert hits == expected, ("hybrid", user_key, hits ^ expected)


def test_search_returns_exactly_what_the_oracle_allows(
    world: tuple[GraphStore, SearchIndex, SearchService],
) -> None:
    store, index, service = world
    embedder = service.embedder
    assert embedder is not None
    tally = {"graphs": 0, "readable": 0, "unreadable": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=st.lists(graphs, min_size=GRAPHS_PER_EXAMPLE, max_size=GRAPHS_PER_EXAMPLE))
    def run(batch: list[Graph]) -> None:
        names = [f"g{next(counter)}x" for _ in batch]
        for ns, graph in zip(names, batch, strict=True):
            write_graph(store, ns, graph)
        vectors = embedder.embed_documents(["alpha shared text"])
        with index.batch():
            for ns in names:
                for key, principals in principals_of_records(store, ns).items():
                    record = IndexedRecord(key, ns, "c1", "FILE", key, principals, content_hash=key)
                    index.replace_record(record, [IndexedChunk(0, f"alpha shared text {key}", vectors[0])])
        for ns, graph in zip(names, batch, strict=True):
            check(service, ns, graph, graph.grants, "separately")
            readable = sum(len(oracle_readable(ns, graph, graph.grants, u)) for u in range(USERS))
            tally["graphs"] += 1
            tally["readable"] += readable
            tally["unreadable"] += USERS * RECORDS - readable

        # permissions change at the source: the index's principals are replaced in place
        for ns, graph in zip(names, batch, strict=True):
            with store.transaction() as tx:
                for r in range(RECORDS):
                    tx.delete_edges("permissions", to_id=node(ns, "record", r))
                for g in range(RGROUPS):
                    tx.delete_edges("permissions", to_id=node(ns, "rgroup", g))
                tx.upsert_edges("permissions", grant_edges(ns, graph.mutated))
        with index.batch():
            for ns in names:
                for key, principals in principals_of_records(store, ns).items():
                    assert index.set_principals(key, principals)
        for ns, graph in zip(names, batch, strict=True):
            check(service, ns, graph, graph.mutated, "hybrid")

    run()
    # not vacuous: thousands of graphs, with plenty of (user, record) pairs on both sides of the line
    assert tally["graphs"] >= 2_000
    assert tally["readable"] > 1_000
    assert tally["unreadable"] > 1_000
