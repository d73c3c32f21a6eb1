"""The webhook endpoint Graph posts to in tests: the real receiver over the test's store and config."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from headwater.connectors.sources.microsoft.notifications.receiver import receive
from headwater.connectors.sources.microsoft.notifications.registry import Subscription
from headwater.store.base import GraphStore

HOOK = "https://headwater.example.com/api/v1/webhooks/microsoft"


class Hub:
    """The webhook endpoint Graph posts to, served by the real receiver over the test's store."""

    def __init__(self, store: GraphStore, config: Any) -> None:
        self.store, self.config = store, config
        self.requested: list[str] = []
        self.answers: list[tuple[int, str]] = []
        self.app = Starlette(routes=[Route("/api/v1/webhooks/microsoft", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        answer = await receive(
            request.query_params,
            await request.body(),
            store=self.store,
            config=self.config,
            request_sync=self.requested.append,
        )
        self.answers.append((answer.status, answer.body))
        if answer.status == 200:
            return PlainTextResponse(answer.body)
        return JSONResponse(
            {"accepted": answer.accepted, "rejected": answer.rejected}, status_code=answer.status
        )


async def post_forged(
    hooks: httpx.AsyncClient, subscription: Subscription, change_type: str
) -> httpx.Response:
    """A delivery naming a real subscription with a guessed clientState, as a forger would send it."""
    notification = {
        "subscriptionId": subscription.id,
        "clientState": "a-guess",
        "changeType": change_type,
        "resource": subscription.resource,
    }
    return await hooks.post(HOOK, json={"value": [notification]})
