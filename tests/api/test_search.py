"""POST /api/v1/search and /api/v1/ask: only what the caller may read, with citations."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from headwater.api import create_app
from headwater.api.state import holder_of
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.services import accounts, api_tokens
from headwater.settings import Settings
from tests.api.conftest import BASE_URL, ApiInstance, ClientFactory
from tests.api.seeded_world import (  # noqa: F401
    ADMIN,
    MARKDOWN,
    MEMBER,
    MEMBER2,
    OTHER,
    World,
    seeded_instance,
    world_fixture,
)
from tests.fakes.openai_chat import FakeChatState
from tests.fakes.openai_chat import create_app as create_chat_app

pytestmark = pytest.mark.anyio

FINDS = {
    ADMIN: {"admin-plan.md", "handbook.md"},
    MEMBER: {"member-diary.md", "handbook.md", "group-minutes.md"},
    MEMBER2: {"group-minutes.md"},
    OTHER: {"other-secret.md"},
}


async def search(client: httpx.AsyncClient, query: str, **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/search", json={"query": query, "k": 20} | extra)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(body: dict[str, Any]) -> set[str]:
    return {h["recordName"] for h in body["hits"]}


@pytest.mark.parametrize("mode", ["keyword", "vector", "hybrid"])
async def test_each_user_finds_exactly_what_they_can_read(client_for: ClientFactory, mode: str) -> None:
    assert set().union(*FINDS.values()) == MARKDOWN  # the binary file was never indexed
    for email, expected in FINDS.items():
        client = await client_for(email)
        assert names(await search(client, "quarterly", mode=mode)) == expected, (email, mode)


async def test_hits_carry_snippet_location_and_connector(client_for: ClientFactory, world: World) -> None:
    member = await client_for(MEMBER)
    body = await search(member, "hotels reimbursed", mode="keyword")
    assert body["mode"] == "keyword"
    assert body["tookMs"] >= 0
    top = body["hits"][0]
    assert top["recordName"] == "handbook.md"
    assert top["recordKey"] == world.records["handbook.md"]
    assert top["recordType"] == "FILE"
    assert top["connector"] == {"id": world.connectors["Handbook"], "name": "Handbook", "type": "LOCAL_FS"}
    assert "[[Hotels]] are [[reimbursed]]" in top["snippet"]
    assert "<mark>Hotels</mark> are <mark>reimbursed</mark>" in top["snippetHtml"]
    assert top["location"] == {"heading": "Travel", "line": 3}
    assert top["score"] > 0


async def test_filters_narrow_the_search(client_for: ClientFactory, world: World) -> None:
    member = await client_for(MEMBER)
    handbook = {"connectorIds": [world.connectors["Handbook"]]}
    assert names(await search(member, "quarterly", filters=handbook)) == {"handbook.md"}
    group = {"recordGroupIds": [world.groups["Group folder"]]}
    assert names(await search(member, "quarterly", filters=group)) == {"group-minutes.md"}
    assert names(await search(member, "quarterly", filters={"recordTypes": ["MAIL"]})) == set()
    assert names(await search(member, "quarterly", filters={"recordTypes": ["file"]})) == FINDS[MEMBER]
    window = {"modifiedFrom": "2026-01-31T00:00:00Z", "modifiedTo": "2026-02-10T00:00:00Z"}
    assert names(await search(member, "quarterly", filters=window)) == {"group-minutes.md"}
    # another organisation's connector narrows to nothing; it does not widen anything
    other = {"connectorIds": [world.connectors["Other notes"]]}
    assert names(await search(member, "quarterly", filters=other)) == set()


async def test_no_searching_as_someone_else_and_clear_errors(client_for: ClientFactory) -> None:
    admin = await client_for(ADMIN)
    as_member = await admin.post("/api/v1/search", json={"query": "quarterly", "asUser": MEMBER})
    assert as_member.status_code == 422
    assert "asUser" in as_member.json()["error"]["message"]
    for body, field in (
        ({"query": ""}, "query"),
        ({"query": "x", "k": 0}, "k"),
        ({"query": "x", "mode": "fuzzy"}, "mode"),
        # bodies are strict: what the schema calls a string, boolean or integer is exactly that
        ({"query": "x", "filters": {"modifiedFrom": 0}}, "modifiedFrom"),
        ({"query": "x", "k": "5"}, "k"),
        ({"query": "x", "k": 5.5}, "k"),
        ({"query": "x", "k": True}, "k"),
        ({"query": 5}, "query"),
    ):
        response = await admin.post("/api/v1/search", json=body)
        assert response.status_code == 422, body
        if field:
            assert field in response.json()["error"]["message"]
    whole_float = await admin.post("/api/v1/search", json={"query": "x", "k": 5.0})
    assert whole_float.status_code == 200  # JSON Schema's integer is a value: 5.0 is one
    backwards = {"modifiedFrom": "2026-03-01T00:00:00Z", "modifiedTo": "2026-02-01T00:00:00Z"}
    assert names(await search(admin, "quarterly", filters=backwards)) == set()  # empty, not an error
    blank = await admin.post("/api/v1/search", json={"query": "   "})
    assert blank.status_code == 422
    assert blank.json()["error"]["message"] == "the query is empty — say what to search for"


async def test_a_grant_removed_before_the_index_hears_of_it_is_not_shown(
    app: FastAPI, client_for: ClientFactory, world: World, instance: ApiInstance
) -> None:
    member = await client_for(MEMBER)
    state = await holder_of(app).get()
    with state.store.transaction() as tx:  # the graph changed; no indexing worker runs here
        tx.delete_edges(
            "permissions",
            from_id=f"users/{instance.user_keys[MEMBER]}",
            to_id=f"recordGroups/{world.groups['Handbook']}",
        )
    assert names(await search(member, "quarterly")) == FINDS[MEMBER] - {"handbook.md"}


# ---- ask: extractive ----------------------------------------------------------------------------


def events_of(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


async def test_extractive_answer_cites_only_readable_passages(
    client_for: ClientFactory, world: World
) -> None:
    member = await client_for(MEMBER)
    response = await member.post("/api/v1/ask", json={"question": "When is the quarterly offsite?"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert answer["mode"] == "extractive"
    assert answer["model"] is None
    cited = {c["recordName"] for c in answer["citations"]}
    assert cited <= FINDS[MEMBER]
    assert "group-minutes.md" in cited
    first = answer["citations"][0]
    assert first["number"] == 1
    assert first["recordKey"] == world.records[first["recordName"]]
    assert "[1]" in answer["text"]
    assert "salaries" not in answer["text"]

    outsider = await client_for(OTHER)
    theirs = (await outsider.post("/api/v1/ask", json={"question": "hotels reimbursed"})).json()
    assert {c["recordName"] for c in theirs["citations"]} <= {"other-secret.md"}


async def test_extractive_answer_as_events_when_asked(client_for: ClientFactory) -> None:
    member = await client_for(MEMBER2)
    response = await member.post("/api/v1/ask", json={"question": "quarterly offsite", "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds == ["citation", "token", "done"]
    assert events[0][1]["recordName"] == "group-minutes.md"
    assert events[2][1]["text"] == events[1][1]["text"]


async def test_ask_validates_the_question(client_for: ClientFactory) -> None:
    member = await client_for(MEMBER)
    assert (await member.post("/api/v1/ask", json={"question": ""})).status_code == 422
    blank = await member.post("/api/v1/ask", json={"question": "  "})
    assert blank.status_code == 422
    assert "question is empty" in blank.json()["error"]["message"]
    assert (await member.post("/api/v1/ask", json={"question": "x", "k": 99})).status_code == 422
    for stream in (0, 1, "true", "yes"):  # a boolean is true or false, nothing that looks like one
        refused = await member.post("/api/v1/ask", json={"question": "x", "stream": stream})
        assert refused.status_code == 422, stream
        assert "stream" in refused.json()["error"]["message"]
    too_long = await member.post("/api/v1/ask", json={"question": "x" * 1001})
    assert too_long.status_code == 422  # the question is the search query: the same limit


# ---- ask: a chat endpoint (the fake OpenAI-compatible server, reached through the injected client) --


@pytest.fixture
def chat() -> FakeChatState:
    return FakeChatState()


@pytest.fixture
async def chat_client_for(
    instance: ApiInstance, embedder: HashingEmbedder, chat: FakeChatState
) -> AsyncIterator[ClientFactory]:
    settings = Settings(
        data_dir=instance.data_dir, llm_url="openai+http://chat.test/v1?model=tiny", llm_api_key=chat.api_key
    )
    outgoing = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_chat_app(chat)))
    app = create_app(settings, embedder=embedder, http=outgoing)
    opened: list[httpx.AsyncClient] = []

    async def make(email: str) -> httpx.AsyncClient:
        state = await holder_of(app).get()
        token, _ = api_tokens.create_token(
            state.store, accounts.find_account(state.store, email), "chat test"
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer {token}"},
        )
        opened.append(client)
        return client

    try:
        yield make
    finally:
        for client in opened:
            await client.aclose()
        await holder_of(app).close()
        await outgoing.aclose()


async def test_streamed_answer_from_the_chat_endpoint(
    chat_client_for: ClientFactory, chat: FakeChatState, world: World
) -> None:
    member = await chat_client_for(MEMBER)
    response = await member.post("/api/v1/ask", json={"question": "Where does the quarterly offsite move?"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(response.text)
    citations = [data for kind, data in events if kind == "citation"]
    tokens = [data["text"] for kind, data in events if kind == "token"]
    kind, done = events[-1]
    assert kind == "done"
    assert [c["number"] for c in citations] == list(range(1, len(citations) + 1))
    assert {c["recordName"] for c in citations} <= FINDS[MEMBER]
    assert len(tokens) > 1  # streamed in pieces
    assert done["text"] == "".join(tokens)
    assert done["mode"] == "llm"
    assert done["model"] == "tiny"
    assert "The quarterly offsite moves to a lighthouse in May." in done["text"]
    assert {c["recordName"] for c in done["citations"]} <= {c["recordName"] for c in citations}
    assert "group-minutes.md" in {c["recordName"] for c in done["citations"]}
    # the model saw only what the member may read
    [sent] = chat.requests
    prompt = sent["messages"][1]["content"]
    assert "lighthouse in May" in prompt
    assert "salaries" not in prompt
    assert "Other's quarterly" not in prompt

    as_json = await member.post("/api/v1/ask", json={"question": "quarterly offsite", "stream": False})
    assert as_json.status_code == 200
    assert as_json.json()["mode"] == "llm"


async def test_a_failing_chat_endpoint_is_reported_without_the_key(
    chat_client_for: ClientFactory, chat: FakeChatState
) -> None:
    member = await chat_client_for(MEMBER)
    chat.fail_with = 503
    streamed = await member.post("/api/v1/ask", json={"question": "quarterly offsite"})
    kind, error = events_of(streamed.text)[-1]
    assert kind == "error"
    assert error["code"] == "answer_failed"
    assert "503" in error["message"]
    assert "overloaded" in error["message"]
    assert chat.api_key not in streamed.text
    as_json = await member.post("/api/v1/ask", json={"question": "quarterly offsite", "stream": False})
    assert as_json.status_code == 502
    assert as_json.json()["error"]["code"] == "answer_failed"
    assert chat.api_key not in as_json.text


# ---- links the source asked to hide ---------------------------------------------------------------


async def test_hits_and_citations_never_show_a_hidden_web_url(
    app: FastAPI, client_for: ClientFactory, world: World
) -> None:
    """A source that marks a record `hideWeburl` gets no link in hits or citations (as in browsing),
    while other records keep theirs; the index still holds the URL, the graph decides."""
    state = await holder_of(app).get()
    urls = {
        "handbook.md": "https://intranet.test/handbook",
        "group-minutes.md": "https://intranet.test/minutes",
    }
    for name, url in urls.items():
        key = world.records[name]
        indexed = state.search_index.get_record(key)
        assert indexed is not None
        state.search_index.update_record(dataclasses.replace(indexed, web_url=url))
        with state.store.transaction() as tx:
            doc = tx.get_node("records", key)
            assert doc is not None
            tx.upsert_nodes("records", [doc | {"webUrl": url, "hideWeburl": name == "handbook.md"}])
    member = await client_for(MEMBER)

    hits = {h["recordName"]: h["webUrl"] for h in (await search(member, "quarterly"))["hits"]}
    assert hits["handbook.md"] is None
    assert hits["group-minutes.md"] == urls["group-minutes.md"]

    response = await member.post("/api/v1/ask", json={"question": "quarterly review offsite", "k": 5})
    cited = {c["recordName"]: c["webUrl"] for c in response.json()["citations"]}
    assert cited.get("handbook.md", "absent") in (None, "absent")
    events = events_of(
        (await member.post("/api/v1/ask", json={"question": "quarterly", "k": 5, "stream": True})).text
    )
    streamed = {d["recordName"]: d["webUrl"] for kind, d in events if kind == "citation"}
    assert streamed["handbook.md"] is None
    assert streamed["group-minutes.md"] == urls["group-minutes.md"]
    record = await member.get(f"/api/v1/records/{world.records['handbook.md']}")
    assert record.json()["webUrl"] is None  # browsing agrees


async def test_closing_the_app_stops_the_query_embedding_threads(
    client_for: ClientFactory, app: FastAPI
) -> None:
    member = await client_for(MEMBER)
    await search(member, "quarterly", mode="hybrid")  # embeds the query on the service's thread pool
    service = (await holder_of(app).get()).search  # held, so only close() can stop its threads
    assert any(t.name.startswith("search-embed") for t in threading.enumerate())
    await holder_of(app).close()
    assert not any(t.name.startswith("search-embed") for t in threading.enumerate()), service
