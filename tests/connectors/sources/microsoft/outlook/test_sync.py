"""The Outlook connector against the fake tenant: the contract kit, then the scenario the design asks
for — seed, full sync, add / edit / move / delete, incremental sync — asserting the exact graph."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from headwater.connectors import testing
from headwater.connectors.sources.microsoft.outlook import OutlookConnector
from headwater.store.base import GraphStore
from headwater.testing.fake_graph import FakeGraph, checked_graph
from tests.connectors.sources.microsoft.helpers import EventReader, run

from .world import (
    BAD_SECRET,
    CID,
    World,
    groups_of,
    mail_doc,
    readers,
    records,
    relations,
    seed_mail,
)

ADA, BOB = "ada@contoso.onmicrosoft.com", "bob@contoso.onmicrosoft.com"
SEEDED = {
    "Budget 2025": "Inbox",
    "budget.csv": "Inbox",
    "Re: Budget 2025": "Inbox",
    "Lunch on Friday": "Inbox",
    "Apollo kickoff": "Projects",
    "Re: Re: Budget 2025": "Sent Items",
    "Quarterly offsite": "Inbox",
    "agenda.txt": "Inbox",
    "Security review": "Inbox",
}


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    with checked_graph(seed_mail().tenant, page_size_cap=2) as graph:
        yield graph
    assert graph.validator is not None
    assert graph.validator.violations == []


def test_the_contract_kit_passes(store: GraphStore, fake: FakeGraph) -> None:
    world = World(fake, store)
    tenant = fake.tenant
    ada = next(u for u in tenant.users.values() if u.display_name == "Ada Lovelace")

    def delete_in_source() -> str:
        lunch = next(m for m in tenant.mailboxes[ada.id].messages.values() if m.subject == "Lunch on Friday")
        tenant.delete_message(ada.id, lunch.id)
        return lunch.immutable_id

    report = run(
        testing.run_contract(
            world.make,
            store,
            connector_cls=OutlookConnector,
            connector_id=CID,
            delete_in_source=delete_in_source,
            make_bad_connector=world.make_bad,
            bad_secret=BAD_SECRET,
        )
    )
    assert report.skipped == []
    assert report.passed["unchanged re-sync"] == "9 records, nothing rewritten"


def test_full_sync_builds_mailboxes_folders_messages_attachments_and_conversations(
    store: GraphStore, fake: FakeGraph
) -> None:
    world = World(fake, store)
    run(world.sync_once(incremental=False))

    assert groups_of(store) == SEEDED
    budget = mail_doc(store, "Budget 2025")
    assert {k: budget[k] for k in ("subject", "from", "to", "cc", "bcc")} == {
        "subject": "Budget 2025",
        "from": BOB,
        "to": [ADA],
        "cc": ["carol@contoso.onmicrosoft.com"],
        "bcc": [],
    }
    assert budget["threadId"]
    assert budget["internetMessageId"].endswith("@contoso.onmicrosoft.com>")
    assert mail_doc(store, "Re: Re: Budget 2025")["bcc"] == ["finance@contoso.onmicrosoft.com"]
    assert relations(store, "ATTACHMENT") == [
        ("Budget 2025", "budget.csv"),
        ("Quarterly offsite", "agenda.txt"),
    ]
    assert relations(store, "SIBLING") == [
        ("Budget 2025", "Re: Budget 2025"),
        ("Re: Budget 2025", "Re: Re: Budget 2025"),
    ]
    for name in ("Budget 2025", "budget.csv", "Apollo kickoff", "Re: Re: Budget 2025"):
        assert readers(store, name) == [ADA], name
    for name in ("Quarterly offsite", "agenda.txt", "Security review"):
        assert readers(store, name) == [BOB], name
    assert records(store)["budget.csv"]["mimeType"] == "text/csv"


def test_incremental_sync_applies_adds_edits_moves_and_deletes(store: GraphStore, fake: FakeGraph) -> None:
    world = World(fake, store)
    tenant = fake.tenant
    run(world.sync_once(incremental=False))
    events = EventReader(store)
    events.new()
    before = records(store)
    ada = next(u for u in tenant.users.values() if u.display_name == "Ada Lovelace")
    bob = next(u for u in tenant.users.values() if u.display_name == "Bob Smith")
    box = {m.subject: m for m in tenant.mailboxes[ada.id].messages.values()}
    bob_box = {m.subject: m for m in tenant.mailboxes[bob.id].messages.values()}

    tenant.add_message(
        ada.id,
        "Re: Re: Re: Budget 2025",
        "<p>Approved.</p>",
        sender=bob.mail or "",
        to=[ada.mail or ""],
        conversation_id=box["Budget 2025"].conversation_id,
        attachments=[("approval.txt", "text/plain", b"approved by the board")],
    )
    tenant.update_message(ada.id, box["Lunch on Friday"].id, is_read=True)  # metadata only
    tenant.update_message(ada.id, box["Apollo kickoff"].id, subject="Apollo kickoff (moved to May)")
    tenant.move_message(ada.id, box["Budget 2025"].id, "archive")
    tenant.delete_message(ada.id, box["Re: Budget 2025"].id)
    tenant.delete_message(bob.id, bob_box["Quarterly offsite"].id)
    run(world.sync_once())

    after = records(store)
    assert groups_of(store) == {
        "Budget 2025": "Archive",
        "budget.csv": "Archive",
        "Lunch on Friday": "Inbox",
        "Apollo kickoff (moved to May)": "Projects",
        "Re: Re: Budget 2025": "Sent Items",
        "Re: Re: Re: Budget 2025": "Inbox",
        "approval.txt": "Inbox",
        "Security review": "Inbox",
    }
    # immutable ids: the moved message is the same record, its attachment too
    assert after["Budget 2025"]["_key"] == before["Budget 2025"]["_key"]
    assert after["budget.csv"]["_key"] == before["budget.csv"]["_key"]
    assert after["Lunch on Friday"] == before["Lunch on Friday"]
    assert relations(store, "SIBLING") == [
        ("Budget 2025", "Re: Re: Budget 2025"),
        ("Re: Re: Budget 2025", "Re: Re: Re: Budget 2025"),
    ]
    assert relations(store, "ATTACHMENT") == [
        ("Budget 2025", "budget.csv"),
        ("Re: Re: Re: Budget 2025", "approval.txt"),
    ]
    deleted = {before[n]["_key"] for n in ("Re: Budget 2025", "Quarterly offsite", "agenda.txt")}
    assert events.new() == sorted(
        [("deleteRecord", key) for key in deleted]
        + [
            ("newRecord", "Re: Re: Re: Budget 2025"),
            ("newRecord", "approval.txt"),
            ("updateRecord", "Apollo kickoff (moved to May)"),
        ]
    )
    assert readers(store, "approval.txt") == [ADA]
