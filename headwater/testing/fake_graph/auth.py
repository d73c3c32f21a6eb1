"""The Microsoft identity platform part of the fake: the client-credentials token endpoint, the
discovery documents MSAL reads, and the bearer check in front of every Graph call.

Access tokens are JWT-shaped (header.claims.signature, HS256 with the fake's own key) so clients
that peek at `exp` work; Graph calls check signature, audience and expiry against the fake clock."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from headwater.testing.fake_graph.odata import GraphHTTPError, graph_of, json_response

GRAPH_AUDIENCE = "https://graph.microsoft.com"
GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
APP_ROLES = ("User.Read.All", "GroupMember.Read.All", "Files.Read.All", "Sites.Read.All", "Mail.Read")
_WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _token_error(request: Request, status: int, error: str, aadsts: int, description: str) -> Response:
    body = {
        "error": error,
        "error_description": f"AADSTS{aadsts}: {description} Trace ID: {uuid.uuid4()}",
        "error_codes": [aadsts],
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    return json_response(request, body, entity="tokenError", status=status)


async def token_endpoint(request: Request) -> Response:
    """POST /{tenant}/oauth2/v2.0/token with grant_type=client_credentials."""
    graph = graph_of(request)
    tenant = request.path_params["tenant"]
    form = await request.form()
    fields = {k: str(v) for k, v in form.items()}
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        except (ValueError, binascii.Error):
            return _token_error(request, 401, "invalid_client", 7000215, "Invalid client secret provided.")
        fields.setdefault("client_id", client_id)
        fields.setdefault("client_secret", secret)
    graph.token_requests += 1
    if tenant.lower() not in (graph.tenant.tenant_id, graph.tenant.domain.lower()):
        return _token_error(request, 400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
    if fields.get("grant_type") != "client_credentials":
        return _token_error(
            request, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
        )
    if fields.get("client_id") != graph.client_id:
        return _token_error(
            request,
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{fields.get('client_id')}' was not found in the directory.",
        )
    if "client_secret" not in fields:
        return _token_error(
            request,
            401,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the "
            "'client_credentials' grant type.",
        )
    if not hmac.compare_digest(fields["client_secret"], graph.client_secret):
        return _token_error(
            request,
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent "
            "in the request is the client secret value, not the client secret ID.",
        )
    if fields.get("scope") != GRAPH_DEFAULT_SCOPE:
        return _token_error(
            request,
            400,
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid.",
        )
    lifetime = graph.token_lifetime_s
    token = issue_access_token(request, lifetime)
    body = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}
    return json_response(request, body, entity="token")


def issue_access_token(request: Request, lifetime: int) -> str:
    graph = graph_of(request)
    now = int(graph.tenant.clock.now().timestamp())
    claims = {
        "aud": GRAPH_AUDIENCE,
        "iss": f"https://sts.windows.net/{graph.tenant.tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "appid": graph.client_id,
        "tid": graph.tenant.tenant_id,
        "roles": list(APP_ROLES) if graph.admin_consent else [],
        "jti": str(uuid.uuid4()),
    }
    header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    payload = _b64(json.dumps(claims).encode())
    return f"{header}.{payload}.{_sign(graph.signing_key, header, payload)}"


def _sign(key: bytes, header: str, payload: str) -> str:
    return _b64(hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest())


def require_bearer(request: Request) -> dict[str, Any]:
    """The token's claims, or a 401/403 in Graph's words."""
    graph = graph_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    unauthenticated = {"WWW-Authenticate": _WWW_AUTHENTICATE}
    if scheme.lower() != "bearer" or not token.strip():
        raise GraphHTTPError(
            401, "InvalidAuthenticationToken", "Access token is empty.", headers=unauthenticated
        )
    parts = token.strip().split(".")
    if len(parts) != 3 or not hmac.compare_digest(parts[2], _sign(graph.signing_key, parts[0], parts[1])):
        raise GraphHTTPError(
            401,
            "InvalidAuthenticationToken",
            "IDX14100: JWT is not well formed or its signature is invalid.",
            headers=unauthenticated,
        )
    claims: dict[str, Any] = json.loads(_unb64(parts[1]))
    if claims.get("aud") != GRAPH_AUDIENCE or claims.get("tid") != graph.tenant.tenant_id:
        raise GraphHTTPError(401, "InvalidAuthenticationToken", "Invalid audience.", headers=unauthenticated)
    if claims["exp"] <= graph.tenant.clock.now().timestamp():
        raise GraphHTTPError(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
            headers=unauthenticated,
        )
    if not claims.get("roles"):
        raise GraphHTTPError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    return claims


def openid_configuration(request: Request) -> Response:
    """GET /{tenant}/v2.0/.well-known/openid-configuration (what MSAL reads before asking for a token)."""
    graph = graph_of(request)
    base = graph.login_base(request)
    tid = graph.tenant.tenant_id
    body = {
        "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
        "issuer": f"{base}/{tid}/v2.0",
        "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "tenant_region_scope": "EU",
    }
    return json_response(request, body, entity="openidConfiguration")


def instance_discovery(request: Request) -> Response:
    """GET /common/discovery/instance (MSAL's authority validation)."""
    graph = graph_of(request)
    base = graph.login_base(request)
    host = base.split("://", 1)[-1]
    body = {
        "tenant_discovery_endpoint": f"{base}/{graph.tenant.tenant_id}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }
    return json_response(request, body, entity="instanceDiscovery")
