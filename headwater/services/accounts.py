"""Organisations, platform users, roles and passwords; logging in with throttling.

A platform user is the `users` node search already resolves principals for (email, fullName,
orgId, isActive), plus `role` ("admin" | "member"). Its password hash lives apart, in the
`credentials` collection keyed by the user's key, so that nothing that reads user nodes (search,
the CLI, connectors) ever sees it. Failed logins are counted per email in `loginThrottle` (keyed by
the SHA-256 of the lower-cased email): after `MAX_FAILURES` within `FAILURE_WINDOW_MS` the email
is locked for `LOCKOUT_MS`, even for the right password. A successful login deletes its email's
record; records of emails that never log in (typos, someone trying many addresses) are pruned
as later failures are written (`_prune_expired`), so they cannot pile up.

Users are never deleted (grants and history point at them): an admin deactivates them, which ends
their sessions and API tokens (`sessions.py`, `api_tokens.py` check `isActive` on every use).

Everything here is synchronous store work (and argon2, tens of milliseconds): the API calls it in
a worker thread.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal, cast

from headwater.errors import NotFoundError
from headwater.models.constants import CollectionNames
from headwater.models.entities import Organization, User
from headwater.models.timeutil import now_ms
from headwater.store.base import GraphStore, Transaction

from .errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidArgumentError,
    TooManyAttemptsError,
)
from .passwords import hash_password, needs_rehash, rehash, verify_password

Role = Literal["admin", "member"]
ROLES: tuple[Role, ...] = ("admin", "member")

USERS = CollectionNames.USERS.value
ORGS = CollectionNames.ORGS.value
BELONGS_TO = CollectionNames.BELONGS_TO.value
CREDENTIALS = "credentials"
LOGIN_THROTTLE = "loginThrottle"

MAX_FAILURES = 5
FAILURE_WINDOW_MS = 15 * 60 * 1000
LOCKOUT_MS = 5 * 60 * 1000
WRONG_LOGIN = "wrong email or password"
# throttle records looked at (and the expired ones deleted) per failed login: bounded work per
# write, and since each write sweeps the first records in key order again, expired records stay
# a small fraction (about 1/PRUNE_SCAN) of the live ones however many distinct emails fail
PRUNE_SCAN = 64


@dataclass(frozen=True)
class Account:
    """A platform user as the API and CLI show it: never a password hash."""

    key: str
    email: str
    name: str
    org_key: str
    role: Role
    active: bool
    created_at: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.key,
            "email": self.email,
            "name": self.name,
            "orgId": self.org_key,
            "role": self.role,
            "isActive": self.active,
            "createdAt": self.created_at,
        }


def account_from_doc(doc: dict[str, Any]) -> Account:
    role = doc.get("role")
    return Account(
        key=str(doc["_key"]),
        email=str(doc.get("email") or ""),
        name=str(doc.get("fullName") or doc.get("email") or ""),
        org_key=str(doc.get("orgId") or ""),
        role=cast(Role, role) if role in ROLES else "member",
        active=bool(doc.get("isActive", True)),
        created_at=int(doc.get("createdAtTimestamp") or 0),
    )


def is_platform_user(doc: dict[str, Any]) -> bool:
    """A person who was given an account (has a role), not an identity a connector only saw in a grant."""
    return doc.get("role") in ROLES


# One email rule for the service and the API schema, written without `\s` (Python and JSON
# Schema disagree on what it matches): no @, control characters or any kind of space in either part,
# and a dot in the domain.
_EMAIL_CHAR = r"[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]"
EMAIL_PATTERN = rf"^{_EMAIL_CHAR}+@{_EMAIL_CHAR}+\.{_EMAIL_CHAR}+$"
MAX_EMAIL = 254


def normalise_email(email: str) -> str:
    """The email lower-cased without surrounding spaces; InvalidArgumentError if it is not one."""
    cleaned = email.strip()
    if len(cleaned) > MAX_EMAIL or re.fullmatch(EMAIL_PATTERN, cleaned) is None:
        raise InvalidArgumentError(f"{email!r} is not an email address (expected name@example.com)")
    return cleaned.lower()


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidArgumentError(f"role must be admin or member, not {role!r}")
    return role


# ---- organisations -------------------------------------------------------------------------------


def create_organization(store: GraphStore, name: str) -> dict[str, Any]:
    """A new organisation; ConflictError when one with this name exists."""
    cleaned = name.strip()
    if not cleaned:
        raise InvalidArgumentError("the organisation needs a name")
    with store.transaction() as tx:
        if any(d.get("registeredName") == cleaned for d in tx.find_nodes(ORGS)):
            raise ConflictError(f"an organisation named {cleaned!r} exists already")
        doc = Organization(name=cleaned).to_document()
        tx.upsert_nodes(ORGS, [doc])
    return organization_view(doc)


def organization_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_key"],
        "name": doc.get("registeredName") or "",
        "domains": list(doc.get("domains") or []),
        "createdAt": int(doc.get("createdAtTimestamp") or 0),
    }


def get_organization(store: GraphStore, org_key: str) -> dict[str, Any]:
    with store.read() as tx:
        doc = tx.get_node(ORGS, org_key)
    if doc is None:
        raise NotFoundError(f"no organisation {org_key!r}")
    return organization_view(doc)


# ---- users ---------------------------------------------------------------------------------------


def create_user(
    store: GraphStore,
    org_key: str,
    email: str,
    *,
    name: str | None = None,
    role: str = "member",
    password: str | None = None,
) -> Account:
    """A new platform user in the organisation. An identity a connector recorded for this email (an
    inactive node from a grant) becomes the account, so access granted before they joined appears
    at once. ConflictError when the email has an account already."""
    email = normalise_email(email)
    checked_role = check_role(role)
    password_hash = hash_password(password) if password is not None else None
    now = now_ms()
    with store.transaction() as tx:
        if tx.get_node(ORGS, org_key) is None:
            raise NotFoundError(f"no organisation {org_key!r}")
        existing = tx.get_node_by_external_id(USERS, "", email)
        taken = existing is not None and (is_platform_user(existing) or existing.get("isActive"))
        if taken or (existing is not None and existing.get("orgId") not in ("", None, org_key)):
            # one message whoever holds it: an admin must not learn which emails another
            # organisation has
            raise ConflictError(f"{email} is already in use: an email address belongs to one account")
        base = existing or User(email=email, org_id=org_key).to_document()
        doc = base | {
            "email": email,
            "orgId": org_key,
            "fullName": (name or "").strip() or base.get("fullName") or email.split("@")[0],
            "role": checked_role,
            "isActive": True,
            "emailVerified": True,
            "updatedAtTimestamp": now,
        }
        tx.upsert_nodes(USERS, [doc])
        tx.upsert_edges(
            BELONGS_TO,
            [{"_from": f"{USERS}/{doc['_key']}", "_to": f"{ORGS}/{org_key}", "entityType": "ORGANIZATION"}],
        )
        tx.append_event(
            "entity-events",
            "userAdded",
            {"userId": doc["_key"], "orgId": org_key, "email": email, "fullName": doc["fullName"]},
            key=str(doc["_key"]),
        )
        if password_hash is not None:
            _write_credentials(tx, doc, password_hash, now)
    return account_from_doc(doc)


def get_account(store: GraphStore, user_key: str) -> Account:
    with store.read() as tx:
        doc = tx.get_node(USERS, user_key)
    if doc is None or not is_platform_user(doc):
        raise NotFoundError(f"no user {user_key!r}")
    return account_from_doc(doc)


def find_account(store: GraphStore, email: str) -> Account:
    """The account with this email; NotFoundError when there is none."""
    with store.read() as tx:
        doc = tx.get_node_by_external_id(USERS, "", email.strip())
    if doc is None or not is_platform_user(doc):
        raise NotFoundError(f"no account with email {email.strip()!r} — add one with `headwater users add`")
    return account_from_doc(doc)


def list_accounts(store: GraphStore, org_key: str) -> list[Account]:
    """The organisation's platform users (active and deactivated), by email."""
    with store.read() as tx:
        docs = tx.find_nodes(USERS, org_id=org_key)
    return sorted((account_from_doc(d) for d in docs if is_platform_user(d)), key=lambda a: a.email)


