"""The OAuth 2.0 authorisation-code flow for connector instances, and the token endpoint client the
central refresh (`oauth_refresh`) shares.

    start = start_authorization(platform, caller, connector_id, callback_url=".../api/v1/oauth/callback")
    # the browser goes to start["authorizationUrl"], the vendor sends it back to the callback:
    done = await complete_authorization(platform, http, state=..., code=..., user_key=caller.user_key)

* The state is random (256 bits), stored server-side (`oauthStates`, keyed by its SHA-256) with
  the instance, the user who started the flow, the redirect URI and an expiry (10 minutes); the
  callback consumes it in one locked transaction, so it works once, and only in a request signed
  in as that same user: otherwise a member could send a colleague the authorisation link and get
  the colleague's vendor account into the member's connector.
* PKCE (S256) is used unless the connector's `OAuthConfig.additional_params` says `pkce: False`
  (a vendor that rejects it). The verifier is stored encrypted with the config store's key.
* Tokens go to the instance's config document (`credentials`: access_token, refresh_token,
  token_type, scope, expires_in, created_at, expires_at), which the config store encrypts; they
  are never returned, logged or put in an error.

`additional_params` flags understood (the rest are sent as extra authorize parameters, e.g.
`access_type=offline`): `pkce` (default True), `use_basic_auth` (client credentials as HTTP Basic
instead of in the form body).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from headwater.connectors.core import lease
from headwater.connectors.core.connector import BaseConnector
from headwater.connectors.core.errors import redact
from headwater.connectors.core.instances import (
    APPS,
    InstanceStatus,
    instance_lock,
    set_status,
    update_instance_tx,
)
from headwater.errors import BackendUnavailableError, HeadwaterError
from headwater.models.timeutil import now_ms

from .catalog import connector_class, connector_metadata
from .connector_access import Actor, managed_instance
from .connector_admin import OAUTH_STATES, uses_oauth
from .errors import AuthenticationError, ConfigValueError, ConnectorNotReadyError, ForbiddenError
from .platform import Platform, config_key

STATE_TTL_MS = 10 * 60 * 1000
_FLAGS = ("pkce", "use_basic_auth", "use_json_body")
# token endpoint `error` codes that mean "this grant is dead: a person must authorise again" (RFC 6749 §5.2)
REFUSED_ERRORS = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_token", "access_denied"}
)


class OAuthFlowError(HeadwaterError):
    """The authorisation cannot go on (unknown, used or expired state; the vendor refused); the
    message says what to do. Never carries a token or code."""


class OAuthRefusedError(HeadwaterError):
    """The token endpoint refused the grant (`error` says why, e.g. invalid_grant): authorise again."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


class OAuthUnavailableError(BackendUnavailableError):
    """The token endpoint could not be reached or failed on its side (5xx, 429): try again later."""


@dataclass(frozen=True)
class OAuthClient:
    """Everything needed to talk to one vendor's authorisation server for one instance."""

    connector: str
    authorize_url: str
    token_url: str
    scopes: list[str]
    client_id: str
    client_secret: str | None
    pkce: bool = True
    use_basic_auth: bool = False
    scope_parameter: str = "scope"
    token_response_path: str | None = None
    authorize_params: dict[str, str] = field(default_factory=dict)


