"""From a connector instance's config to a `GraphClient`, and from Graph's errors to the sync engine's.

Every Microsoft 365 connector (OneDrive, SharePoint Online, Outlook) is configured the same way: an
Entra ID app registration with application permissions and admin consent, named by three auth
fields (`tenantId`, `clientId`, `clientSecret`). `credentials_from_config` reads and checks them;
`GraphEndpoint` says where Graph and the login endpoint are and which rate budget to share (the
tenant's process-wide one unless a test injects its own); `GraphConnection` owns the HTTP client.

    credentials = credentials_from_config(config)          # ConnectorInitError naming what to fix
    connection = GraphConnection.open(credentials, connector.graph_endpoint)
    try:
        async with graph_errors():                          # throttling -> SourceThrottledError, ...
            ... connection.client.users() ...
    finally:
        await connection.close()
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from headwater.clients.microsoft import (
    AuthError,
    ClientCredentials,
    GraphClient,
    RateBudget,
    RetryPolicy,
    ThrottledError,
)
from headwater.clients.microsoft.auth import LOGIN_BASE
from headwater.clients.microsoft.session import GRAPH_BASE
from headwater.connectors.core.builder import ConnectorConfigBuilder
from headwater.connectors.core.common_fields import CommonFields
from headwater.connectors.core.connector import ConnectorInitError
from headwater.connectors.core.definitions import DocumentationLink, PermissionModel
from headwater.connectors.core.errors import SourceAuthError, SourceThrottledError

AUTH_TYPE = "OAUTH_ADMIN_CONSENT"
TENANT_ID, CLIENT_ID, CLIENT_SECRET = "tenantId", "clientId", "clientSecret"
DOCS = "docs/connectors/microsoft-365.md"
HTTP_TIMEOUT_S = 120.0
# when Graph gives no Retry-After (it always does for 429), a throttled sync resumes after this
DEFAULT_RETRY_AFTER_S = 60.0

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{3,253}$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def credentials_from_config(config: Mapping[str, Any] | None) -> ClientCredentials:
    """The app registration named in an instance config (`config["auth"]`).

    Raises:
        ConnectorInitError: a field is missing or malformed; the message says which and where to find it
            (never the secret's value).
    """
    auth = config.get("auth") if isinstance(config, Mapping) else None
    if not isinstance(auth, Mapping):
        raise ConnectorInitError(
            "Microsoft 365 is not configured yet: enter the tenant ID, client ID and client secret "
            "of the app registration (Entra ID > App registrations)"
        )
    tenant = str(auth.get(TENANT_ID) or "").strip()
    client = str(auth.get(CLIENT_ID) or "").strip()
    secret = str(auth.get(CLIENT_SECRET) or "").strip()
    if not tenant or not (_GUID.match(tenant) or _DOMAIN.match(tenant)):
        raise ConnectorInitError(
            "Tenant ID must be the directory (tenant) ID, a GUID like 0a1b2c3d-..., or the tenant's "
            "domain (contoso.onmicrosoft.com); find it on the app registration's Overview page"
        )
    if not _GUID.match(client):
        raise ConnectorInitError(
            "Client ID must be the application (client) ID, a GUID from the app registration's Overview page"
        )
    if not secret:
        raise ConnectorInitError(
            "Client secret is empty: create one under Certificates & secrets and paste its Value "
            "(not its Secret ID)"
        )
    return ClientCredentials(tenant_id=tenant, client_id=client, client_secret=secret)


@dataclass
class GraphEndpoint:
    """Where a connector reaches Microsoft: production by default; tests point it at a fake.

    Attributes:
        base_url: Graph's root.
        authority_base: the login endpoint (msal needs https).
        transport: the HTTP transport (None: the network); a fake's `httpx.ASGITransport` in tests.
        budget: None shares the tenant's process-wide `RateBudget` with every other connector of the
            tenant; a test passes one with a fake clock.
        retry: attempts and backoff (None: the client's default).
    """

    base_url: str = GRAPH_BASE
    authority_base: str = LOGIN_BASE
    transport: httpx.AsyncBaseTransport | None = None
    budget: RateBudget | None = None
    retry: RetryPolicy | None = field(default=None)


@dataclass
class GraphConnection:
    """A `GraphClient` and the HTTP client it runs on (closed by `close`)."""

    client: GraphClient
    http: httpx.AsyncClient
    tenant_id: str

    @classmethod
    def open(cls, credentials: ClientCredentials, endpoint: GraphEndpoint | None = None) -> GraphConnection:
        where = endpoint or GraphEndpoint()
        http = httpx.AsyncClient(transport=where.transport, timeout=HTTP_TIMEOUT_S)
        budget = where.budget if where.budget is not None else RateBudget.for_tenant(credentials.tenant_id)
        client = GraphClient.from_credentials(
            http,
            credentials,
            base_url=where.base_url,
            authority_base=where.authority_base,
            budget=budget,
            retry=where.retry,
        )
        return cls(client=client, http=http, tenant_id=credentials.tenant_id)

    async def close(self) -> None:
        await self.http.aclose()


def source_error(exc: BaseException) -> BaseException:
    """What the sync engine should see for a Graph error: throttling pauses and resumes the sync,
    refused credentials ask for re-authorisation; anything else is itself."""
    if isinstance(exc, ThrottledError):
        wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER_S
        return SourceThrottledError(
            wait, f"Microsoft Graph is throttling this tenant; resuming in {wait:g} s"
        )
    if isinstance(exc, AuthError):
        return SourceAuthError(str(exc))
    return exc


@asynccontextmanager
async def graph_errors() -> AsyncIterator[None]:
    """Translate Graph's throttling and auth errors into the engine's (`source_error`)."""
    try:
        yield
    except (ThrottledError, AuthError) as exc:
        raise source_error(exc) from exc


def declare_app_registration(builder: ConnectorConfigBuilder, *, icon: str) -> ConnectorConfigBuilder:
    """The builder metadata every Microsoft 365 connector shares: the three auth fields of an app
    registration with admin consent, record-level permissions, the documentation link."""
    builder.with_icon(icon)
    builder.with_permission_model(PermissionModel.RECORD_LEVEL)
    builder.add_documentation_link(DocumentationLink("Microsoft 365 setup", DOCS))
    builder.add_auth_field(CommonFields.tenant_id())
    builder.add_auth_field(CommonFields.client_id("the app registration in Microsoft Entra ID"))
    builder.add_auth_field(CommonFields.client_secret("the app registration in Microsoft Entra ID"))
    return builder.with_sync_strategies(["SCHEDULED", "MANUAL"]).with_scheduled_config(True, 60)
