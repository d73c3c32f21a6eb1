"""A small stateful fake of "YourService", served through `httpx.MockTransport`: users, their items
listed in pages, and a delta feed (changed items and tombstones since a token). Bearer auth with a
token derived from the client credentials."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

BASE_URL = "https://api.yourservice.test"
PAGE_SIZE = 2


def token_for(client_id: str, client_secret: str) -> str:
    return f"tok-{client_id}-{client_secret}"


@dataclass
class FakeYourService:
    client_id: str = "client-1"
    client_secret: str = "s3cret"
    users: list[dict[str, Any]] = field(default_factory=list)
    items: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # user id -> item id -> item
    changes: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, user id, item id)
    seq: int = 0
    requests: list[str] = field(default_factory=list)

    # ---- mutations (what happens at the source between syncs) ----

    def add_user(self, user_id: str, email: str, name: str) -> None:
        self.users.append({"id": user_id, "email": email, "name": name})
        self.items.setdefault(user_id, {})

    def put_item(self, user_id: str, item: dict[str, Any]) -> None:
        self.seq += 1
        self.items[user_id][item["id"]] = dict(item)
        self.changes.append((self.seq, user_id, item["id"]))

    def delete_item(self, user_id: str, item_id: str) -> None:
        self.seq += 1
        del self.items[user_id][item_id]
        self.changes.append((self.seq, user_id, item_id))

    # ---- the HTTP API ----

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        if request.headers.get("Authorization") != f"Bearer {token_for(self.client_id, self.client_secret)}":
            return httpx.Response(401, json={"error": "invalid_token"})
        parts = request.url.path.strip("/").split("/")
        if parts == ["users"]:
            return _json({"value": self.users})
        if len(parts) == 3 and parts[0] == "users" and parts[2] == "items":
            return self._list(parts[1], int(request.url.params.get("page", "0")))
        if len(parts) == 4 and parts[0] == "users" and parts[2:] == ["items", "delta"]:
            return self._delta(parts[1], int(request.url.params["token"]))
        return httpx.Response(404, json={"error": "not found"})

    def _list(self, user_id: str, page: int) -> httpx.Response:
        items = sorted(self.items.get(user_id, {}).values(), key=lambda i: i["id"])
        chunk = items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        body: dict[str, Any] = {"value": chunk}
        if (page + 1) * PAGE_SIZE < len(items):
            body["nextLink"] = f"/users/{user_id}/items?page={page + 1}"
        else:
            body["deltaLink"] = f"/users/{user_id}/items/delta?token={self.seq}"
        return _json(body)

    def _delta(self, user_id: str, token: int) -> httpx.Response:
        changed: dict[str, None] = {}
        for seq, uid, item_id in self.changes:
            if seq > token and uid == user_id:
                changed[item_id] = None
        value = [self.items[user_id].get(i, {"id": i, "deleted": True}) for i in changed]
        return _json({"value": value, "deltaLink": f"/users/{user_id}/items/delta?token={self.seq}"})


def _json(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


# the instance the connector's client talks to (set by the test)
CURRENT: FakeYourService | None = None


class YourAPIClient:
    """The vendor client the playbook's TODO imports: auth, pagination, the delta feed."""

    def __init__(self, credentials: dict[str, Any]) -> None:
        assert CURRENT is not None, "no fake service set"
        self.http = httpx.AsyncClient(
            base_url=BASE_URL,
            transport=CURRENT.transport(),
            headers={
                "Authorization": f"Bearer {token_for(credentials['client_id'], credentials['client_secret'])}"
            },
        )

    async def _get(self, url: str) -> dict[str, Any]:
        response = await self.http.get(url)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def get_users(self) -> list[dict[str, Any]]:
        return list((await self._get("/users"))["value"])

    async def get_items(self, user_id: str) -> tuple[list[dict[str, Any]], str]:
        """Every item of the user (all pages) and the delta link to continue from."""
        items: list[dict[str, Any]] = []
        url: str | None = f"/users/{user_id}/items?page=0"
        delta_link = ""
        while url:
            body = await self._get(url)
            items.extend(body["value"])
            url = body.get("nextLink")
            delta_link = body.get("deltaLink", delta_link)
        return items, delta_link

    async def get_items_delta(self, delta_link: str) -> tuple[list[dict[str, Any]], str]:
        body = await self._get(delta_link)
        return list(body["value"]), str(body["deltaLink"])

    async def aclose(self) -> None:
        await self.http.aclose()
