"""Web UI sessions and their CSRF tokens.

A session is a random 32-byte token that only the browser holds (an HttpOnly cookie). The store
keeps its SHA-256 as the `sessions` document key, with the user, the creation time, the last time it
was seen and an absolute expiry, so a copy of the database cannot be replayed as a login. A
session ends when it has been idle for `idle_ms`, at its absolute expiry, at logout, when the
user's password changes and when the user is deactivated.

The CSRF token is derived, not stored: HMAC-SHA256 of the session's stored key with a key derived
from the instance secret. A page can only learn it from a response to the logged-in user, which
another site cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from headwater.models.constants import CollectionNames
from headwater.models.timeutil import now_ms
from headwater.store.base import GraphStore

from .accounts import Account, account_from_doc, is_platform_user
from .errors import AuthenticationError

SESSIONS = "sessions"
USERS = CollectionNames.USERS.value
# lastSeenAt is written at most this often, so that reading pages does not write on every request
TOUCH_INTERVAL_MS = 60_000
SESSION_EXPIRED = "your session has ended — log in again"


@dataclass(frozen=True)
class Session:
    key: str  # the SHA-256 of the cookie value: what the store knows
    account: Account
    expires_at: int


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(
    store: GraphStore, account: Account, *, max_ms: int, idle_ms: int, now: int | None = None
) -> str:
    """A new session for `account`; returns the token for the cookie (never stored). The user's
    sessions that can no longer be used are deleted on the way (nothing else sweeps them)."""
    now = now_ms() if now is None else now
    token = secrets.token_urlsafe(32)
    doc: dict[str, Any] = {
        "_key": token_digest(token),
        "userKey": account.key,
        "orgId": account.org_key,
        "createdAt": now,
        "lastSeenAt": now,
        "expiresAt": now + max_ms,
    }
    with store.transaction() as tx:
        dead = [
            d["_key"]
            for d in tx.find_nodes(SESSIONS, org_id=account.org_key)
            if d.get("userKey") == account.key
            and (now >= int(d["expiresAt"]) or now - int(d["lastSeenAt"]) >= idle_ms)
        ]
        tx.delete_nodes(SESSIONS, dead)
        tx.upsert_nodes(SESSIONS, [doc])
    return token


def resolve_session(store: GraphStore, token: str, *, idle_ms: int, now: int | None = None) -> Session:
    """The live session behind a cookie value; AuthenticationError when it is unknown, idle too
    long, past its expiry, or its user is no longer active (an ended session is deleted)."""
    now = now_ms() if now is None else now
    key = token_digest(token)
    with store.read() as tx:
        doc = tx.get_node(SESSIONS, key)
        user = tx.get_node(USERS, str(doc["userKey"])) if doc else None
    if doc is None:
        raise AuthenticationError(SESSION_EXPIRED)
    alive = now < int(doc["expiresAt"]) and now - int(doc["lastSeenAt"]) < idle_ms
    if not alive or user is None or not is_platform_user(user) or not user.get("isActive", True):
        with store.transaction() as tx:
            tx.delete_nodes(SESSIONS, [key])
        raise AuthenticationError(SESSION_EXPIRED)
    if now - int(doc["lastSeenAt"]) >= TOUCH_INTERVAL_MS:
        with store.transaction() as tx:
            tx.upsert_nodes(SESSIONS, [doc | {"lastSeenAt": now}])
    return Session(key, account_from_doc(user), int(doc["expiresAt"]))


def session_is_live(store: GraphStore, session_key: str, *, now: int | None = None) -> bool:
    """Whether the session with this stored key still exists, is before its expiry and belongs to
    an active user: what a long-lived response (a status stream) re-checks as it goes. Idleness is
    not: the open stream is the session's activity. Reads only."""
    now = now_ms() if now is None else now
    with store.read() as tx:
        doc = tx.get_node(SESSIONS, session_key)
        user = tx.get_node(USERS, str(doc["userKey"])) if doc else None
    if doc is None or now >= int(doc["expiresAt"]):
        return False
    return user is not None and is_platform_user(user) and bool(user.get("isActive", True))


def revoke_session(store: GraphStore, token: str) -> bool:
    with store.transaction() as tx:
        return tx.delete_nodes(SESSIONS, [token_digest(token)]) > 0


def revoke_user_sessions(store: GraphStore, user_key: str, *, except_key: str | None = None) -> int:
    """End every session of the user (all but `except_key`); returns how many ended."""
    with store.transaction() as tx:
        user = tx.get_node(USERS, user_key)
        org_key = str(user.get("orgId") or "") if user else None
        docs = tx.find_nodes(SESSIONS, org_id=org_key) if org_key is not None else tx.find_nodes(SESSIONS)
        keys = [d["_key"] for d in docs if d.get("userKey") == user_key and d["_key"] != except_key]
        return tx.delete_nodes(SESSIONS, keys)


def csrf_key(instance_secret: bytes) -> bytes:
    """The key CSRF tokens are made with: its own key, derived from the instance secret."""
    return hmac.new(instance_secret, b"headwater csrf v1", hashlib.sha256).digest()


def csrf_token(key: bytes, session_key: str) -> str:
    return hmac.new(key, session_key.encode(), hashlib.sha256).hexdigest()


def csrf_matches(key: bytes, session_key: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(key, session_key), presented)
