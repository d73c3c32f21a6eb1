"""Throttling: one rate budget per tenant, shared by every connector of that tenant, and the retry schedule.

Graph throttles per app and tenant, not per connection: when OneDrive is told "Retry-After: 30", the
Outlook and SharePoint connectors of the same tenant are throttled too. So a `Retry-After` pauses every
request of the tenant until it has passed, and all clients of a tenant share one `RateBudget`
(`RateBudget.for_tenant`)."""

from __future__ import annotations

import asyncio
import random
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import ClassVar

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait per a `Retry-After` header (seconds or an HTTP date); None if absent or unreadable.

    `now` is the wall-clock time (Unix seconds) a date is measured from; a date in the past gives 0."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT; a zone-less one is read as such
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry throttled or failing requests.

    Attributes:
        max_attempts: sends per request, the first included; then ThrottledError / GraphConnectionError.
        base_delay_s: backoff before the first retry when Graph gives no Retry-After; doubles per retry.
        max_delay_s: the largest backoff.
        max_retry_after_s: a Retry-After longer than this is not slept through here: the request fails
            with ThrottledError carrying it, so the sync pauses and resumes later instead of holding a worker.
        rng: the jitter's random source (seedable in tests).
    """

    max_attempts: int = 6
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_retry_after_s: float = 900.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")

    def backoff(self, retry: int) -> float:
        """Seconds before retry number `retry` (1 = the first): exponential, with jitter in [50 %, 100 %]
        so that clients throttled together do not come back together."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (retry - 1))
        return float(ceiling * (0.5 + 0.5 * self.rng.random()))


class RateBudget:
    """The requests of one tenant: a shared pause (from Retry-After) and an optional concurrency cap.

    Use `RateBudget.for_tenant(tenant_id)` so that every client of the tenant shares one budget; build
    one directly (with a fake `clock` and `sleep`) in tests.

    Args:
        clock: monotonic seconds.
        sleep: awaits the given seconds.
        max_concurrency: requests in flight at once for the tenant; None = unlimited.
    """

    _registry: ClassVar[dict[str, RateBudget]] = {}

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_concurrency: int | None = None,
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1 or None, not {max_concurrency}")
        self.clock = clock
        self.sleep = sleep
        self.max_concurrency = max_concurrency
        self._paused_until = 0.0
        self.pauses = 0
        # asyncio primitives belong to one event loop; a budget outlives loops (tests, CLI runs), so
        # each loop gets its own semaphore.
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def for_tenant(cls, tenant_id: str, *, max_concurrency: int | None = None) -> RateBudget:
        """The process-wide budget of `tenant_id` (created on first use; `max_concurrency` applies then)."""
        key = tenant_id.strip().lower()
        budget = cls._registry.get(key)
        if budget is None:
            budget = cls._registry[key] = cls(max_concurrency=max_concurrency)
        return budget

    @property
    def paused_for(self) -> float:
        """Seconds until requests of the tenant may go out again (0 when not paused)."""
        return max(0.0, self._paused_until - self.clock())

    def pause(self, seconds: float) -> None:
        """Hold every request of the tenant for `seconds` from now (a longer pause already set wins)."""
        until = self.clock() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1

    async def wait(self) -> None:
        """Return once the tenant is not paused."""
        while (remaining := self.paused_for) > 0:
            await self.sleep(remaining)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait out any pause, then hold one of the tenant's concurrent slots for the block."""
        if self.max_concurrency is None:
            await self.wait()
            yield
            return
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.max_concurrency)
        async with semaphore:
            await self.wait()
            yield
