"""A minimal Graph caller for the fake's own tests: client credentials, bearer, follow links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from headwater.testing.fake_graph import FakeGraph

GRAPH = "https://graph.microsoft.com/v1.0"


class Session:
    def __init__(self, graph: FakeGraph, client: httpx.AsyncClient) -> None:
        self.graph = graph
        self.client = client
        self.token = ""

    async def login(self) -> None:
        answer = await self.client.post(
            f"https://login.microsoftonline.com/{self.graph.tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "client_id": self.graph.client_id,
                "client_secret": self.graph.client_secret,
                "scope": "https://graph.microsoft.com/.default",
                "grant_type": "client_credentials",
            },
        )
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        full = url if url.startswith("http") else GRAPH + url
        return await self.client.get(full, headers=headers, **kwargs)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return await self.client.request(method, GRAPH + url, headers=headers, **kwargs)

    async def collect(self, url: str, **kwargs: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Every item across pages, and the last page's body (with its deltaLink, if any)."""
        items: list[dict[str, Any]] = []
        while True:
            answer = await self.get(url, **kwargs)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            items.extend(body["value"])
            if "@odata.nextLink" not in body:
                return items, body
            url = body["@odata.nextLink"]


@asynccontextmanager
async def session(graph: FakeGraph) -> AsyncIterator[Session]:
    async with httpx.AsyncClient(transport=graph.transport()) as client:
        s = Session(graph, client)
        await s.login()
        yield s
