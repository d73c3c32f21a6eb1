"""The tenant's clock, id factory and change log: the one ordering every delta query is computed from.

Each mutation takes the next `seq`; an object remembers the seq of its latest change, so "what changed
since position p" is "every object of the scope whose seq is above p" (the latest state, as Graph's
delta returns it). A scope (a drive, a mail folder, the users, the groups) also has an epoch: bumping
it expires every delta token issued for that scope (the fake's way of producing 410 Gone)."""

from __future__ import annotations

import base64
import bisect
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

Scope = tuple[str, ...]  # ("users",), ("groups",), ("drive", id), ("mail", user id, folder id), ("site", id)

USERS: Scope = ("users",)
GROUPS: Scope = ("groups",)


def drive_scope(drive_id: str) -> Scope:
    return ("drive", drive_id)


def mail_scope(user_id: str, folder_id: str) -> Scope:
    return ("mail", user_id, folder_id)


def graph_time(moment: datetime) -> str:
    """Graph's timestamp format: UTC, whole seconds, a trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeClock:
    """Time as the fake sees it; tests move it forward to expire tokens, download URLs, subscriptions."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2024, 5, 1, 9, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class IdFactory:
    """Ids shaped like the real ones, reproducible from a seed."""

    _BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def guid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _b64(self, n_bytes: int) -> str:
        raw = self._rng.getrandbits(8 * n_bytes).to_bytes(n_bytes, "big")
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def drive_id(self) -> str:
        return "b!" + self._b64(48)

    def item_id(self) -> str:
        return "01" + "".join(self._rng.choice(self._BASE32) for _ in range(32))

    def mail_id(self) -> str:
        return "AAMkAGI2" + self._b64(66) + "AAA="

    def permission_id(self) -> str:
        return "aTowIy5mfG1lbWJlcnNoaXB8" + self._b64(12)

    def token(self) -> str:
        return self._b64(18)


@dataclass(frozen=True)
class ChangeEvent:
    seq: int
    at: datetime
    scope: Scope
    change_type: str  # created | updated | deleted
    object_id: str


class ChangeLog:
    """Monotonic sequence of changes, with per-scope epochs for token expiry."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.seq = 0
        self.events: list[ChangeEvent] = []
        self._times: list[datetime] = []  # _times[i] is the time of seq i + 1
        self._epochs: dict[Scope, int] = {}

    def record(self, scope: Scope, change_type: str, object_id: str) -> int:
        """The seq of a new change; the clock ticks one second so timestamps differ."""
        self.clock.advance(1)
        self.seq += 1
        now = self.clock.now()
        self._times.append(now)
        self.events.append(ChangeEvent(self.seq, now, scope, change_type, object_id))
        return self.seq

    def position_at(self, moment: datetime) -> int:
        """The last seq recorded at or before `moment` (for ODB's timestamp delta tokens)."""
        return bisect.bisect_right(self._times, moment)

    def epoch(self, scope: Scope) -> int:
        return self._epochs.get(scope, 0)

    def expire(self, scope: Scope) -> None:
        """Every delta token issued so far for `scope` answers 410 Gone from now on."""
        self._epochs[scope] = self.epoch(scope) + 1

    def events_since(self, seq: int) -> list[ChangeEvent]:
        return self.events[seq:]