def oauth_client(type_name: str, stored: dict[str, Any]) -> OAuthClient:
    """The flow settings of an instance: the connector's declared OAuth config for the instance's
    auth type, with the client id/secret from its stored config."""
    auth = stored.get("auth") or {}
    auth_type = str(auth.get("authType") or "OAUTH")
    declared_dicts = ((connector_metadata(type_name).get("config") or {}).get("auth") or {}).get(
        "oauthConfigs"
    ) or {}
    declared = declared_dicts.get(auth_type) or {}
    cls: type[BaseConnector] = connector_class(type_name)
    full = (getattr(cls, "_oauth_configs", None) or {}).get(auth_type)
    params: dict[str, Any] = dict(getattr(full, "additional_params", None) or {})
    flags = {name: params.pop(name) for name in _FLAGS if name in params}
    if not declared.get("authorizeUrl") or not declared.get("tokenUrl"):
        raise ConfigValueError("authType", f"{type_name} declares no OAuth flow for {auth_type}")
    client_id = str(auth.get("clientId") or "").strip()
    if not client_id:
        raise ConnectorNotReadyError(
            f"set the OAuth client id (clientId) of this {type_name} connector first"
        )
    return OAuthClient(
        connector=type_name,
        authorize_url=str(declared["authorizeUrl"]),
        token_url=str(declared["tokenUrl"]),
        scopes=[str(s) for s in declared.get("scopes") or []],
        client_id=client_id,
        client_secret=str(auth["clientSecret"]) if auth.get("clientSecret") else None,
        pkce=bool(flags.get("pkce", True)),
        use_basic_auth=bool(flags.get("use_basic_auth", False)),
        scope_parameter=str(getattr(full, "scope_parameter_name", None) or "scope"),
        token_response_path=getattr(full, "token_response_path", None),
        authorize_params={str(k): str(v) for k, v in params.items()},
    )


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def state_key(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _safe_return_to(return_to: str | None, connector_id: str) -> str:
    """Where the browser lands after the callback: a path on this server only (no open redirect)."""
    default = f"/connectors/{connector_id}"
    if not return_to:
        return default
    if not return_to.startswith("/") or return_to.startswith("//") or "\\" in return_to:
        raise ConfigValueError("returnTo", "must be a path on this server, starting with a single /")
    return return_to


async def start_authorization(
    platform: Platform,
    actor: Actor,
    connector_id: str,
    *,
    callback_url: str,
    return_to: str | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """Begin authorising an OAuth instance (for those who manage it): `{authorizationUrl,
    expiresAt}`. `callback_url` is this server's `/api/v1/oauth/callback` as the vendor must call it
    (registered at the vendor as the redirect URI)."""
    doc = managed_instance(platform.store, actor, connector_id)
    if not uses_oauth(doc):
        raise ConfigValueError(
            "authType", f"{doc.get('name')} does not use OAuth ({doc.get('authType') or 'no auth type'})"
        )
    stored = await platform.config_store.get(config_key(connector_id)) or {}
    client = oauth_client(str(doc["type"]), stored)
    moment = now if now is not None else now_ms()
    state = secrets.token_urlsafe(32)
    key = state_key(state)
    verifier = secrets.token_urlsafe(64) if client.pkce else None
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": callback_url,
        "state": state,
        **client.authorize_params,
    }
    if client.scopes:
        params[client.scope_parameter] = " ".join(client.scopes)
    if verifier is not None:
        params |= {"code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256"}
    box = platform.config_store.box
    state_doc = {
        "_key": key,
        "connectorId": connector_id,
        "orgId": doc.get("orgId"),
        "userKey": actor.user_key,
        "redirectUri": callback_url,
        "returnTo": _safe_return_to(return_to, connector_id),
        "verifier": box.encrypt(verifier.encode("ascii"), f"oauth-state:{key}".encode())
        if verifier
        else None,
        "createdAt": moment,
        "expiresAt": moment + STATE_TTL_MS,
    }
    with platform.store.transaction() as tx:
        expired = [d["_key"] for d in tx.find_nodes(OAUTH_STATES) if int(d.get("expiresAt") or 0) <= moment]
        tx.delete_nodes(OAUTH_STATES, expired)
        tx.upsert_nodes(OAUTH_STATES, [state_doc])
    return {
        "authorizationUrl": _with_query(client.authorize_url, params),
        "expiresAt": state_doc["expiresAt"],
    }


def _consume_state(platform: Platform, state: str, moment: int, user_key: str | None) -> dict[str, Any]:
    """The flow of `state`, deleted (used) unless nobody is signed in: then it stays, so that the
    person who started it can log in and come back to the same address."""
    key = state_key(state)
    with platform.store.transaction() as tx:
        tx.lock(f"headwater:oauth-state:{key}")
        doc = tx.get_node(OAUTH_STATES, key)
        if doc is not None and user_key is not None:
            tx.delete_nodes(OAUTH_STATES, [key])
    if doc is None:
        raise OAuthFlowError(
            "this authorisation link is unknown or was used already: start the authorisation again"
        )
    if user_key is None:
        raise AuthenticationError(
            "log in to Headwater with the account that started this connection, then open this "
            "address again (or start the connection again)"
        )
    if str(doc.get("userKey") or "") != user_key:
        raise ForbiddenError(
            "another Headwater account started this connection: log in with the account that "
            "started it and start the connection again from its connector page"
        )
    if int(doc.get("expiresAt") or 0) <= moment:
        raise OAuthFlowError("this authorisation took longer than 10 minutes and expired: start it again")
    return doc


def _parse_token_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = dict(parse_qsl(response.text))  # some vendors answer form-encoded
    return body if isinstance(body, dict) else {}


async def token_request(http: httpx.AsyncClient, client: OAuthClient, form: dict[str, str]) -> dict[str, Any]:
    """POST to the token endpoint; the token object (nested ones lifted via `token_response_path`).
    OAuthRefusedError when the vendor refuses the grant, OAuthUnavailableError when it cannot answer."""
    data = dict(form)
    headers = {"Accept": "application/json"}
    if client.use_basic_auth:
        basic = f"{client.client_id}:{client.client_secret or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(basic).decode("ascii")
    else:
        data["client_id"] = client.client_id
        if client.client_secret:
            data["client_secret"] = client.client_secret
    try:
        response = await http.post(client.token_url, data=data, headers=headers)
    except httpx.HTTPError as exc:
        raise OAuthUnavailableError(
            f"the {client.connector} token endpoint is unreachable ({type(exc).__name__}); trying again later"
        ) from None
    body = _parse_token_body(response)
    if response.status_code >= 500 or response.status_code == 429:
        raise OAuthUnavailableError(
            f"the {client.connector} token endpoint answered {response.status_code}; trying again later"
        )
    error = body.get("error")
    if response.status_code >= 400 or error:
        code = str(error or f"http_{response.status_code}")
        detail = redact(str(body.get("error_description") or ""))[:200]
        raise OAuthRefusedError(
            code, f"{client.connector} refused the token request ({code}{': ' + detail if detail else ''})"
        )
    token = body
    if client.token_response_path:
        nested = body.get(client.token_response_path)
        if isinstance(nested, dict):
            token = {**{k: v for k, v in body.items() if k != client.token_response_path}, **nested}
    if not token.get("access_token"):
        raise OAuthRefusedError("no_access_token", f"{client.connector} answered without an access token")
    return token


def credentials_from(
    token: dict[str, Any], previous: dict[str, Any] | None, moment_ms: int
) -> dict[str, Any]:
    """The stored `credentials` for a token response; a refresh that returns no new refresh token
    keeps the old one."""
    expires_in = token.get("expires_in")
    try:
        seconds = int(expires_in) if expires_in not in (None, "") else None
    except (TypeError, ValueError):
        seconds = None
    refresh = token.get("refresh_token") or (previous or {}).get("refresh_token")
    return {
        "access_token": token["access_token"],
        "token_type": token.get("token_type") or "Bearer",
        "refresh_token": refresh,
        "scope": token.get("scope") or (previous or {}).get("scope"),
        "id_token": token.get("id_token"),
        "expires_in": seconds,
        "created_at": datetime.fromtimestamp(moment_ms / 1000, tz=UTC).isoformat(),
        "expires_at": moment_ms // 1000 + seconds if seconds else None,
    }


async def complete_authorization(
    platform: Platform,
    http: httpx.AsyncClient,
    *,
    state: str | None,
    code: str | None,
    error: str | None = None,
    user_key: str | None,
    now: int | None = None,
) -> dict[str, Any]:
    """The callback: check the state (once, unexpired, started by `user_key`: the user signed in
    to the request, None for nobody), exchange the code (with the PKCE verifier) and store the
    tokens encrypted; the instance becomes authorised (and leaves NEEDS_REAUTH). Returns
    `{connectorId, returnTo}`. OAuthFlowError when the state is bad or the vendor refused;
    AuthenticationError when nobody is signed in, ForbiddenError when another user is."""
    if not state:
        raise OAuthFlowError("the callback has no state: start the authorisation from Headwater")
    moment = now if now is not None else now_ms()
    flow = _consume_state(platform, state, moment, user_key)
    connector_id = str(flow["connectorId"])
    if error:
        raise OAuthFlowError(f"the vendor did not authorise the connector ({redact(error)[:100]}): try again")
    if not code:
        raise OAuthFlowError("the callback has no code: start the authorisation again")
    with platform.store.read() as tx:
        doc = tx.get_node(APPS, connector_id)
    if doc is None or doc.get("orgId") != flow.get("orgId"):
        raise OAuthFlowError("the connector was deleted while it was being authorised")
    stored = await platform.config_store.get(config_key(connector_id)) or {}
    client = oauth_client(str(doc["type"]), stored)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": str(flow["redirectUri"])}
    if flow.get("verifier"):
        verifier = platform.config_store.box.decrypt(
            str(flow["verifier"]), f"oauth-state:{flow['_key']}".encode()
        )
        form["code_verifier"] = verifier.decode("ascii")
    try:
        token = await token_request(http, client, form)
    except OAuthRefusedError as exc:
        raise OAuthFlowError(f"{exc} — start the authorisation again") from None
    stored["credentials"] = credentials_from(token, None, moment)
    stored["oauth"] = {"authorizedBy": flow.get("userKey"), "authorizedAt": moment}
    await platform.config_store.put(config_key(connector_id), stored)
    with platform.store.transaction() as tx:
        tx.lock(instance_lock(connector_id))
        current = tx.get_node(APPS, connector_id)
        if current is not None:
            update_instance_tx(tx, connector_id, {"isAuthenticated": True})
            if current.get("status") == InstanceStatus.NEEDS_REAUTH.value and not lease.is_live(
                lease.read_lease(tx, connector_id)
            ):
                set_status(tx, connector_id, InstanceStatus.IDLE, None)
    return {"connectorId": connector_id, "returnTo": flow.get("returnTo") or f"/connectors/{connector_id}"}
