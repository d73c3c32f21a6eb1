"""Expired delta tokens answer 410 for their scope only; throttling on demand with Retry-After."""

from __future__ import annotations

import asyncio
from typing import Any

from headwater.testing.fake_graph import FakeGraph
from tests.testing.fake_graph.conftest import Seed
from tests.testing.fake_graph.helpers import Session, session

run = asyncio.run


def test_expiring_one_drive_gives_410_there_and_nowhere_else(graph: FakeGraph, seed: Seed) -> None:
    bob_drive = seed.tenant.drive_of(seed.bob.id)

    async def scenario() -> tuple[Any, int, int]:
        async with session(graph) as s:
            _, alice_last = await s.collect(f"/drives/{seed.drive.id}/root/delta")
            _, bob_last = await s.collect(f"/drives/{bob_drive.id}/root/delta")
            graph.faults.expire_drive_delta(seed.drive.id)
            gone = await s.get(alice_last["@odata.deltaLink"])
            bob = await s.get(bob_last["@odata.deltaLink"])
            restart, _ = await s.collect(gone.headers["location"])
            return gone, bob.status_code, len(restart)

    gone, bob_status, restarted = run(scenario())
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "resyncRequired"
    assert gone.json()["error"]["innerError"]["code"] == "resyncChangesApplyDifferences"
    assert gone.headers["location"] == f"https://graph.microsoft.com/v1.0/drives/{seed.drive.id}/root/delta"
    assert bob_status == 200
    assert restarted == 5


def test_expired_mail_and_directory_tokens_say_sync_state_not_found(graph: FakeGraph, seed: Seed) -> None:
    async def scenario() -> list[tuple[int, str]]:
        async with session(graph) as s:
            _, mail = await s.collect(f"/users/{seed.alice.id}/mailFolders/inbox/messages/delta")
            _, users = await s.collect("/users/delta")
            graph.faults.expire_mail_delta(seed.alice.id, "inbox")
            graph.faults.expire_directory_delta(groups=False)
            answers = [await s.get(mail["@odata.deltaLink"]), await s.get(users["@odata.deltaLink"])]
            return [(a.status_code, a.json()["error"]["code"]) for a in answers]

    assert run(scenario()) == [(410, "SyncStateNotFound"), (410, "SyncStateNotFound")]


def test_delta_tokens_expire_with_age_when_a_lifetime_is_set(graph: FakeGraph, seed: Seed) -> None:
    from datetime import timedelta

    seed.tenant.delta_token_lifetime = timedelta(days=7)

    async def scenario() -> int:
        async with session(graph) as s:
            _, last = await s.collect("/groups/delta")
            seed.tenant.clock.advance(8 * 24 * 3600)
            await s.login()  # the access token expired as well
            return (await s.get(last["@odata.deltaLink"])).status_code

    assert run(scenario()) == 410


def test_throttle_the_next_requests(graph: FakeGraph, seed: Seed) -> None:
    graph.faults.throttle_next(2, status=503, retry_after=7)

    async def scenario() -> list[tuple[int, str | None]]:
        async with session(graph) as s:
            answers = [await s.get("/users") for _ in range(3)]
            return [(a.status_code, a.headers.get("retry-after")) for a in answers]

    assert run(scenario()) == [(503, "7"), (503, "7"), (200, None)]


async def _collect_retrying(s: Session, url: str) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """Follow links, retrying throttled calls (Retry-After honoured as a count, not slept)."""
    items: list[dict[str, Any]] = []
    retries = 0
    while True:
        answer = await s.get(url)
        if answer.status_code in (429, 503):
            assert answer.headers["retry-after"] == "1"
            retries += 1
            continue
        body = answer.json()
        items.extend(body["value"])
        if "@odata.nextLink" not in body:
            return items, body, retries
        url = body["@odata.nextLink"]


def test_random_throttling_changes_nothing_but_the_number_of_calls(graph: FakeGraph, seed: Seed) -> None:
    for n in range(30):
        seed.tenant.add_file(seed.drive.id, f"file-{n}.txt", f"content {n}")

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        async with session(graph) as s:
            clean, _, _ = await _collect_retrying(s, f"/drives/{seed.drive.id}/root/delta")
            graph.faults.throttle_fraction(0.2, seed=3)
            faulty, _, retries = await _collect_retrying(s, f"/drives/{seed.drive.id}/root/delta")
            return clean, faulty, retries

    clean, faulty, retries = run(scenario())
    statuses = {f.throttle.status for f in graph.faults.injected}
    assert retries == len(graph.faults.injected) > 0
    assert statuses <= {429, 503}
    strip = [{k: v for k, v in i.items() if k != "@microsoft.graph.downloadUrl"} for i in clean]
    assert strip == [{k: v for k, v in i.items() if k != "@microsoft.graph.downloadUrl"} for i in faulty]
