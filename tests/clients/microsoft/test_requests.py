"""Requests to Graph: paging, $select, delta links, 410 per scope, shared throttling, downloads."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from headwater.clients.microsoft import (
    AccessDeniedError,
    ClientCredentials,
    DeltaExpiredError,
    GraphClient,
    GraphConnectionError,
    GraphError,
    NotFoundError,
    RateBudget,
    RetryPolicy,
    ThrottledError,
    collect_delta,
)
from tests.clients.microsoft.mini_graph import (
    CLIENT_ID,
    GRAPH,
    LOGIN,
    SECRET,
    TENANT,
    FakeClock,
    MiniGraph,
    client_for,
    graph_error,
    ids,
    run,
)


def test_paging_follows_next_links_exactly_and_selects_fields() -> None:
    mini = MiniGraph()
    opaque = f"{GRAPH}/users?$skiptoken=X%2FOPAQUE%3D%3D"

    @mini.on("GET", "/users")
    async def users(request: Request) -> Response:
        if request.query_params.get("$skiptoken") == "X/OPAQUE==":
            return JSONResponse({"value": [{"id": "u3"}]})
        if request.query_params.get("$skiptoken"):
            return graph_error(400, "invalidRequest", "unknown skiptoken")
        return JSONResponse({"value": [{"id": "u1"}, {"id": "u2"}], "@odata.nextLink": opaque})

    seen_ids = run(mini, lambda client: ids(client.users()))
    assert seen_ids == ["u1", "u2", "u3"]
    first, second = mini.graph_requests("/users")
    params = httpx.URL(first.url).params
    assert params["$select"].split(",")[:3] == ["id", "displayName", "userPrincipalName"]
    assert "accountEnabled" in params["$select"]
    assert params["$top"] == "999"
    assert second.url == opaque  # as given: no $select appended, the token not re-encoded


def test_a_link_to_another_host_is_refused_with_the_token_kept_back() -> None:
    mini = MiniGraph()

    @mini.on("GET", "/groups")
    async def groups(request: Request) -> Response:
        return JSONResponse({"value": [], "@odata.nextLink": "https://evil.test/v1.0/groups?$skiptoken=1"})

    with pytest.raises(GraphError, match="outside https://graph.test"):
        run(mini, lambda client: ids(client.groups()))
    assert not [s for s in mini.seen if "evil.test" in s.url]


def test_delta_rounds_end_in_a_delta_link_and_resume_from_it() -> None:
    mini = MiniGraph()
    page2 = f"{GRAPH}/drives/b!d1/root/delta?token=page2"
    delta = f"{GRAPH}/drives/b!d1/root/delta?token=round1"

    @mini.on("GET", "/drives/b!d1/root/delta")
    async def drive_delta(request: Request) -> Response:
        token = request.query_params.get("token")
        if token is None:
            return JSONResponse(
                {"value": [{"id": "root", "root": {}}, {"id": "a"}], "@odata.nextLink": page2}
            )
        if token == "page2":
            return JSONResponse({"value": [{"id": "b"}], "@odata.deltaLink": delta})
        if token == "round1":
            return JSONResponse({"value": [{"id": "a", "deleted": {}}], "@odata.deltaLink": delta + "x"})
        if token == "latest":
            return JSONResponse({"value": [], "@odata.deltaLink": delta + "-now"})
        return graph_error(400, "invalidRequest", "bad token")

    async def scenario(client: GraphClient) -> tuple[Any, ...]:
        pages = [page async for page in client.drive_delta("b!d1")]
        again = await collect_delta(client.drive_delta("b!d1", pages[-1].delta_link))
        now = await collect_delta(client.drive_delta("b!d1", latest=True))
        return pages, again, now

    pages, again, now = run(mini, scenario)
    assert [[item["id"] for item in page.items] for page in pages] == [["root", "a"], ["b"]]
    assert [page.is_last for page in pages] == [False, True]
    assert pages[0].next_link == page2
    assert pages[0].delta_link is None
    assert pages[1].delta_link == delta
    assert again == ([{"id": "a", "deleted": {}}], delta + "x")
    assert now == ([], delta + "-now")
    first, _, resumed, _ = (s.url for s in mini.graph_requests())
    assert "cTag" in httpx.URL(first).params["$select"]
    assert resumed == delta  # the stored link, exactly; no options added


def test_an_expired_delta_token_names_its_scope_and_leaves_other_scopes_alone() -> None:
    mini = MiniGraph()
    stale = f"{GRAPH}/drives/b!d1/root/delta?token=old"
    fresh = f"{GRAPH}/drives/b!d2/root/delta?token=kept"

    @mini.on("GET", "/drives/b!d1/root/delta")
    async def expired(request: Request) -> Response:
        body = {"error": {"code": "resyncRequired", "message": "Resync required. Replace any local items..."}}
        return JSONResponse(body, 410, headers={"Location": f"{GRAPH}/drives/b!d1/root/delta?token=restart"})

    @mini.on("GET", "/drives/b!d2/root/delta")
    async def fine(request: Request) -> Response:
        return JSONResponse({"value": [{"id": "x"}], "@odata.deltaLink": fresh + "2"})

    @mini.on("GET", "/users/u1/mailFolders/inbox/messages/delta")
    async def mail(request: Request) -> Response:
        body = {"error": {"code": "SyncStateNotFound", "message": "The sync state generation is not found"}}
        return JSONResponse(body, 410)

    async def scenario(client: GraphClient) -> tuple[Any, ...]:
        errors: list[Any] = []
        for drive, link in (("b!d1", stale), ("b!d2", fresh)):
            try:
                errors.append(await collect_delta(client.drive_delta(drive, link)))
            except DeltaExpiredError as exc:
                errors.append(exc)
        try:
            stored = f"{GRAPH}/users/u1/mailFolders/inbox/messages/delta?$deltatoken=1"
            await collect_delta(client.messages_delta("u1", "inbox", stored))
        except DeltaExpiredError as exc:
            errors.append(exc)
        return tuple(errors)

    drive_error, other_drive, mail_error = run(mini, scenario)
    assert isinstance(drive_error, DeltaExpiredError)
    assert drive_error.scope == "drives/b!d1"
    assert drive_error.code == "resyncRequired"
    assert drive_error.status == 410
    assert drive_error.restart_link == f"{GRAPH}/drives/b!d1/root/delta?token=restart"
    assert other_drive == ([{"id": "x"}], fresh + "2")
    assert isinstance(mail_error, DeltaExpiredError)
    assert mail_error.scope == "users/u1/mailFolders/inbox"


def test_retry_after_pauses_every_client_of_the_tenant() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock, sleep=clock.sleep)
    mini = MiniGraph(clock=clock)
    throttle_next = [True]

    @mini.on("GET", "/users")
    async def list_users(request: Request) -> Response:
        if throttle_next.pop() if throttle_next else False:
            body = {"error": {"code": "activityLimitReached", "message": "The request has been throttled"}}
            return JSONResponse(body, 429, headers={"Retry-After": "30"})
        return JSONResponse({"value": [{"id": "u1"}]})

    @mini.on("GET", "/groups")
    async def list_groups(request: Request) -> Response:
        return JSONResponse({"value": [{"id": "g1"}]})

    async def scenario(http: httpx.AsyncClient) -> tuple[Any, ...]:
        def client(retry: RetryPolicy) -> GraphClient:
            creds = ClientCredentials(TENANT, CLIENT_ID, SECRET)
            return GraphClient.from_credentials(
                http, creds, base_url=GRAPH, authority_base=LOGIN, budget=budget, retry=retry
            )

        onedrive, outlook = client(RetryPolicy(max_attempts=1)), client(RetryPolicy())
        start = clock()
        with pytest.raises(ThrottledError) as caught:
            await ids(onedrive.users())  # gives up at once, but the tenant stays paused
        groups = await ids(outlook.groups())  # another connector of the tenant waits out the pause
        throttle_next.append(True)
        users = await ids(outlook.users())  # throttled, waits, retried to success
        return start, caught.value, groups, users

    async def main() -> tuple[Any, ...]:
        async with client_for(mini) as http:
            return await scenario(http)

    start, error, groups, users = asyncio.run(main())
    assert error.retry_after == 30
    assert error.attempts == 1
    assert error.status == 429
    assert groups == ["g1"]
    assert users == ["u1"]
    [groups_request] = mini.graph_requests("/groups")
    assert groups_request.at == start + 30
    first, second, third = (s.at for s in mini.graph_requests("/users"))
    assert (first, second, third) == (start, start + 30, start + 60)
    assert clock.sleeps == [30, 30]


def test_503_without_retry_after_backs_off_and_bounded_retries_raise() -> None:
    clock = FakeClock()
    mini = MiniGraph(clock=clock)
    answers = [503, 503, 200]

    @mini.on("GET", "/sites/getAllSites")
    async def sites(request: Request) -> Response:
        status = answers.pop(0) if answers else 504
        if status == 200:
            return JSONResponse({"value": [{"id": "contoso.sharepoint.com,1,2"}]})
        return graph_error(status, "serviceNotAvailable", "try later")

    options = {
        "budget": RateBudget(clock=clock, sleep=clock.sleep),
        "retry": RetryPolicy(max_attempts=3, base_delay_s=2, rng=random.Random(3)),
    }
    assert run(mini, lambda client: ids(client.sites()), **options) == ["contoso.sharepoint.com,1,2"]
    assert len(clock.sleeps) == 2
    assert 1 <= clock.sleeps[0] <= 2
    assert 2 <= clock.sleeps[1] <= 4

    with pytest.raises(ThrottledError) as caught:
        run(mini, lambda client: ids(client.sites()), **options)
    assert caught.value.attempts == 3
    assert caught.value.status == 504
    assert caught.value.retry_after is None


def test_a_retry_after_too_long_to_wait_fails_fast_for_the_whole_tenant() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock, sleep=clock.sleep)
    mini = MiniGraph(clock=clock)

    @mini.on("GET", "/users")
    async def users(request: Request) -> Response:
        return graph_error(503, "serviceNotAvailable", "busy", headers={"Retry-After": "3600"})

    options = {"budget": budget, "retry": RetryPolicy(max_retry_after_s=600)}
    with pytest.raises(ThrottledError) as caught:
        run(mini, lambda client: ids(client.users()), **options)
    assert caught.value.retry_after == 3600
    with pytest.raises(ThrottledError, match="throttled 3600 s more"):
        run(mini, lambda client: ids(client.groups()), **options)
    assert len(mini.graph_requests()) == 1
    assert clock.sleeps == []


def test_network_failures_are_retried_then_reported() -> None:
    attempts = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        raise httpx.ConnectError("connection refused", request=request)

    class Tokens:
        async def token(self) -> str:
            return "t"

        async def invalidate(self, token: str) -> None:
            raise AssertionError("no token was refused")

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            retry = RetryPolicy(max_attempts=3, base_delay_s=0.001)
            client = GraphClient(
                http, Tokens(), tenant_id=TENANT, base_url=GRAPH, budget=RateBudget(), retry=retry
            )
            await client.drive("b!d1")

    with pytest.raises(GraphConnectionError, match="no answer after 3 attempts"):
        asyncio.run(scenario())
    assert attempts == 3


def test_error_answers_map_to_typed_errors() -> None:
    mini = MiniGraph()

    @mini.on("GET", "/users/nobody/drive")
    async def no_drive(request: Request) -> Response:
        return graph_error(404, "itemNotFound", "The resource could not be found.")

    @mini.on("GET", "/sites/s1/permissions")
    async def denied(request: Request) -> Response:
        return graph_error(403, "accessDenied", "Either scp or roles claim need to be present in the token.")

    with pytest.raises(NotFoundError) as missing:
        run(mini, lambda client: client.user_drive("nobody"))
    assert missing.value.code == "itemNotFound"
    assert missing.value.request_id == "req-1"
    with pytest.raises(AccessDeniedError, match="admin consent"):
        run(mini, lambda client: ids(client.site_permissions("s1")))


def test_download_follows_the_redirect_without_the_bearer_token() -> None:
    mini = MiniGraph()
    blob = "https://download.test/blob/d1/i1?tempauth=abc"

    @mini.on("GET", "/drives/b!d1/items/i1/content")
    async def content(request: Request) -> Response:
        return Response(status_code=302, headers={"Location": blob})

    @mini.on("GET", "/drives/b!d1/items/i1")
    async def item(request: Request) -> Response:
        assert request.query_params["$select"] == "id,@microsoft.graph.downloadUrl"
        return JSONResponse({"id": "i1", "@microsoft.graph.downloadUrl": blob})

    async def scenario(client: GraphClient) -> tuple[bytes, str | None]:
        data = b"".join([chunk async for chunk in client.download("b!d1", "i1")])
        return data, await client.download_url("b!d1", "i1")

    data, url = run(mini, scenario)
    assert data == b"bytes of /blob/d1/i1"
    assert url == blob
    [download] = [s for s in mini.seen if s.url.startswith("https://download.test/")]
    assert download.url == blob
    assert "authorization" not in download.headers
    [graph_call] = mini.graph_requests("/drives/b!d1/items/i1/content")
    assert graph_call.headers["authorization"].startswith("Bearer ")
