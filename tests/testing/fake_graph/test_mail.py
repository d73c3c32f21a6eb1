"""Mail folders, per-folder message delta with @removed, attachments."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from headwater.testing.fake_graph import FakeGraph
from headwater.testing.fake_graph.mail import rest_id
from tests.testing.fake_graph.conftest import Seed
from tests.testing.fake_graph.helpers import session

run = asyncio.run


def test_folders_top_level_and_children(graph: FakeGraph, seed: Seed) -> None:
    projects = seed.tenant.add_mail_folder(seed.alice.id, "Projects", parent="inbox")

    async def scenario() -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
        async with session(graph) as s:
            top, _ = await s.collect(f"/users/{seed.alice.id}/mailFolders")
            children, _ = await s.collect(f"/users/{seed.alice.id}/mailFolders/inbox/childFolders")
            inbox = (await s.get(f"/users/{seed.alice.id}/mailFolders/inbox")).json()
            return [f["displayName"] for f in top], children, inbox

    top, children, inbox = run(scenario())
    assert top == ["Inbox", "Drafts", "Sent Items", "Deleted Items", "Archive", "Junk Email"]
    assert [(c["id"], c["parentFolderId"]) for c in children] == [(projects.id, inbox["id"])]
    assert inbox["childFolderCount"] == 1


def test_message_delta_created_updated_moved_deleted(graph: FakeGraph, seed: Seed) -> None:
    tenant, alice = seed.tenant, seed.alice
    first = tenant.add_message(
        alice.id,
        "Kick-off",
        "<p>Agenda</p>",
        sender=("Bob Jones", seed.bob.mail or ""),
        to=[alice.mail or ""],
        cc=["carol@contoso.onmicrosoft.com"],
        attachments=[("agenda.pdf", "application/pdf", b"%PDF-1.7")],
    )
    second = tenant.add_message(
        alice.id,
        "Re: Kick-off",
        "<p>Yes</p>",
        sender="bob@contoso.onmicrosoft.com",
        conversation_id=first.conversation_id,
    )

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], str]:
        async with session(graph) as s:
            url = f"/users/{alice.id}/mailFolders/inbox/messages/delta"
            initial, last = await s.collect(
                url, params={"$select": "subject,from,toRecipients,conversationId,isRead"}
            )
            third = tenant.add_message(
                alice.id, "Lunch?", "<p>12:30</p>", sender="carol@contoso.onmicrosoft.com"
            )
            tenant.update_message(alice.id, first.id, is_read=True)
            moved = tenant.move_message(alice.id, second.id, "archive")
            tenant.delete_message(alice.id, third.id)
            changes, _ = await s.collect(last["@odata.deltaLink"])
            archive, _ = await s.collect(f"/users/{alice.id}/mailFolders/archive/messages/delta")
            return initial, changes, archive, moved.id

    initial, changes, archive, moved_id = run(scenario())
    assert [(m["subject"], m["conversationId"]) for m in initial] == [
        ("Kick-off", first.conversation_id),
        ("Re: Kick-off", first.conversation_id),
    ]
    assert initial[0]["from"] == {
        "emailAddress": {"name": "Bob Jones", "address": "bob@contoso.onmicrosoft.com"}
    }
    assert "body" not in initial[0]
    removed = {"reason": "deleted"}
    assert [(c["id"], c.get("@removed")) for c in changes] == [
        (first.id, None),
        (second.id, removed),
        (changes[2]["id"], removed),
    ]
    assert changes[0]["isRead"] is True
    assert [m["id"] for m in archive] == [moved_id]
    assert moved_id != second.id


def test_attachments_carry_base64_content(graph: FakeGraph, seed: Seed) -> None:
    message = seed.tenant.add_message(
        seed.alice.id,
        "Report",
        "<p>see attached</p>",
        sender="bob@contoso.onmicrosoft.com",
        attachments=[("report.csv", "text/csv", b"a,b\n1,2\n")],
    )

    async def scenario() -> tuple[list[dict[str, Any]], bytes, dict[str, Any]]:
        async with session(graph) as s:
            path = f"/users/{seed.alice.id}/messages/{rest_id(message.id)}"
            items, _ = await s.collect(f"{path}/attachments")
            raw = await s.get(f"{path}/attachments/{rest_id(items[0]['id'])}/$value")
            full = (await s.get(path)).json()
            return items, raw.content, full

    items, raw, full = run(scenario())
    assert items[0]["@odata.type"] == "#microsoft.graph.fileAttachment"
    assert base64.b64decode(items[0]["contentBytes"]) == raw == b"a,b\n1,2\n"
    assert full["hasAttachments"] is True
    assert full["internetMessageId"].endswith("@contoso.onmicrosoft.com>")


def test_mail_pages_default_to_ten(graph: FakeGraph, seed: Seed) -> None:
    graph.page_size_cap = None
    for n in range(12):
        seed.tenant.add_message(seed.alice.id, f"m{n}", "<p>x</p>", sender="bob@contoso.onmicrosoft.com")

    async def scenario() -> list[int]:
        async with session(graph) as s:
            first = (await s.get(f"/users/{seed.alice.id}/mailFolders/inbox/messages/delta")).json()
            second = (await s.get(first["@odata.nextLink"])).json()
            return [len(first["value"]), len(second["value"]), int("@odata.deltaLink" in second)]

    assert run(scenario()) == [10, 2, 1]


def test_outlook_ids_come_with_slashes_and_are_routed_in_their_rest_form(
    graph: FakeGraph, seed: Seed
) -> None:
    messages = [
        seed.tenant.add_message(seed.alice.id, f"m{n}", "<p>x</p>", sender="bob@contoso.onmicrosoft.com")
        for n in range(8)
    ]
    awkward = next(m for m in messages if "/" in m.id)
    assert any("+" in m.id for m in messages)

    async def scenario() -> tuple[int, str, int]:
        async with session(graph) as s:
            raw = await s.get(f"/users/{seed.alice.id}/messages/{awkward.id}")
            rest = await s.get(f"/users/{seed.alice.id}/messages/{rest_id(awkward.id)}")
            missing = await s.get(f"/users/{seed.alice.id}/messages/{rest_id(awkward.id)}x")
            return raw.status_code, rest.json()["id"], missing.status_code

    raw_status, returned_id, missing_status = run(scenario())
    assert raw_status == 400  # a "/" splits the path, as it does in Graph
    assert returned_id == awkward.id  # answers carry the id as Graph returns it
    assert missing_status == 404


def test_immutable_ids_survive_a_move_and_regular_ids_do_not(graph: FakeGraph, seed: Seed) -> None:
    tenant, alice = seed.tenant, seed.alice
    message = tenant.add_message(alice.id, "Plan", "<p>v1</p>", sender="bob@contoso.onmicrosoft.com")
    immutable = {"Prefer": 'odata.maxpagesize=5, IdType="ImmutableId"'}

    async def rounds(headers: dict[str, str]) -> tuple[list[Any], list[Any], str]:
        async with session(graph) as s:
            inbox = f"/users/{alice.id}/mailFolders/inbox/messages/delta"
            archive = f"/users/{alice.id}/mailFolders/archive/messages/delta"
            before, inbox_last = await s.collect(inbox, headers=headers)
            _, archive_last = await s.collect(archive, headers=headers)
            moved = tenant.move_message(alice.id, rest_id(before[0]["id"]), "archive")
            gone, _ = await s.collect(inbox_last["@odata.deltaLink"], headers=headers)
            arrived, _ = await s.collect(archive_last["@odata.deltaLink"], headers=headers)
            fetched = await s.get(f"/users/{alice.id}/messages/{rest_id(arrived[0]['id'])}", headers=headers)
            assert fetched.status_code == 200, fetched.text
            return (
                [(before[0]["id"])] + [(g["id"], g.get("@removed")) for g in gone],
                [a["id"] for a in arrived],
                moved.id,
            )

    with_header, arrived, moved_id = run(rounds(immutable))
    assert with_header == [message.immutable_id, (message.immutable_id, {"reason": "deleted"})]
    assert arrived == [message.immutable_id]
    assert moved_id != message.id

    second = tenant.add_message(alice.id, "Notes", "<p>n</p>", sender="bob@contoso.onmicrosoft.com")
    regular, arrived_regular, moved_again = run(rounds({}))
    assert regular == [second.id, (second.id, {"reason": "deleted"})]
    assert arrived_regular == [moved_again]
    assert moved_again != second.id
