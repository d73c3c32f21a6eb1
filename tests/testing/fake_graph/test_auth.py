"""The token endpoint (client credentials) and the bearer check in front of every Graph call."""

from __future__ import annotations

import asyncio
import base64

import httpx

from headwater.testing.fake_graph import FakeGraph
from tests.testing.fake_graph.conftest import Seed
from tests.testing.fake_graph.helpers import GRAPH, session

run = asyncio.run


def _token_form(graph: FakeGraph, **changes: str) -> dict[str, str]:
    form = {
        "client_id": graph.client_id,
        "client_secret": graph.client_secret,
        "scope": "https://graph.microsoft.com/.default",
        "grant_type": "client_credentials",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v}


async def _post_token(
    graph: FakeGraph, tenant: str, form: dict[str, str], **kwargs: object
) -> httpx.Response:
    async with httpx.AsyncClient(transport=graph.transport()) as client:
        url = f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
        return await client.post(url, data=form, **kwargs)  # type: ignore[arg-type]


def test_client_credentials_token_by_tenant_id_or_domain(graph: FakeGraph, seed: Seed) -> None:
    for tenant in (seed.tenant.tenant_id, seed.tenant.domain):
        answer = run(_post_token(graph, tenant, _token_form(graph)))
        assert answer.status_code == 200
        body = answer.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3599
        assert body["access_token"].startswith("eyJ")


def test_client_secret_in_basic_auth_header(graph: FakeGraph, seed: Seed) -> None:
    basic = base64.b64encode(f"{graph.client_id}:{graph.client_secret}".encode()).decode()
    form = _token_form(graph, client_id="", client_secret="")
    answer = run(_post_token(graph, seed.tenant.tenant_id, form, headers={"Authorization": f"Basic {basic}"}))
    assert answer.status_code == 200


def test_token_errors_use_the_identity_platform_envelope(graph: FakeGraph, seed: Seed) -> None:
    tid = seed.tenant.tenant_id
    cases = [
        (tid, _token_form(graph, client_secret="wrong"), 401, "invalid_client", 7000215),
        (tid, _token_form(graph, client_id="nobody"), 400, "unauthorized_client", 700016),
        (tid, _token_form(graph, scope="User.Read"), 400, "invalid_scope", 70011),
        (tid, _token_form(graph, grant_type="password"), 400, "unsupported_grant_type", 70003),
        ("other.onmicrosoft.com", _token_form(graph), 400, "invalid_request", 90002),
    ]
    for tenant, form, status, error, code in cases:
        answer = run(_post_token(graph, tenant, form))
        assert (answer.status_code, answer.json()["error"], answer.json()["error_codes"]) == (
            status,
            error,
            [code],
        )
        assert graph.client_secret not in answer.text


def test_graph_calls_need_a_valid_unexpired_bearer(graph: FakeGraph, seed: Seed) -> None:
    async def scenario() -> list[tuple[int, str]]:
        results = []
        async with session(graph) as s:
            async with httpx.AsyncClient(transport=graph.transport()) as bare:
                for headers in ({}, {"Authorization": "Bearer " + s.token[:-3] + "abc"}):
                    answer = await bare.get(f"{GRAPH}/users", headers=headers)
                    assert "Bearer" in answer.headers["www-authenticate"]
                    results.append((answer.status_code, answer.json()["error"]["message"]))
            assert (await s.get("/users")).status_code == 200
            seed.tenant.clock.advance(3600)
            expired = await s.get("/users")
            results.append((expired.status_code, expired.json()["error"]["code"]))
        return results

    assert run(scenario()) == [
        (401, "Access token is empty."),
        (401, "IDX14100: JWT is not well formed or its signature is invalid."),
        (401, "InvalidAuthenticationToken"),
    ]


def test_without_admin_consent_graph_answers_403(seed: Seed) -> None:
    graph = FakeGraph(seed.tenant, validate=True, admin_consent=False)

    async def scenario() -> httpx.Response:
        async with session(graph) as s:
            return await s.get("/users")

    answer = run(scenario())
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Authorization_RequestDenied"
    assert graph.validator is not None
    assert graph.validator.violations == []


def test_discovery_documents_point_at_the_fake(graph: FakeGraph, seed: Seed) -> None:
    async def scenario() -> tuple[dict[str, str], dict[str, str]]:
        async with httpx.AsyncClient(transport=graph.transport()) as client:
            oidc = await client.get(
                f"https://login.example/{seed.tenant.tenant_id}/v2.0/.well-known/openid-configuration"
            )
            instance = await client.get("https://login.example/common/discovery/instance")
            return oidc.json(), instance.json()

    oidc, instance = run(scenario())
    assert oidc["token_endpoint"] == f"https://login.example/{seed.tenant.tenant_id}/oauth2/v2.0/token"
    assert instance["tenant_discovery_endpoint"].endswith("/v2.0/.well-known/openid-configuration")
