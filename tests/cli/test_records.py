"""`headwater records`, `users` and `search`: what the graph holds and who may read it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.indexing.index.registry import open_search_index
from headwater.settings import Settings
from headwater.store.registry import open_store
from tests.cli.conftest import ADA, BOB, Cli, error_of
from tests.cli.indexing import index_until_idle


@pytest.fixture
def synced(cli: Cli, folder: Path) -> Cli:
    cli.add_notes(folder)
    cli.json("sync", "notes")
    return cli


def names(result: dict[str, Any]) -> list[str]:
    return [r["name"] for r in result["records"]]


def test_records_lists_by_name_with_where_and_who(synced: Cli) -> None:
    everything = synced.json("records")
    assert everything["total"] == 5
    assert everything["asUser"] is None
    assert [{k: v for k, v in r.items() if k != "id"} for r in everything["records"]][1:4] == [
        {
            "name": "plan.md",
            "type": "FILE",
            "path": "team/plan.md",
            "webUrl": None,
            "connector": "notes",
            "indexingStatus": "QUEUED",
            "access": ["via team: organisation"],
        },
        {
            "name": "readme.md",
            "type": "FILE",
            "path": "readme.md",
            "webUrl": None,
            "connector": "notes",
            "indexingStatus": "QUEUED",
            "access": ["organisation"],
        },
        {
            "name": "salary.md",
            "type": "FILE",
            "path": f"{ADA}/salary.md",
            "webUrl": None,
            "connector": "notes",
            "indexingStatus": "QUEUED",
            "access": [f"{ADA} (OWNER)"],
        },
    ]
    assert names(everything) == ["notes.txt", "plan.md", "readme.md", "salary.md", "site.url"]


def test_records_filters(synced: Cli) -> None:
    as_bob = synced.json("records", "--as", BOB)
    assert (as_bob["asUser"], as_bob["total"]) == (BOB, 4)
    assert names(as_bob) == ["notes.txt", "plan.md", "readme.md", "site.url"]  # not Ada's salary
    assert synced.json("records", "--as", ADA)["total"] == 5
    assert names(synced.json("records", "--type", "webpage")) == ["site.url"]
    assert names(synced.json("records", "--name-contains", "PLAN")) == ["plan.md"]
    limited = synced.json("records", "--connector", "notes", "--limit", "2")
    assert (limited["total"], names(limited)) == (5, ["notes.txt", "plan.md"])
    assert synced.json("records", "--as", BOB, "--name-contains", "salary")["total"] == 0


def test_records_errors_name_what_is_unknown(synced: Cli) -> None:
    result = synced("records", "--as", "nobody@acme.test")
    assert result.exit_code == 1
    assert error_of(result) == (
        f"error: no user with email 'nobody@acme.test' (users: {ADA}, {BOB}) — check the address"
    )
    result = synced("records", "--connector", "nope")
    assert error_of(result).startswith("error: no connector instance named 'nope'")


def test_users_with_their_groups(cli: Cli) -> None:
    store = open_store(Settings(data_dir=cli.data_dir).resolved_store_url)
    try:
        with store.transaction() as tx:
            bob = tx.get_node_by_external_id("users", "", BOB)
            assert bob is not None
            tx.upsert_nodes(
                "groups",
                [{"_key": "g-eng", "name": "Engineering"}, {"_key": "g-all", "name": "Everyone"}],
            )
            tx.upsert_edges(
                "belongsTo",
                [
                    {"_from": f"users/{bob['_key']}", "_to": "groups/g-eng"},
                    {"_from": "groups/g-eng", "_to": "groups/g-all"},  # nested
                    {"_from": "groups/g-all", "_to": "groups/g-eng"},  # a cycle is harmless
                ],
            )
    finally:
        store.close()
    assert cli.json("users") == [
        {"email": ADA, "name": "Ada", "role": "admin", "active": True, "groups": []},
        {
            "email": BOB,
            "name": "Bob",
            "role": "member",
            "active": True,
            "groups": ["group Engineering", "group Everyone"],
        },
    ]


def test_search_finds_what_the_user_may_read_and_hides_hidden_links(cli: Cli, folder: Path) -> None:
    """A real keyword search (no model loads) over a synced and indexed local folder, as each user;
    a link the source asked to hide (`hideWeburl`) is not shown, though the index holds it."""
    cli.json("connectors", "add", "Local FS", "--name", "docs", "--no-input", "--set", f"folders={folder}")
    assert cli.json("sync", "docs")["outcome"] == "completed"
    settings = Settings(data_dir=cli.data_dir)
    [plan] = [
        r["id"] for r in cli.json("records", "--connector", "docs")["records"] if r["name"] == "plan.md"
    ]
    index = open_search_index(settings.resolved_index_url, HashingEmbedder().dimensions)
    try:
        index_until_idle(settings, index)
        indexed = index.get_record(plan)
        assert indexed is not None
        index.update_record(dataclasses.replace(indexed, web_url="https://intranet.acme.test/plan"))
    finally:
        index.close()
    store = open_store(settings.resolved_store_url)
    try:
        with store.transaction() as tx:
            doc = tx.get_node("records", plan)
            assert doc is not None
            tx.upsert_nodes(
                "records", [doc | {"webUrl": "https://intranet.acme.test/plan", "hideWeburl": True}]
            )
    finally:
        store.close()

    found = cli.json("search", "plan", "--as", ADA, "--limit", "3", "--mode", "keyword")
    assert (found["query"], found["asUser"], found["mode"]) == ("plan", ADA, "keyword")
    assert found["tookMs"] >= 0
    top = found["hits"][0]
    assert (top["recordName"], top["webUrl"]) == ("plan.md", None)
    assert "[[Plan]]" in top["snippet"]
    assert cli.json("search", "plan", "--as", BOB, "--mode", "keyword")["hits"] == []  # Ada's folder
    text = cli("search", "plan", "--as", ADA, "--mode", "keyword")
    assert "1. plan.md (" in text.stdout
    result = cli("search", "plan", "--as", ADA, "--mode", "fuzzy")
    assert error_of(result) == "error: mode must be one of hybrid, keyword, vector, not 'fuzzy'"
