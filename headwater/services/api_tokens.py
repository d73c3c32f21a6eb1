"""API tokens for scripts and the CLI: `Authorization: Bearer hw_...`.

A token is `hw_` + 32 random bytes (URL-safe base64). It is shown once, when it is created; the
store keeps its SHA-256 as the `apiTokens` document key, with a public id (to revoke it by), a
name, the owner, created / last-used / expiry times and the first characters for recognising it
in a list. A token acts as its owner, with the owner's current role; it stops working when it is
revoked, expires, or its owner is deactivated.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from headwater.errors import NotFoundError
from headwater.models.constants import CollectionNames
from headwater.models.timeutil import now_ms
from headwater.store.base import GraphStore

from .accounts import Account, account_from_doc, is_platform_user
from .errors import AuthenticationError, InvalidArgumentError
from .sessions import token_digest

API_TOKENS = "apiTokens"
USERS = CollectionNames.USERS.value
PREFIX = "hw_"
SHOWN_CHARS = 8  # of the token after "hw_": enough to tell tokens apart, far too few to guess the rest
TOUCH_INTERVAL_MS = 60_000
MAX_NAME = 100
BAD_TOKEN = "the API token is unknown, revoked or expired — create a new one with `headwater tokens create`"


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    prefix: str
    user_key: str
    created_at: int
    last_used_at: int | None
    expires_at: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "createdAt": self.created_at,
            "lastUsedAt": self.last_used_at,
            "expiresAt": self.expires_at,
        }


def _info(doc: dict[str, Any]) -> TokenInfo:
    return TokenInfo(
        id=str(doc["id"]),
        name=str(doc["name"]),
        prefix=str(doc["prefix"]),
        user_key=str(doc["userKey"]),
        created_at=int(doc["createdAt"]),
        last_used_at=doc.get("lastUsedAt"),
        expires_at=doc.get("expiresAt"),
    )


def create_token(
    store: GraphStore, account: Account, name: str, *, expires_in_days: int | None = None
) -> tuple[str, TokenInfo]:
    """A new token for `account`: (the token, shown only now; what the list will show)."""
    cleaned = name.strip()
    if not cleaned:
        raise InvalidArgumentError("the token needs a name (what it is for, e.g. 'backup script')")
    if len(cleaned) > MAX_NAME:
        raise InvalidArgumentError(f"the token name is too long: use at most {MAX_NAME} characters")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise InvalidArgumentError("expiresInDays must be between 1 and 3650 (or unset for no expiry)")
    now = now_ms()
    token = PREFIX + secrets.token_urlsafe(32)
    doc: dict[str, Any] = {
        "_key": token_digest(token),
        "id": str(uuid.uuid4()),
        "name": cleaned,
        "prefix": token[: len(PREFIX) + SHOWN_CHARS],
        "userKey": account.key,
        "orgId": account.org_key,
        "createdAt": now,
        "lastUsedAt": None,
        "expiresAt": now + expires_in_days * 86_400_000 if expires_in_days else None,
    }
    with store.transaction() as tx:
        tx.upsert_nodes(API_TOKENS, [doc])
    return token, _info(doc)


def resolve_token(store: GraphStore, token: str, *, now: int | None = None) -> Account:
    """The owner of a live token; AuthenticationError otherwise."""
    now = now_ms() if now is None else now
    if not token.startswith(PREFIX):
        raise AuthenticationError(BAD_TOKEN)
    key = token_digest(token)
    with store.read() as tx:
        doc = tx.get_node(API_TOKENS, key)
        user = tx.get_node(USERS, str(doc["userKey"])) if doc else None
    if doc is None or (doc.get("expiresAt") is not None and now >= int(doc["expiresAt"])):
        raise AuthenticationError(BAD_TOKEN)
    if user is None or not is_platform_user(user) or not user.get("isActive", True):
        raise AuthenticationError(BAD_TOKEN)
    if now - int(doc.get("lastUsedAt") or 0) >= TOUCH_INTERVAL_MS:
        with store.transaction() as tx:
            tx.upsert_nodes(API_TOKENS, [doc | {"lastUsedAt": now}])
    return account_from_doc(user)


def _owned(store: GraphStore, user_key: str) -> list[dict[str, Any]]:
    with store.read() as tx:
        user = tx.get_node(USERS, user_key)
        org_key = str(user.get("orgId") or "") if user else ""
        docs = tx.find_nodes(API_TOKENS, org_id=org_key)
    return [d for d in docs if d.get("userKey") == user_key]


def list_tokens(store: GraphStore, user_key: str) -> list[TokenInfo]:
    """The user's tokens, newest first (prefixes only)."""
    return sorted((_info(d) for d in _owned(store, user_key)), key=lambda t: (-t.created_at, t.id))


def revoke_token(store: GraphStore, user_key: str, token_id: str) -> TokenInfo:
    """Revoke one of the user's own tokens by its id; NotFoundError for anything else."""
    for doc in _owned(store, user_key):
        if doc["id"] == token_id:
            with store.transaction() as tx:
                tx.delete_nodes(API_TOKENS, [doc["_key"]])
            return _info(doc)
    raise NotFoundError(f"you have no API token with id {token_id!r} — `GET /api/v1/tokens` lists them")


def revoke_all_tokens(store: GraphStore, user_key: str) -> int:
    keys = [d["_key"] for d in _owned(store, user_key)]
    with store.transaction() as tx:
        return tx.delete_nodes(API_TOKENS, keys)
