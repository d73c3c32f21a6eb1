"""Outlook calls (folder tree, per-folder delta, attachments), subscriptions, and the webhook helpers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from headwater.clients.microsoft import GraphClient, collect_delta
from headwater.clients.microsoft.notifications import (
    max_lifetime,
    renewal_due,
    split_notifications,
    subscription_expiration,
    validation_response,
    verify_client_state,
)
from tests.clients.microsoft.mini_graph import GRAPH, MiniGraph, graph_error, run


def test_mail_folders_include_child_folders() -> None:
    mini = MiniGraph()
    tree = {
        "/users/u1/mailFolders": [
            {"id": "inbox", "childFolderCount": 1},
            {"id": "sent", "childFolderCount": 0},
        ],
        "/users/u1/mailFolders/inbox/childFolders": [{"id": "projects", "childFolderCount": 1}],
        "/users/u1/mailFolders/projects/childFolders": [{"id": "2026", "childFolderCount": 0}],
    }
    for path, folders in tree.items():

        async def listing(request: Request, folders: list[dict[str, Any]] = folders) -> Response:
            return JSONResponse({"value": folders})

        mini.on("GET", path)(listing)

    async def scenario(client: GraphClient) -> list[str]:
        return [folder["id"] async for folder in client.mail_folders("u1")]

    assert run(mini, scenario) == ["inbox", "sent", "projects", "2026"]
    first = mini.graph_requests("/users/u1/mailFolders")[0]
    assert "childFolderCount" in httpx.URL(first.url).params["$select"]


def test_messages_delta_asks_for_page_size_and_immutable_ids() -> None:
    mini = MiniGraph()
    link = f"{GRAPH}/users/u1/mailFolders/inbox/messages/delta?$deltatoken=abc"

    @mini.on("GET", "/users/u1/mailFolders/inbox/messages/delta")
    async def delta(request: Request) -> Response:
        items = [{"id": "m1", "subject": "hi"}, {"id": "m0", "@removed": {"reason": "deleted"}}]
        return JSONResponse({"value": items, "@odata.deltaLink": link})

    items, delta_link = run(
        mini, lambda client: collect_delta(client.messages_delta("u1", "inbox", page_size=25))
    )
    assert [item["id"] for item in items] == ["m1", "m0"]
    assert delta_link == link
    [request] = mini.graph_requests()
    assert request.headers["prefer"] == 'odata.maxpagesize=25, IdType="ImmutableId"'
    selected = httpx.URL(request.url).params["$select"].split(",")
    assert "receivedDateTime" in selected
    assert "body" not in selected


def test_attachments_are_listed_without_bytes_and_fetched_on_demand() -> None:
    mini = MiniGraph()

    @mini.on("GET", "/users/u1/messages/m1/attachments")
    async def attachments(request: Request) -> Response:
        assert "contentBytes" not in request.query_params["$select"]
        return JSONResponse({"value": [{"id": "a1", "name": "plan.pdf", "size": 3}]})

    @mini.on("GET", "/users/u1/messages/m1/attachments/a1/$value")
    async def raw(request: Request) -> Response:
        return Response(b"PDF", media_type="application/pdf")

    async def scenario(client: GraphClient) -> tuple[list[str], bytes]:
        names = [a["name"] async for a in client.message_attachments("u1", "m1")]
        return names, await client.attachment_content("u1", "m1", "a1")

    assert run(mini, scenario) == (["plan.pdf"], b"PDF")


def test_outlook_ids_travel_in_their_rest_form() -> None:
    mini = MiniGraph()
    ews_id = "AAMkAGI2+ab/cd=="

    @mini.on("GET", "/users/u1/messages/AAMkAGI2_ab-cd==")
    async def message(request: Request) -> Response:
        return JSONResponse({"id": ews_id, "subject": "found"})

    assert run(mini, lambda client: client.message("u1", ews_id))["subject"] == "found"


def test_subscriptions_are_created_renewed_and_deleted() -> None:
    mini = MiniGraph()
    store: dict[str, dict[str, Any]] = {}

    @mini.on("POST", "/subscriptions")
    async def create(request: Request) -> Response:
        body = json.loads(await request.body())
        store["sub-1"] = {"id": "sub-1", **body}
        return JSONResponse(store["sub-1"], 201)

    @mini.on("PATCH", "/subscriptions/sub-1")
    async def renew(request: Request) -> Response:
        store["sub-1"].update(json.loads(await request.body()))
        return JSONResponse(store["sub-1"])

    @mini.on("DELETE", "/subscriptions/sub-1")
    async def delete(request: Request) -> Response:
        if store.pop("sub-1", None) is None:
            return graph_error(404, "ResourceNotFound", "subscription not found")
        return Response(status_code=204)

    expiry = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)

    async def scenario(client: GraphClient) -> dict[str, Any]:
        created = await client.create_subscription(
            "/drives/b!d1/root", "updated", "https://hw.example/hooks/graph", "state-123", expiry
        )
        renewed = await client.renew_subscription(created["id"], expiry + timedelta(days=1))
        await client.delete_subscription("sub-1")
        await client.delete_subscription("sub-1")  # already gone: fine
        return renewed

    renewed = run(mini, scenario)
    assert renewed["expirationDateTime"] == "2026-11-28T10:30:00Z"
    created_body = json.loads(mini.graph_requests("/subscriptions")[0].body)
    assert created_body == {
        "changeType": "updated",
        "notificationUrl": "https://hw.example/hooks/graph",
        "resource": "/drives/b!d1/root",
        "expirationDateTime": "2026-11-27T10:30:00Z",
        "clientState": "state-123",
    }
    assert store == {}
    with pytest.raises(ValueError, match="time zone"):
        run(mini, lambda client: client.renew_subscription("sub-1", datetime(2026, 1, 1)))


def test_validation_handshake_and_client_state() -> None:
    assert validation_response({"validationToken": "Validation: Testing client application"}) == (
        "Validation: Testing client application"
    )
    assert validation_response({}) is None
    assert verify_client_state({"clientState": "state-123"}, "state-123")
    assert not verify_client_state({"clientState": "state-124"}, "state-123")
    assert not verify_client_state({}, "state-123")
    assert not verify_client_state({"clientState": ""}, "")
    delivery = {
        "value": [
            {"subscriptionId": "s1", "clientState": "a", "resource": "drives/d1/root"},
            {"subscriptionId": "s2", "clientState": "forged", "resource": "users/u1/messages/m1"},
            {"subscriptionId": "unknown", "clientState": "a"},
        ]
    }
    batch = split_notifications(delivery, {"s1": "a", "s2": "b"})
    assert [n["subscriptionId"] for n in batch.accepted] == ["s1"]
    assert [n["subscriptionId"] for n in batch.rejected] == ["s2", "unknown"]


def test_subscription_lifetimes_and_renewal() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert max_lifetime("/users/u1/mailFolders('inbox')/messages") < timedelta(minutes=4_230)
    assert max_lifetime("/drives/b!d1/root") < timedelta(minutes=42_300)
    assert max_lifetime("/groups") < timedelta(minutes=41_760)
    assert max_lifetime("/users/u1/drive/root") == max_lifetime("/drives/b!d1/root")
    expiry = subscription_expiration("/drives/b!d1/root", now)
    assert not renewal_due("/drives/b!d1/root", expiry, now)
    assert renewal_due("/drives/b!d1/root", expiry, now + max_lifetime("/drives/x/root") / 2)