def org_user(tx: Transaction, org_key: str, user_key: str) -> dict[str, Any]:
    """The user document, only if it is a platform user of `org_key` (anything else: NotFoundError,
    so another organisation's user ids are indistinguishable from ids that do not exist)."""
    doc = tx.get_node(USERS, user_key)
    if doc is None or doc.get("orgId") != org_key or not is_platform_user(doc):
        raise NotFoundError(f"no user {user_key!r} in this organisation")
    return doc


def update_account(
    store: GraphStore,
    org_key: str,
    user_key: str,
    *,
    role: str | None = None,
    active: bool | None = None,
    name: str | None = None,
    acting_user_key: str | None = None,
) -> Account:
    """Change a user's role, name or active flag. The last active admin can be neither demoted nor
    deactivated (the organisation would have nobody to manage it), and nobody deactivates
    themselves."""
    checked_role = check_role(role) if role is not None else None
    with store.transaction() as tx:
        doc = org_user(tx, org_key, user_key)
        updated = dict(doc)
        if checked_role is not None:
            updated["role"] = checked_role
        if active is not None:
            if not active and user_key == acting_user_key:
                raise ForbiddenError("you cannot deactivate yourself — ask another admin")
            updated["isActive"] = active
        if name is not None:
            if not name.strip():
                raise InvalidArgumentError("the name is empty")
            updated["fullName"] = name.strip()
        losing_admin = doc.get("role") == "admin" and doc.get("isActive", True)
        losing_admin = losing_admin and (updated["role"] != "admin" or not updated.get("isActive", True))
        if losing_admin and _active_admins(tx, org_key) <= 1:
            raise ConflictError("this is the organisation's last admin: make someone else admin first")
        if updated != doc:
            updated["updatedAtTimestamp"] = now_ms()
            tx.upsert_nodes(USERS, [updated])
    if active is False:  # imported here: both modules import this one
        from .api_tokens import revoke_all_tokens
        from .sessions import revoke_user_sessions

        revoke_user_sessions(store, user_key)
        revoke_all_tokens(store, user_key)
    return account_from_doc(updated)


