"""The connectors API through httpx's ASGI transport: the registry and forms, adding and configuring
instances, every access rule, write-only secrets, enable/disable, sync requests run by a real
sync engine, status, history with the failure ledger, retry, and the live status stream."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from headwater.api import create_app
from headwater.api.state import holder_of
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.services import accounts, api_tokens
from headwater.services.platform import Platform, config_key
from headwater.services.sync_sidecar import checkpoint_progress
from headwater.services.syncing import ObservingFactory
from headwater.store.registry import open_store
from headwater.store.schema import PARTITIONS
from tests.api.conftest import ApiInstance, ClientFactory
from tests.cli.notes_connector import NOTES, NotesFolderConnector
from tests.fakes.oauth_connector import FAKE_CLOUD, FakeCloudConnector
from tests.fakes.server import serve_app

pytestmark = pytest.mark.anyio

TOKEN = "notes-token-Zq81-very-secret"
MASK = "••••"


@pytest.fixture(autouse=True)
def test_connectors() -> Iterator[None]:
    ConnectorFactory.register_connector(NOTES, NotesFolderConnector)
    ConnectorFactory.register_connector(FAKE_CLOUD, FakeCloudConnector)
    yield
    ConnectorFactory.unregister_connector(NOTES)
    ConnectorFactory.unregister_connector(FAKE_CLOUD)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    root.mkdir()
    (root / ".token").write_text(TOKEN)
    (root / "readme.md").write_text("# Readme")
    (root / "plan.md").write_text("# Plan")
    (root / "broken.bad").write_text("???")
    return root


async def add_notes(
    client: httpx.AsyncClient, folder: Path, name: str = "notes", scope: str = "personal", **extra: Any
) -> httpx.Response:
    body = {"name": name, "type": NOTES, "scope": scope, "config": {"folder": str(folder), "apiToken": TOKEN}}
    return await client.post("/api/v1/connectors", json=body | extra)


def no_secret(response: httpx.Response) -> dict[str, Any]:
    assert TOKEN not in response.text
    body: dict[str, Any] = response.json()
    return body


# ---- the registry ---------------------------------------------------------------------------------


async def test_registry_lists_types_with_metadata_and_icons(client_for: ClientFactory) -> None:
    member = await client_for("member@acme.test")
    r = await member.get("/api/v1/connector-types")
    assert r.status_code == 200
    types = {t["name"]: t for t in r.json()["connectorTypes"]}
    local = types["Local FS"]
    assert local["id"] == "localfs"
    assert local["iconUrl"] == "/api/v1/connector-types/localfs/icon"
    assert local["authTypes"] == ["NONE"]
    assert local["scopes"] == ["team"]  # through the API, Local FS is a team connector (admins only)
    assert local["usesOAuth"] is False
    cloud = types[FAKE_CLOUD]
    assert cloud["usesOAuth"] is True
    assert cloud["oauthScopes"] == ["files.read", "offline_access"]

    own = await member.get(local["iconUrl"])
    generic = await member.get(types[NOTES]["iconUrl"])
    assert own.status_code == generic.status_code == 200
    assert own.headers["content-type"] == "image/svg+xml"
    assert own.content.startswith(b"<svg")
    assert generic.content.startswith(b"<svg")
    assert own.content != generic.content  # Local FS ships its own icon, Notes Folder gets the generic one
    assert (await member.get("/api/v1/connector-types/nosuchthing/icon")).status_code == 404


async def test_form_schema_comes_from_the_builder(client_for: ClientFactory) -> None:
    member = await client_for("member@acme.test")
    r = await member.get("/api/v1/connector-types/Notes Folder/form")
    assert r.status_code == 200
    form = r.json()
    sections = {s["id"]: {f["name"]: f for f in s["fields"]} for s in form["sections"]}
    assert list(sections) == ["auth", "sync", "filters.sync", "filters.indexing"]
    token = sections["auth"]["apiToken"]
    assert (token["type"], token["secret"], token["required"]) == ("PASSWORD", True, True)
    mode = sections["auth"]["mode"]
    assert mode["options"] == [{"id": "fast", "label": "fast"}, {"id": "thorough", "label": "thorough"}]
    assert mode["default"] == "fast"
    assert mode["required"] is False
    interval = sections["sync"]["intervalMinutes"]
    assert interval["showIf"] == {"field": "sync.strategy", "operator": "equals", "value": "SCHEDULED"}
    assert sections["filters.sync"]["file_extensions"]["dynamicOptionsUrl"] is None
    assert "in" in sections["filters.sync"]["file_extensions"]["operators"]

    cloud = (await member.get("/api/v1/connector-types/fakecloud/form?authType=OAUTH")).json()
    folders = next(f for s in cloud["sections"] for f in s["fields"] if f["name"] == "folders")
    assert folders["dynamicOptionsUrl"] == "/api/v1/connectors/{connectorId}/filters/folders/options"
    assert cloud["oauth"]["scopes"] == ["files.read", "offline_access"]
    assert cloud["oauth"]["callbackPath"] == "/api/v1/oauth/callback"

    bad = await member.get("/api/v1/connector-types/Notes Folder/form?authType=OAUTH")
    assert bad.status_code == 422
    assert "API_TOKEN" in bad.json()["error"]["message"]
    assert (await member.get("/api/v1/connector-types/nope/form")).status_code == 404


# ---- access rules -----------------------------------------------------------------------------------


async def test_members_add_personal_instances_that_nobody_else_sees(
    client_for: ClientFactory, folder: Path
) -> None:
    member, member2 = await client_for("member@acme.test"), await client_for("member2@acme.test")
    admin, other = await client_for("admin@acme.test"), await client_for("admin@other.test")

    team = await add_notes(member, folder, scope="team")
    assert team.status_code == 403
    assert "admin" in team.json()["error"]["message"]

    r = await add_notes(member, folder, name="My notes")
    assert r.status_code == 201, r.text
    mine = no_secret(r)
    assert (mine["scope"], mine["isActive"], mine["status"], mine["canManage"]) == (
        "personal",
        True,
        "IDLE",
        True,
    )
    cid = mine["id"]

    assert [c["id"] for c in (await member.get("/api/v1/connectors")).json()["connectors"]] == [cid]
    for outsider in (member2, admin, other):  # an admin does not see someone's personal instance either
        assert (await outsider.get("/api/v1/connectors")).json()["connectors"] == []
        for method, path in (
            ("GET", f"/api/v1/connectors/{cid}"),
            ("GET", f"/api/v1/connectors/{cid}/status"),
            ("GET", f"/api/v1/connectors/{cid}/runs"),
            ("PATCH", f"/api/v1/connectors/{cid}/config"),
            ("POST", f"/api/v1/connectors/{cid}/sync"),
            ("POST", f"/api/v1/connectors/{cid}/disable"),
            ("DELETE", f"/api/v1/connectors/{cid}"),
        ):
            kwargs: dict[str, Any] = {"json": {}} if method in ("PATCH", "POST") else {}
            got = await outsider.request(method, path, **kwargs)
            assert got.status_code == 404, (method, path, got.text)

    # personal names are unique per person, team names per organisation
    assert (await add_notes(member, folder, name="my NOTES")).status_code == 409
    assert (await add_notes(member2, folder, name="My notes")).status_code == 201


async def test_team_instances_are_read_only_for_members_and_hidden_from_other_orgs(
    client_for: ClientFactory, folder: Path
) -> None:
    admin, member = await client_for("admin@acme.test"), await client_for("member@acme.test")
    other = await client_for("admin@other.test")
    r = await add_notes(admin, folder, name="Team notes", scope="team")
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["config"]["values"]["auth.apiToken"] == MASK

    seen = (await member.get("/api/v1/connectors")).json()["connectors"]
    assert [(c["id"], c["canManage"]) for c in seen] == [(cid, False)]
    view = no_secret(await member.get(f"/api/v1/connectors/{cid}"))
    assert view["config"] is None  # members see the state, not the config
    assert (await member.get(f"/api/v1/connectors/{cid}/status")).status_code == 200
    assert (await member.get(f"/api/v1/connectors/{cid}/runs")).status_code == 200
    for method, path, body in (
        ("PATCH", f"/api/v1/connectors/{cid}/config", {"config": {"mode": "thorough"}}),
        ("POST", f"/api/v1/connectors/{cid}/sync", {"full": True}),
        ("POST", f"/api/v1/connectors/{cid}/retry-failed", None),
        ("POST", f"/api/v1/connectors/{cid}/disable", None),
        ("DELETE", f"/api/v1/connectors/{cid}", None),
        ("GET", f"/api/v1/connectors/{cid}/runs/any/failures", None),
    ):
        got = await member.request(method, path, json=body)
        assert got.status_code == 403, (method, path, got.text)
        assert (await other.request(method, path, json=body)).status_code == 404, (method, path)
    assert (await other.get(f"/api/v1/connectors/{cid}")).status_code == 404
    assert (await other.get("/api/v1/connectors")).json()["connectors"] == []


# ---- secrets -----------------------------------------------------------------------------------------


async def test_secrets_are_write_only(client_for: ClientFactory, app: FastAPI, folder: Path) -> None:
    member = await client_for("member@acme.test")
    cid = no_secret(await add_notes(member, folder))["id"]
    state = await holder_of(app).get()

    async def stored_token() -> str:
        config = await state.config.get(config_key(cid))
        assert config is not None
        return str(config["auth"]["apiToken"])

    view = no_secret(await member.get(f"/api/v1/connectors/{cid}"))
    assert view["config"]["values"]["auth.apiToken"] == MASK
    assert view["config"]["values"]["auth.folder"] == str(folder)
    no_secret(await member.get("/api/v1/connectors"))

    # the form sent back as shown keeps the secret; so does leaving it out
    values = dict(view["config"]["values"])
    r = await member.patch(f"/api/v1/connectors/{cid}/config", json={"config": values})
    assert r.status_code == 200
    assert no_secret(r)["changed"] is False
    r = await member.patch(f"/api/v1/connectors/{cid}/config", json={"config": {"mode": "thorough"}})
    assert no_secret(r)["changed"] is True
    assert r.json()["config"]["values"]["auth.mode"] == "thorough"
    assert await stored_token() == TOKEN

    # a wrong new secret is refused by the connection test, without echoing it
    r = await member.patch(
        f"/api/v1/connectors/{cid}/config", json={"config": {"apiToken": "wrong-Token-123"}}
    )
    assert r.status_code == 422
    assert "wrong-Token-123" not in r.text
    assert await stored_token() == TOKEN
    r = await member.patch(
        f"/api/v1/connectors/{cid}/config", json={"config": {"apiToken": "new-Token-456"}, "check": False}
    )
    assert r.status_code == 200
    assert "new-Token-456" not in r.text
    assert await stored_token() == "new-Token-456"

    # encrypted at rest: the plaintext is nowhere in the database file
    raw = b"".join(p.read_bytes() for p in state.settings.data_dir.glob("headwater.db*"))
    assert b"new-Token-456" not in raw
    assert TOKEN.encode() not in raw


async def test_bad_config_is_refused_with_the_field_named(client_for: ClientFactory, folder: Path) -> None:
    member = await client_for("member@acme.test")
    r = await member.post(
        "/api/v1/connectors", json={"name": "x", "type": NOTES, "config": {"folder": str(folder)}}
    )
    assert r.status_code == 422
    assert "apiToken" in r.json()["error"]["message"]
    r = await add_notes(member, folder, config={"folder": str(folder), "apiToken": TOKEN, "pageSize": "many"})
    assert r.status_code == 422
    assert "pageSize" in r.json()["error"]["message"]
    r = await member.post("/api/v1/connectors", json={"name": "x", "type": "no such type", "config": {}})
    assert r.status_code == 404
    assert "no such type" in r.json()["error"]["message"]
    r = await add_notes(member, folder, config={"folder": str(folder), "apiToken": "not-the-token"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "connector_not_ready"
    assert (await member.get("/api/v1/connectors")).json()["connectors"] == []


# ---- enabling, syncing, history ------------------------------------------------------------------------


def sync_events(app_state: Any) -> list[dict[str, Any]]:
    with app_state.store.read() as tx:
        found = [e for p in range(PARTITIONS) for e in tx.read_events("sync-events", p)]
    return [e.event for e in sorted(found, key=lambda e: (e.partition, e.offset))]


async def run_worker_until(app: FastAPI, done: Any, timeout_s: float = 20.0) -> None:
    """Run a real sync worker (the engine's `serve`: sync-events consumer + scheduler) until `done()`."""
    state = await holder_of(app).get()
    stop = asyncio.Event()
    engine = SyncEngine(state.store, state.config, worker_id="test-worker", scheduler_interval_s=0.05)
    task = asyncio.create_task(engine.serve(stop, poll_interval_s=0.02))
    try:
        async with asyncio.timeout(timeout_s):
            while not await done():
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


async def test_sync_request_runs_in_the_worker_and_history_shows_failures(
    client_for: ClientFactory, app: FastAPI, folder: Path
) -> None:
    admin, member = await client_for("admin@acme.test"), await client_for("member@acme.test")
    cid = (await add_notes(admin, folder, name="Team notes", scope="team")).json()["id"]

    r = await admin.post(f"/api/v1/connectors/{cid}/sync", json={"full": True})
    assert r.status_code == 202
    assert r.json() == {
        "connectorId": cid,
        "requested": True,
        "full": True,
        "status": "IDLE",
    }
    state = await holder_of(app).get()
    [event] = sync_events(state)
    assert event["eventType"] == "notesfolder.resync"
    assert event["payload"]["fullSync"] is True

    async def finished() -> bool:
        status = (await member.get(f"/api/v1/connectors/{cid}/status")).json()
        return status["lastRun"] is not None and status["status"] == "IDLE"

    await run_worker_until(app, finished)
    status = (await member.get(f"/api/v1/connectors/{cid}/status")).json()
    assert status["progress"] is None
    assert status["error"] is None
    assert status["lastSyncedAt"]
    assert status["lastRun"]["outcome"] == "completed"
    assert status["lastRun"]["full"] is True
    assert status["lastRun"]["counts"]["new"] == 2
    assert status["lastRun"]["counts"]["failed"] == 1

    [run] = (await member.get(f"/api/v1/connectors/{cid}/runs")).json()["runs"]
    assert run["failedItems"] == 1
    assert run["outcome"] == "completed"
    r = await admin.get(f"/api/v1/connectors/{cid}/runs/{run['id']}/failures")
    assert r.status_code == 200
    [failure] = r.json()["failures"]
    assert failure["externalId"] == "broken.bad"
    assert failure["reason"] == "the file is corrupt"
    assert (await admin.get(f"/api/v1/connectors/{cid}/runs/nosuchrun/failures")).status_code == 404

    r = await admin.post(f"/api/v1/connectors/{cid}/retry-failed")
    assert r.status_code == 202
    assert (r.json()["mode"], r.json()["failedItems"]) == ("full_sync", 1)
    kinds = [
        (e["eventType"], e["payload"].get("fullSync"), e["payload"].get("statusFilters"))
        for e in sync_events(state)
    ]
    assert kinds[-2:] == [("notesfolder.resync", True, None), ("notesfolder.reindex", None, ["FAILED"])]


async def test_disable_stops_sync_requests_and_enable_checks_the_config(
    client_for: ClientFactory, folder: Path
) -> None:
    member = await client_for("member@acme.test")
    cid = (await add_notes(member, folder)).json()["id"]
    r = await member.post(f"/api/v1/connectors/{cid}/disable")
    assert (r.status_code, r.json()["isActive"], r.json()["changed"]) == (200, False, True)
    r = await member.post(f"/api/v1/connectors/{cid}/sync", json={})
    assert r.status_code == 409
    assert "enable" in r.json()["error"]["message"]
    (folder / ".token").write_text("rotated")  # the stored token no longer works
    r = await member.post(f"/api/v1/connectors/{cid}/enable")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "connector_not_ready"
    (folder / ".token").write_text(TOKEN)
    r = await member.post(f"/api/v1/connectors/{cid}/enable")
    assert (r.status_code, r.json()["isActive"]) == (200, True)
    assert (await member.post(f"/api/v1/connectors/{cid}/sync")).status_code == 202


async def test_status_stream_sends_server_sent_events(client_for: ClientFactory, folder: Path) -> None:
    member, member2 = await client_for("member@acme.test"), await client_for("member2@acme.test")
    cid = (await add_notes(member, folder)).json()["id"]
    r = await member.get(f"/api/v1/connectors/{cid}/events?limit=1")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    [message] = [m for m in r.text.split("\n\n") if m]
    kind, data = message.split("\n", 1)
    assert kind == "event: status"
    status = json.loads(data.removeprefix("data: "))
    assert (status["connectorId"], status["status"], status["isActive"]) == (cid, "IDLE", True)
    assert (await member2.get(f"/api/v1/connectors/{cid}/events?limit=1")).status_code == 404


async def test_progress_is_live_while_a_worker_syncs(
    client_for: ClientFactory, app: FastAPI, folder: Path
) -> None:
    """The sync worker's sidecar checkpoints a running sync's counts; the API reads them from the store."""
    member = await client_for("member@acme.test")
    for i in range(10):
        (folder / f"extra-{i}.md").write_text(f"# Extra {i}")
    cid = (await add_notes(member, folder)).json()["id"]
    state = await holder_of(app).get()
    factory = ObservingFactory()
    engine = SyncEngine(state.store, state.config, factory, worker_id="progress-worker")
    hub = Platform(state.settings, state.store, state.config)
    NotesFolderConnector.page_delay_s = 0.1
    try:
        run = asyncio.create_task(engine.run_sync(cid, full=True))
        seen: list[dict[str, Any]] = []
        while not run.done():
            checkpoint_progress(hub, engine, factory)
            status = (await member.get(f"/api/v1/connectors/{cid}/status")).json()
            if status["progress"] is not None:
                seen.append(status)
            await asyncio.sleep(0.05)
        assert (await run)["outcome"] == "completed"
    finally:
        NotesFolderConnector.page_delay_s = 0.0
    processed = [s["progress"]["processed"] for s in seen]
    assert any(0 < p < 12 for p in processed), processed  # counts seen mid-run
    assert processed == sorted(processed)
    assert {s["status"] for s in seen} == {"FULL_SYNCING"}
    done = (await member.get(f"/api/v1/connectors/{cid}/status")).json()
    assert done["progress"] is None
    assert done["lastRun"]["counts"]["new"] == 12


async def test_status_stream_ends_when_the_client_disconnects(
    instance: ApiInstance, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Over a real server (uvicorn on 127.0.0.1): the open-ended stream stops once the client leaves."""
    store = open_store(instance.settings.resolved_store_url)
    try:
        token, _ = api_tokens.create_token(store, accounts.find_account(store, "member@acme.test"), "sse")
    finally:
        store.close()
    served = create_app(instance.settings, embedder=HashingEmbedder())
    caplog.set_level(logging.DEBUG, logger="headwater.api.connectors")
    with serve_app(served) as base:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            cid = (await add_notes(client, folder)).json()["id"]
            async with client.stream("GET", f"/api/v1/connectors/{cid}/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                first = await anext(stream.aiter_text())
                assert first.startswith("event: status\ndata: ")
        async with asyncio.timeout(10):
            while f"status stream of connector {cid} closed" not in caplog.text:
                await asyncio.sleep(0.05)
