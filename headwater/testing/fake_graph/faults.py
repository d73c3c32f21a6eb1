"""Faults on demand: throttling (429 or 503 with Retry-After) by request number or as a seeded
random fraction, and expiring one scope's delta tokens (the next call with one answers 410).

Only Graph calls are throttled, never the token endpoint or download URLs, so a test's fault count
is exactly the Graph requests it made."""

from __future__ import annotations

import random
from dataclasses import dataclass

from headwater.testing.fake_graph.changelog import GROUPS, USERS, drive_scope, mail_scope
from headwater.testing.fake_graph.tenant import FakeTenant


@dataclass(frozen=True)
class Throttle:
    status: int  # 429 or 503
    retry_after: int  # seconds, sent as the Retry-After header


@dataclass(frozen=True)
class InjectedFault:
    request_number: int
    method: str
    path: str
    throttle: Throttle


class FaultPlan:
    """Decides, per Graph request, whether to throttle it; counts requests from 1."""

    def __init__(self, tenant: FakeTenant) -> None:
        self._tenant = tenant
        self.request_count = 0
        self.injected: list[InjectedFault] = []
        self._by_number: dict[int, Throttle] = {}
        self._fraction = 0.0
        self._statuses: tuple[int, ...] = (429,)
        self._retry_after = 1
        self._rng = random.Random(0)

    def throttle_request(self, number: int, *, status: int = 429, retry_after: int = 1) -> None:
        """Throttle the `number`-th Graph request (counting every Graph request since the fake began)."""
        self._by_number[number] = Throttle(_checked(status), retry_after)

    def throttle_next(self, count: int = 1, *, status: int = 429, retry_after: int = 1) -> None:
        """Throttle the next `count` Graph requests."""
        for offset in range(1, count + 1):
            self.throttle_request(self.request_count + offset, status=status, retry_after=retry_after)

    def throttle_fraction(
        self, fraction: float, *, seed: int = 0, statuses: tuple[int, ...] = (429, 503), retry_after: int = 1
    ) -> None:
        """Throttle about `fraction` of all Graph requests from now on, reproducibly for a seed."""
        if not 0 <= fraction < 1:
            raise ValueError(f"fraction must be in [0, 1), got {fraction}")
        self._fraction = fraction
        self._statuses = tuple(_checked(s) for s in statuses)
        self._retry_after = retry_after
        self._rng = random.Random(seed)

    def clear(self) -> None:
        self._by_number.clear()
        self._fraction = 0.0

    def decide(self, method: str, path: str) -> Throttle | None:
        self.request_count += 1
        throttle = self._by_number.pop(self.request_count, None)
        if throttle is None and self._fraction and self._rng.random() < self._fraction:
            throttle = Throttle(self._rng.choice(self._statuses), self._retry_after)
        if throttle is not None:
            self.injected.append(InjectedFault(self.request_count, method, path, throttle))
        return throttle

    # -- delta token expiry -------------------------------------------------------------------------

    def expire_drive_delta(self, drive_id: str) -> None:
        """The drive's delta tokens answer 410 resyncRequired; other drives keep theirs."""
        self._tenant.expire_delta_tokens(drive_scope(self._tenant.drive(drive_id).id))

    def expire_mail_delta(self, user_id: str, folder: str) -> None:
        """One mail folder's delta tokens answer 410 SyncStateNotFound."""
        target = self._tenant.mail_folder(user_id, folder)
        self._tenant.expire_delta_tokens(mail_scope(target.user_id, target.id))

    def expire_directory_delta(self, *, users: bool = True, groups: bool = True) -> None:
        if users:
            self._tenant.expire_delta_tokens(USERS)
        if groups:
            self._tenant.expire_delta_tokens(GROUPS)


def _checked(status: int) -> int:
    if status not in (429, 503):
        raise ValueError(f"throttling answers 429 or 503, not {status}")
    return status