def _active_admins(tx: Transaction, org_key: str) -> int:
    return sum(
        1
        for d in tx.find_nodes(USERS, org_id=org_key)
        if d.get("role") == "admin" and d.get("isActive", True)
    )


# ---- passwords and logging in ----------------------------------------------------------------


def _write_credentials(tx: Transaction, user: dict[str, Any], password_hash: str, now: int) -> None:
    tx.upsert_nodes(
        CREDENTIALS,
        [
            {
                "_key": user["_key"],
                "orgId": user.get("orgId") or "",
                "passwordHash": password_hash,
                "setAt": now,
            }
        ],
    )


def set_password(store: GraphStore, user_key: str, password: str, *, keep_session: str | None = None) -> None:
    """Set (or replace) a user's password; every session of the user ends (they log in again),
    except `keep_session` (the stored key of the session that made the change)."""
    password_hash = hash_password(password)
    with store.transaction() as tx:
        user = tx.get_node(USERS, user_key)
        if user is None or not is_platform_user(user):
            raise NotFoundError(f"no user {user_key!r}")
        _write_credentials(tx, user, password_hash, now_ms())
    from .sessions import revoke_user_sessions  # imported here: sessions.py imports this module

    revoke_user_sessions(store, user_key, except_key=keep_session)


def change_own_password(
    store: GraphStore,
    user_key: str,
    current: str,
    new: str,
    *,
    keep_session: str | None = None,
    now: int | None = None,
) -> None:
    """The user's own change: the current password must be right (ForbiddenError otherwise).
    Wrong guesses count against the same throttle as failed logins of the user's email, so a
    stolen session or token cannot try passwords without limit (TooManyAttemptsError while
    locked, even for the right one). The user's API tokens stay: they are credentials of their
    own, listed and revoked apart."""
    now = now_ms() if now is None else now
    with store.read() as tx:
        credentials = tx.get_node(CREDENTIALS, user_key)
        user = tx.get_node(USERS, user_key)
    throttle_key = _throttle_key(str((user or {}).get("email") or f"user:{user_key}").strip().lower())
    _check_not_locked(store, throttle_key, now, "too many wrong passwords")
    if credentials is None or not verify_password(credentials.get("passwordHash"), current):
        _record_failure(store, throttle_key, now)
        raise ForbiddenError("the current password is wrong")
    with store.transaction() as tx:
        tx.delete_nodes(LOGIN_THROTTLE, [throttle_key])
    set_password(store, user_key, new, keep_session=keep_session)


