"""Central OAuth token refresh: one place refreshes every authorised instance's access token before
it expires, so connectors always find a valid token in their config (`credentials`).

    results = await refresh_due_tokens(platform, http)           # one pass (the sync worker's loop)
    result = await refresh_instance(platform, http, connector_id, force=True)   # on demand

A token is refreshed when it expires within `REFRESH_MARGIN_S` (10 minutes); the sync worker runs a
pass every minute (`sync_sidecar`), so a sync always starts with a token valid for minutes.
Outcomes per instance:
  * `refreshed`: new tokens stored (encrypted), the old refresh token kept if none came back;
  * `needs_reauth`: the vendor refused the refresh token (invalid_grant and kin), or the token
    expired with no refresh token: state NEEDS_REAUTH, `isAuthenticated` false, and a reason that
    says to authorise again;
  * `retry_later`: the token endpoint was unreachable or failed on its side; the next pass retries;
  * `skipped`: not due, no refresh token yet, or another worker is refreshing it right now (a
    claim on the instance keeps two workers from spending one rotating refresh token twice).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx

from headwater.connectors.core.errors import describe
from headwater.connectors.core.instances import (
    APPS,
    InstanceStatus,
    instance_lock,
    list_instances,
    set_status,
    update_instance_tx,
)
from headwater.models.timeutil import now_ms

from .connector_admin import uses_oauth
from .oauth import OAuthRefusedError, OAuthUnavailableError, credentials_from, oauth_client, token_request
from .platform import Platform, config_key

REFRESH_MARGIN_S = 600
CLAIM_MS = 60_000
log = logging.getLogger("headwater.oauth")


@dataclass(frozen=True)
class RefreshResult:
    connector_id: str
    outcome: str  # refreshed | needs_reauth | retry_later | skipped
    detail: str = ""


def _claim(platform: Platform, connector_id: str, moment: int) -> bool:
    with platform.store.transaction() as tx:
        tx.lock(instance_lock(connector_id))
        doc = tx.get_node(APPS, connector_id)
        if doc is None or int(doc.get("oauthRefreshingUntil") or 0) > moment:
            return False
        update_instance_tx(tx, connector_id, {"oauthRefreshingUntil": moment + CLAIM_MS})
    return True


def _release(platform: Platform, connector_id: str, reauth_reason: str | None = None) -> None:
    with platform.store.transaction() as tx:
        tx.lock(instance_lock(connector_id))
        if tx.get_node(APPS, connector_id) is None:
            return
        update_instance_tx(tx, connector_id, {"oauthRefreshingUntil": None})
        if reauth_reason is not None:
            set_status(tx, connector_id, InstanceStatus.NEEDS_REAUTH, reauth_reason, isAuthenticated=False)


async def refresh_instance(
    platform: Platform,
    http: httpx.AsyncClient,
    connector_id: str,
    *,
    margin_s: int = REFRESH_MARGIN_S,
    force: bool = False,
    now: int | None = None,
) -> RefreshResult:
    """Refresh one instance's token if it expires within `margin_s` (or always, with `force`)."""
    moment = now if now is not None else now_ms()
    if not _claim(platform, connector_id, moment):
        return RefreshResult(connector_id, "skipped", "being refreshed elsewhere, or deleted")
    reauth: str | None = None
    try:
        with platform.store.read() as tx:
            doc = tx.get_node(APPS, connector_id)
        stored = await platform.config_store.get(config_key(connector_id)) or {}
        creds = stored.get("credentials") or {}
        name = (doc or {}).get("name") or connector_id
        expires_at = creds.get("expires_at")
        if doc is None or not creds.get("access_token"):
            return RefreshResult(connector_id, "skipped", "not authorised")
        if not force and (expires_at is None or int(expires_at) - moment // 1000 > margin_s):
            return RefreshResult(connector_id, "skipped", "not due")
        if not creds.get("refresh_token"):
            if expires_at is not None and int(expires_at) <= moment // 1000:
                reauth = (
                    f"the access token of {name} expired and no refresh token was given: authorise it again"
                )
                return RefreshResult(connector_id, "needs_reauth", reauth)
            return RefreshResult(connector_id, "skipped", "no refresh token")
        client = oauth_client(str(doc["type"]), stored)
        try:
            token = await token_request(
                http, client, {"grant_type": "refresh_token", "refresh_token": str(creds["refresh_token"])}
            )
        except OAuthRefusedError as exc:
            reauth = f"the vendor refused to refresh the token of {name} ({exc.error}): authorise it again"
            log.warning(
                "oauth %s: refresh refused (%s); instance needs re-authorisation", connector_id, exc.error
            )
            return RefreshResult(connector_id, "needs_reauth", reauth)
        except OAuthUnavailableError as exc:
            log.warning("oauth %s: refresh failed for now: %s", connector_id, describe(exc))
            return RefreshResult(connector_id, "retry_later", str(exc))
        latest = await platform.config_store.get(config_key(connector_id)) or stored
        latest["credentials"] = credentials_from(token, creds, moment)
        await platform.config_store.put(config_key(connector_id), latest)
        return RefreshResult(connector_id, "refreshed")
    finally:
        _release(platform, connector_id, reauth)


async def refresh_due_tokens(
    platform: Platform, http: httpx.AsyncClient, *, margin_s: int = REFRESH_MARGIN_S, now: int | None = None
) -> list[RefreshResult]:
    """One pass over every authorised OAuth instance (all organisations); the due ones refreshed."""
    results = []
    for doc in list_instances(platform.store):
        if not uses_oauth(doc) or not doc.get("isAuthenticated"):
            continue
        try:
            results.append(
                await refresh_instance(platform, http, str(doc["_key"]), margin_s=margin_s, now=now)
            )
        except (
            Exception
        ) as exc:  # one broken instance (a connector gone from the registry) never stops the pass
            log.warning("oauth %s: refresh skipped: %s", doc["_key"], describe(exc))
            results.append(RefreshResult(str(doc["_key"]), "retry_later", describe(exc)))
    return results


async def refresh_loop(
    platform: Platform, http: httpx.AsyncClient, stop: asyncio.Event, *, interval_s: float = 60.0
) -> None:
    """`refresh_due_tokens` every `interval_s` until `stop` is set."""
    while not stop.is_set():
        try:
            await refresh_due_tokens(platform, http)
        except Exception as exc:  # the store briefly unreachable: the next pass tries again
            log.warning("oauth refresh pass failed: %s", describe(exc))
        try:
            await asyncio.wait_for(stop.wait(), interval_s)
        except TimeoutError:
            pass
