"""Who is calling, and what the request may touch: the dependencies every route uses.

A request is authenticated by a session cookie (the web UI; unsafe methods also need the CSRF token)
or by `Authorization: Bearer <API token>` (scripts, the CLI). Every route except health, the OAuth
callback and webhooks depends on `current_caller`; admin-only routes on `require_admin`. A caller
only ever sees their own organisation's data: routes filter by `caller.org_key`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "member"]


@dataclass(frozen=True)
class Caller:
    """The authenticated user behind a request."""

    user_key: str
    email: str
    name: str
    org_key: str
    role: Role
    via: Literal["session", "token"]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