def has_password(store: GraphStore, user_key: str) -> bool:
    with store.read() as tx:
        return tx.get_node(CREDENTIALS, user_key) is not None


def password_matches(store: GraphStore, user_key: str, password: str) -> bool:
    """Whether `password` is the user's (no throttling: for tools on the server, not for logins)."""
    with store.read() as tx:
        credentials = tx.get_node(CREDENTIALS, user_key)
    return credentials is not None and verify_password(credentials.get("passwordHash"), password)


def _throttle_key(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


def authenticate(store: GraphStore, email: str, password: str, *, now: int | None = None) -> Account:
    """The account for this email and password. AuthenticationError ("wrong email or password",
    the same for an unknown email) or TooManyAttemptsError while the email is locked."""
    now = now_ms() if now is None else now
    cleaned = email.strip().lower()
    throttle_key = _throttle_key(cleaned)
    with store.read() as tx:
        throttle = tx.get_node(LOGIN_THROTTLE, throttle_key) or {}
        user = tx.get_node_by_external_id(USERS, "", cleaned) if cleaned else None
        credentials = tx.get_node(CREDENTIALS, str(user["_key"])) if user is not None else None
    _raise_if_locked(throttle, now, "too many failed logins for this email")
    stored_hash = credentials.get("passwordHash") if credentials else None
    ok = verify_password(stored_hash, password)  # runs even for unknown emails: same timing
    usable = ok and user is not None and is_platform_user(user) and bool(user.get("isActive", True))
    if not usable:
        _record_failure(store, throttle_key, now)
        raise AuthenticationError(WRONG_LOGIN)
    assert user is not None
    assert stored_hash is not None
    with store.transaction() as tx:
        if throttle:
            tx.delete_nodes(LOGIN_THROTTLE, [throttle_key])
        if needs_rehash(stored_hash):
            _write_credentials(tx, user, rehash(password), now)
    return account_from_doc(user)


def _raise_if_locked(throttle: dict[str, Any], now: int, what: str) -> None:
    locked_until = int(throttle.get("lockedUntil") or 0)
    if locked_until > now:
        wait_s = max(1, -(-(locked_until - now) // 1000))
        raise TooManyAttemptsError(f"{what}: try again in {wait_s} s", retry_after_s=wait_s)


def _check_not_locked(store: GraphStore, throttle_key: str, now: int, what: str) -> None:
    with store.read() as tx:
        throttle = tx.get_node(LOGIN_THROTTLE, throttle_key) or {}
    _raise_if_locked(throttle, now, what)


def _record_failure(store: GraphStore, throttle_key: str, now: int) -> None:
    with store.transaction() as tx:
        _prune_expired(tx, now)
        doc = tx.get_node(LOGIN_THROTTLE, throttle_key) or {"_key": throttle_key, "failures": 0}
        if now - int(doc.get("firstFailureAt") or 0) > FAILURE_WINDOW_MS:
            doc = {"_key": throttle_key, "failures": 0, "firstFailureAt": now}
        doc["failures"] = int(doc["failures"]) + 1
        if doc["failures"] >= MAX_FAILURES:
            doc = {
                "_key": throttle_key,
                "failures": 0,
                "firstFailureAt": now,
                "lockedUntil": now + LOCKOUT_MS,
            }
        tx.upsert_nodes(LOGIN_THROTTLE, [doc])


def _prune_expired(tx: Transaction, now: int) -> None:
    """Delete expired throttle records among the first `PRUNE_SCAN` (keys are hashes, so these
    are a random sample that changes as records come and go)."""
    expired = [
        str(doc["_key"])
        for doc in tx.find_nodes(LOGIN_THROTTLE, limit=PRUNE_SCAN)
        if now - int(doc.get("firstFailureAt") or 0) > FAILURE_WINDOW_MS
        and int(doc.get("lockedUntil") or 0) <= now
    ]
    tx.delete_nodes(LOGIN_THROTTLE, expired)
