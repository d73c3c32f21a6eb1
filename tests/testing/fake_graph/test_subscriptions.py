"""Subscriptions: the validationToken handshake, renewal, deletion, change notifications with clientState."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from headwater.testing.fake_graph import FakeGraph
from tests.testing.fake_graph.conftest import Seed
from tests.testing.fake_graph.helpers import session

run = asyncio.run


class Receiver:
    """A webhook endpoint: echoes validation tokens (unless told not to) and keeps notifications."""

    def __init__(self, *, echo: bool = True) -> None:
        self.echo = echo
        self.notifications: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            return PlainTextResponse(token if self.echo else "nope")
        self.notifications.extend((await request.json())["value"])
        return Response(status_code=202)


def _expiry(graph: FakeGraph, minutes: int) -> str:
    return (graph.tenant.clock.now() + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_handshake_notifications_renewal_and_deletion(graph: FakeGraph, seed: Seed) -> None:
    receiver = Receiver()
    tenant = seed.tenant

    async def scenario() -> dict[str, Any]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as hooks:
            graph.notifications.client = hooks
            async with session(graph) as s:
                drive_sub = await s.request(
                    "POST",
                    "/subscriptions",
                    json={
                        "changeType": "updated",
                        "notificationUrl": "https://hooks.example/hook",
                        "resource": f"/drives/{seed.drive.id}/root",
                        "expirationDateTime": _expiry(graph, 60),
                        "clientState": "drive-secret",
                    },
                )
                mail_sub = await s.request(
                    "POST",
                    "/subscriptions",
                    json={
                        "changeType": "created,updated,deleted",
                        "notificationUrl": "https://hooks.example/hook",
                        "resource": f"/users/{seed.alice.id}/mailFolders('inbox')/messages",
                        "expirationDateTime": _expiry(graph, 60),
                        "clientState": "mail-secret",
                    },
                )
                tenant.add_file(seed.drive.id, "a.txt", "a")
                tenant.edit_file(seed.drive.id, seed.notes.id, "b")
                message = tenant.add_message(
                    seed.alice.id, "Hi", "<p>hi</p>", sender="bob@contoso.onmicrosoft.com"
                )
                tenant.add_file(tenant.drive_of(seed.bob.id).id, "unrelated.txt", "x")
                deliveries = await graph.notifications.deliver()
                again = await graph.notifications.deliver()
                sub_id = drive_sub.json()["id"]
                renewed = await s.request(
                    "PATCH", f"/subscriptions/{sub_id}", json={"expirationDateTime": _expiry(graph, 120)}
                )
                too_long = await s.request(
                    "PATCH", f"/subscriptions/{sub_id}", json={"expirationDateTime": _expiry(graph, 50000)}
                )
                deleted = await s.request("DELETE", f"/subscriptions/{sub_id}")
                gone = await s.request("GET", f"/subscriptions/{sub_id}")
                return {
                    "created": (drive_sub.status_code, mail_sub.status_code),
                    "deliveries": deliveries,
                    "again": again,
                    "message": message,
                    "renewed": renewed,
                    "too_long": too_long.status_code,
                    "deleted": deleted.status_code,
                    "gone": gone.status_code,
                    "mail_sub": mail_sub.json(),
                }

    got = run(scenario())
    assert got["created"] == (201, 201)
    assert got["deliveries"] == [("https://hooks.example/hook", 202)]
    assert got["again"] == []
    drive_notes = [n for n in receiver.notifications if n["clientState"] == "drive-secret"]
    mail_notes = [n for n in receiver.notifications if n["clientState"] == "mail-secret"]
    assert [(n["changeType"], n["resource"], "resourceData" in n) for n in drive_notes] == [
        ("updated", f"drives/{seed.drive.id}/root", False)
    ]
    message = got["message"]
    assert [(n["changeType"], n["resourceData"]["id"]) for n in mail_notes] == [("created", message.id)]
    assert mail_notes[0]["subscriptionId"] == got["mail_sub"]["id"]
    assert mail_notes[0]["tenantId"] == seed.tenant.tenant_id
    assert got["renewed"].status_code == 200
    assert got["renewed"].json()["expirationDateTime"] == _expiry(graph, 120)
    assert (got["too_long"], got["deleted"], got["gone"]) == (400, 204, 404)


def test_failed_handshake_refuses_the_subscription(graph: FakeGraph, seed: Seed) -> None:
    receiver = Receiver(echo=False)

    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as hooks:
            graph.notifications.client = hooks
            async with session(graph) as s:
                return await s.request(
                    "POST",
                    "/subscriptions",
                    json={
                        "changeType": "updated",
                        "notificationUrl": "https://hooks.example/hook",
                        "resource": f"/users/{seed.alice.id}/drive/root",
                        "expirationDateTime": _expiry(graph, 60),
                    },
                )

    answer = run(scenario())
    assert answer.status_code == 400
    assert "validation request failed" in answer.json()["error"]["message"]
    assert graph.tenant.subscriptions == {}


def test_subscriptions_asking_for_immutable_ids_get_them_in_notifications(
    graph: FakeGraph, seed: Seed
) -> None:
    receiver = Receiver()
    tenant, alice = seed.tenant, seed.alice
    message = tenant.add_message(alice.id, "Plan", "<p>p</p>", sender="bob@contoso.onmicrosoft.com")

    async def scenario() -> list[tuple[str, str]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as hooks:
            graph.notifications.client = hooks
            async with session(graph) as s:
                for prefer in ('IdType="ImmutableId"', None):
                    created = await s.request(
                        "POST",
                        "/subscriptions",
                        headers={"Prefer": prefer} if prefer else {},
                        json={
                            "changeType": "created,deleted",
                            "notificationUrl": "https://hooks.example/hook",
                            "resource": f"/users/{alice.id}/mailFolders('inbox')/messages",
                            "expirationDateTime": _expiry(graph, 60),
                            "clientState": prefer or "plain",
                        },
                    )
                    assert created.status_code == 201, created.text
                tenant.move_message(alice.id, message.id, "archive")
                await graph.notifications.deliver()
        return [(n["clientState"], n["resourceData"]["id"]) for n in receiver.notifications]

    assert sorted(run(scenario())) == sorted(
        [('IdType="ImmutableId"', message.immutable_id), ("plain", message.id)]
    )
