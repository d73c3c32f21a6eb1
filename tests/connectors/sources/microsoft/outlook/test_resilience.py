"""Throttling, an expired delta token on one folder, sync filters: the final graph is what it should be."""

from __future__ import annotations

from typing import Any

from headwater.connectors.core.errors import SourceThrottledError
from headwater.store.base import GraphStore
from headwater.testing.fake_graph import FakeGraph, checked_graph
from headwater.testing.fake_graph.mail import rest_id
from tests.connectors.sources.microsoft.helpers import run

from .world import World, groups_of, readers, records, relations, seed_mail, sync_points


def _mutate(fake: FakeGraph) -> None:
    tenant = fake.tenant
    ada = next(u for u in tenant.users.values() if u.display_name == "Ada Lovelace")
    bob = next(u for u in tenant.users.values() if u.display_name == "Bob Smith")
    box = {m.subject: m for m in tenant.mailboxes[ada.id].messages.values()}
    tenant.add_message(
        bob.id, "Hiring plan", "<p>Two engineers.</p>", sender=ada.mail or "", to=[bob.mail or ""]
    )
    tenant.update_message(ada.id, box["Apollo kickoff"].id, subject="Apollo kickoff (May)")
    tenant.move_message(ada.id, box["Lunch on Friday"].id, "deleteditems")
    tenant.delete_message(ada.id, box["Re: Budget 2025"].id)


def _graph(store: GraphStore) -> dict[str, Any]:
    names = sorted(records(store))
    return {
        "groups": groups_of(store),
        "attachments": relations(store, "ATTACHMENT"),
        "siblings": relations(store, "SIBLING"),
        "readers": {name: readers(store, name) for name in names},
    }


async def _sync_through_pauses(world: World, *, incremental: bool) -> int:
    """What the engine does: a throttled sync pauses and resumes incrementally from its sync points."""
    pauses = 0
    while True:
        try:
            await world.sync_once(incremental=incremental)
            return pauses
        except SourceThrottledError:
            pauses += 1
            incremental = True


def test_twenty_percent_throttling_reaches_the_same_graph(store: GraphStore, tmp_path: Any) -> None:
    from headwater.store.registry import open_store

    calm_store = open_store(f"sqlite:///{tmp_path / 'calm.db'}")
    try:
        with checked_graph(seed_mail().tenant, page_size_cap=2) as calm:
            calm_world = World(calm, calm_store)
            run(calm_world.sync_once(incremental=False))
            _mutate(calm)
            run(calm_world.sync_once())
            expected = _graph(calm_store)
    finally:
        calm_store.close()

    with checked_graph(seed_mail().tenant, page_size_cap=2) as stormy:
        stormy.faults.throttle_fraction(0.2, seed=3)
        world = World(stormy, store)
        run(_sync_through_pauses(world, incremental=False))
        _mutate(stormy)
        run(_sync_through_pauses(world, incremental=True))
        throttled = [r for r in stormy.requests if "/v1.0/" in r.url]
        assert _graph(store) == expected
    assert world.clock.sleeps, "the fake throttled nothing: the test would prove nothing"
    assert len(throttled) > 20
    assert expected["groups"]["Lunch on Friday"] == "Deleted Items"
    assert "Re: Budget 2025" not in expected["groups"]


def test_an_expired_token_resyncs_that_folder_only(store: GraphStore) -> None:
    with checked_graph(seed_mail().tenant, page_size_cap=2) as fake:
        tenant = fake.tenant
        world = World(fake, store)
        run(world.sync_once(incremental=False))
        before = sync_points(store, "outlook/users/")
        ada = next(u for u in tenant.users.values() if u.display_name == "Ada Lovelace")
        inbox = tenant.mail_folder(ada.id, "inbox")
        box = {m.subject: m for m in tenant.mailboxes[ada.id].messages.values()}
        tenant.delete_message(ada.id, box["Lunch on Friday"].id)
        tenant.add_message(ada.id, "Board meeting", "<p>Thursday.</p>", sender="bob@contoso.onmicrosoft.com")
        fake.faults.expire_mail_delta(ada.id, "inbox")
        fake.requests.clear()
        run(world.sync_once())

        inbox_key = f"outlook/users/{ada.id}/mailFolders/{inbox.id}"
        after = sync_points(store, "outlook/users/")
        changed = sorted(k for k in after if after[k].get("deltaLink") != before.get(k, {}).get("deltaLink"))
        # every folder's round returns a fresh link; only the inbox's restarted without a token
        fresh_rounds = [
            r.url
            for r in fake.graph_requests("/messages/delta")
            if "$deltatoken" not in r.url and "$skiptoken" not in r.url
        ]
        assert fresh_rounds == [
            f"https://graph.fake.test/v1.0/users/{ada.id}/mailFolders/{rest_id(inbox.id)}/messages/delta"
            + fresh_rounds[0].split("/messages/delta", 1)[1]
        ]
        assert inbox_key in changed
        names = records(store)
        assert "Lunch on Friday" not in names  # swept: the full listing no longer had it
        assert groups_of(store)["Board meeting"] == "Inbox"
        assert "Budget 2025" in names
        assert "Apollo kickoff" in names


def test_folder_filter_leaves_folders_out_and_a_changed_filter_relists(store: GraphStore) -> None:
    with checked_graph(seed_mail().tenant, page_size_cap=2) as fake:
        world = World(
            fake,
            store,
            filters={"folders": {"type": "multiselect", "operator": "not_in", "value": ["Sent Items"]}},
        )
        run(world.sync_once(incremental=False))
        assert "Re: Re: Budget 2025" not in records(store)
        assert relations(store, "SIBLING") == [("Budget 2025", "Re: Budget 2025")]

        world.filters = None  # widened: the next sync backfills what the filter left out
        run(world.sync_once())
        assert groups_of(store)["Re: Re: Budget 2025"] == "Sent Items"

        world.filters = {"folders": {"type": "multiselect", "operator": "in", "value": ["Projects"]}}
        run(world.sync_once())
        # narrowed: what it now leaves out goes through the mass-deletion brake (held, hidden from
        # search, until an administrator confirms), not straight to deletion
        docs = records(store)
        assert sorted(n for n, d in docs.items() if not d.get("quarantinedAt")) == ["Apollo kickoff"]
        assert sorted(
            str(d.get("quarantineScope")).split("/")[1] for d in docs.values() if d.get("quarantinedAt")
        )
        assert readers(store, "Apollo kickoff") == ["ada@contoso.onmicrosoft.com"]
