"""Opaque, HMAC-signed paging and delta tokens.

A token is base64url(JSON) + "." + base64url(HMAC-SHA256): a client cannot build or edit one (a
changed byte answers 400), so connectors that construct next links instead of following them fail
in tests, as they would against Graph."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from headwater.testing.fake_graph.changelog import Scope


class InvalidToken(ValueError):
    """A token the fake did not issue, or issued for another resource."""


@dataclass(frozen=True)
class Cursor:
    """Where a listing or a delta round stands.

    Attributes:
        kind: "list" (an ordinary collection: `after` is an offset), "page" (a delta round in
            progress: `after` is the seq the next page starts after), "delta" (a finished round:
            changes after `since` come next).
        scope: what the token is good for; a token presented on another resource is invalid.
        since: the change-log position the round reports changes after (0 = full enumeration).
        upto: the round's snapshot position; later changes wait for the next round.
        epoch: the scope's epoch when issued; a newer epoch means the token expired (410).
        issued: the fake clock's time of issue (Unix seconds), for token lifetimes.
        options: query options fixed by the first request ($select, page size, changeType).
    """

    kind: Literal["list", "page", "delta"]
    scope: Scope
    since: int = 0
    upto: int = 0
    after: int = 0
    epoch: int = 0
    issued: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def seal(self, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(body)}"

    def unseal(self, token: str) -> dict[str, Any]:
        body, dot, mac = token.partition(".")
        if not dot or not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidToken("the token is not one this service issued (it was changed or truncated)")
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError as exc:
            raise InvalidToken("the token cannot be read") from exc
        if not isinstance(payload, dict):
            raise InvalidToken("the token cannot be read")
        return payload

    def encode(self, cursor: Cursor) -> str:
        return self.seal(asdict(cursor))

    def decode(self, token: str, *, scope: Scope) -> Cursor:
        fields = self.unseal(token)
        try:
            cursor = Cursor(**{**fields, "scope": tuple(fields["scope"])})
        except (TypeError, KeyError) as exc:
            raise InvalidToken("the token cannot be read") from exc
        if cursor.scope != tuple(scope):
            raise InvalidToken("the token belongs to another resource")
        return cursor

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest()[:18])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
