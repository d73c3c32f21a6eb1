"""App-only tokens through msal against a local login endpoint: cache, refresh, refusal, helpful errors."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from headwater.clients.microsoft import AuthError, ClientCredentials, GraphClient, MsalTokenProvider
from headwater.clients.microsoft.throttle import RateBudget
from tests.clients.microsoft.mini_graph import (
    CLIENT_ID,
    GRAPH,
    LOGIN,
    SECRET,
    TENANT,
    FakeClock,
    MiniGraph,
    client_for,
)

CREDENTIALS = ClientCredentials(TENANT, CLIENT_ID, SECRET)


def test_token_is_fetched_once_and_cached() -> None:
    mini = MiniGraph()

    async def scenario() -> list[str]:
        async with client_for(mini) as http:
            tokens = MsalTokenProvider(CREDENTIALS, http, authority_base=LOGIN)
            return [await tokens.token(), await tokens.token(), await tokens.token()]

    assert asyncio.run(scenario()) == ["token-1", "token-1", "token-1"]
    assert len(mini.token_requests) == 1
    request = mini.token_requests[0]
    assert request["grant_type"] == "client_credentials"
    assert request["scope"] == "https://graph.microsoft.com/.default"
    assert request["client_id"] == CLIENT_ID
    # msal looked up the tenant's endpoints at the configured authority, never at login.microsoftonline.com
    assert all(seen.url.startswith(LOGIN) for seen in mini.seen)


def test_token_is_refreshed_before_it_expires() -> None:
    clock = FakeClock()
    mini = MiniGraph(expires_in=3600)

    async def scenario() -> list[str]:
        async with client_for(mini) as http:
            tokens = MsalTokenProvider(
                CREDENTIALS, http, authority_base=LOGIN, clock=clock, refresh_margin_s=300
            )
            first = await tokens.token()
            clock.now += 3600 - 301  # still valid beyond the margin
            second = await tokens.token()
            clock.now += 2  # now inside the last 5 minutes: fetch a new one before Graph refuses it
            third = await tokens.token()
            return [first, second, third]

    assert asyncio.run(scenario()) == ["token-1", "token-1", "token-2"]
    assert len(mini.token_requests) == 2


def test_concurrent_callers_share_one_refresh() -> None:
    mini = MiniGraph()

    async def scenario() -> list[str]:
        async with client_for(mini) as http:
            tokens = MsalTokenProvider(CREDENTIALS, http, authority_base=LOGIN)
            return list(await asyncio.gather(*(tokens.token() for _ in range(8))))

    assert asyncio.run(scenario()) == ["token-1"] * 8
    assert len(mini.token_requests) == 1


def test_refused_token_is_replaced_once_and_the_request_retried() -> None:
    mini = MiniGraph()

    @mini.on("GET", "/users")
    async def users(request: Request) -> Response:
        return JSONResponse({"value": [{"id": "u1"}]})

    async def scenario() -> list[str]:
        async with client_for(mini) as http:
            client = GraphClient.from_credentials(
                http, CREDENTIALS, base_url=GRAPH, authority_base=LOGIN, budget=RateBudget()
            )
            first = [user["id"] async for user in client.users()]
            mini.revoked.add("token-1")  # Graph stops accepting it (revoked, clock skew, ...)
            second = [user["id"] async for user in client.users()]
            return first + second

    assert asyncio.run(scenario()) == ["u1", "u1"]
    tokens_used = [s.headers["authorization"] for s in mini.graph_requests("/users")]
    assert tokens_used == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


def test_token_refused_twice_is_an_auth_error() -> None:
    mini = MiniGraph()
    mini.revoked.update({"token-1", "token-2", "token-3"})

    async def scenario() -> None:
        async with client_for(mini) as http:
            client = GraphClient.from_credentials(
                http, CREDENTIALS, base_url=GRAPH, authority_base=LOGIN, budget=RateBudget()
            )
            await client.drive("b!drive")

    with pytest.raises(AuthError) as caught:
        asyncio.run(scenario())
    assert caught.value.status == 401
    assert caught.value.code == "InvalidAuthenticationToken"
    assert len(mini.graph_requests()) == 2  # the first token and one fresh one, then no more


def test_wrong_secret_says_what_to_fix_without_showing_it() -> None:
    mini = MiniGraph()
    wrong = ClientCredentials(TENANT, CLIENT_ID, "wrong-secret-value-123")

    async def scenario() -> None:
        async with client_for(mini) as http:
            await MsalTokenProvider(wrong, http, authority_base=LOGIN).token()

    with pytest.raises(AuthError) as caught:
        asyncio.run(scenario())
    message = str(caught.value)
    assert "client secret is wrong or expired" in message
    assert "AADSTS7000215" in message
    assert "wrong-secret-value-123" not in message
    assert "wrong-secret-value-123" not in repr(caught.value)
    assert "wrong-secret-value-123" not in repr(wrong)


def test_unknown_client_id_and_unknown_tenant_are_named() -> None:
    mini = MiniGraph()

    async def fetch(credentials: ClientCredentials) -> None:
        async with client_for(mini) as http:
            await MsalTokenProvider(credentials, http, authority_base=LOGIN).token()

    with pytest.raises(AuthError, match="Application \\(client\\) id"):
        asyncio.run(fetch(ClientCredentials(TENANT, "not-the-app", SECRET)))
    with pytest.raises(AuthError, match="tenant 'other-tenant' was not found") as caught:
        asyncio.run(fetch(ClientCredentials("other-tenant", CLIENT_ID, SECRET)))
    assert SECRET not in str(caught.value)


def test_empty_credentials_are_rejected_up_front() -> None:
    with pytest.raises(AuthError, match="client_secret is empty"):
        ClientCredentials(TENANT, CLIENT_ID, " ")
