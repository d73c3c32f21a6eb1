"""`headwater records`, `users` and `search`: what the graph holds and who may read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from headwater.settings import Settings
from headwater.store.registry import open_store
from tests.cli.conftest import ADA, BOB, Cli, error_of


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


def test_search_calls_the_search_service_when_there_is_one(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Path, str, str, int, str]] = []
    hit = {"recordName": "plan.md", "score": 0.5, "snippet": "the **plan**", "webUrl": None}

    class Results:
        def as_dict(self) -> dict[str, Any]:
            return {"query": "plan", "mode": "keyword", "tookMs": 1.5, "hits": [hit]}

    def search(
        settings: Settings, query: str, user_email: str, *, k: int = 10, mode: str = "hybrid"
    ) -> Results:
        calls.append((settings.data_dir, query, user_email, k, mode))
        return Results()

    monkeypatch.setattr("headwater.search.service.search", search)
    assert cli.json("search", "plan", "--as", ADA, "--limit", "3", "--mode", "keyword") == {
        "query": "plan",
        "asUser": ADA,
        "mode": "keyword",
        "tookMs": 1.5,
        "hits": [hit],
    }
    assert calls == [(cli.data_dir, "plan", ADA, 3, "keyword")]
    text = cli("search", "plan", "--as", ADA)
    assert "1. plan.md (0.500)" in text.stdout
    assert "the **plan**" in text.stdout
    result = cli("search", "plan", "--as", ADA, "--mode", "fuzzy")
    assert error_of(result) == "error: mode must be one of hybrid, keyword, vector, not 'fuzzy'"
