"""The pure parts of throttling: Retry-After parsing, the backoff schedule, the tenant's shared budget."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from headwater.clients.microsoft.throttle import RateBudget, RetryPolicy, parse_retry_after
from tests.clients.microsoft.mini_graph import FakeClock


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("41") == 41.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("Wed, 25 Nov 2026 12:05:15 GMT", now=now) == 315.0
    later = format_datetime(datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0
    assert parse_retry_after("Wed, 25 Nov 2026 11:00:00 GMT", now=now) == 0.0  # already passed
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=20.0, rng=random.Random(7))
    delays = [policy.backoff(retry) for retry in range(1, 8)]
    ceilings = [1, 2, 4, 8, 16, 20, 20]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered, not a fixed schedule
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_a_pause_holds_every_waiter_until_it_has_passed() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock, sleep=clock.sleep)

    async def scenario() -> list[float]:
        budget.pause(30)
        budget.pause(10)  # a shorter pause does not cut the longer one short
        assert budget.paused_for == 30
        released: list[float] = []

        async def request() -> None:
            async with budget.slot():
                released.append(clock())

        await asyncio.gather(request(), request())
        return released

    start = clock()
    assert asyncio.run(scenario()) == [start + 30, start + 30]
    assert budget.paused_for == 0
    assert budget.pauses == 1


def test_concurrency_cap_limits_requests_in_flight() -> None:
    budget = RateBudget(max_concurrency=2)
    in_flight = 0
    most = 0

    async def request() -> None:
        nonlocal in_flight, most
        async with budget.slot():
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.001)
            in_flight -= 1

    async def scenario() -> None:
        await asyncio.gather(*(request() for _ in range(6)))

    asyncio.run(scenario())
    asyncio.run(scenario())  # the budget outlives an event loop (one per sync run) and still works
    assert most == 2


def test_every_client_of_a_tenant_shares_one_budget() -> None:
    first = RateBudget.for_tenant("Tenant-A-shared-test")
    assert RateBudget.for_tenant("tenant-a-shared-test") is first
    assert RateBudget.for_tenant("tenant-b-shared-test") is not first
