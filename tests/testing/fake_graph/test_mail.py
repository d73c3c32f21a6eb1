"""Mail folders, per-folder message delta with @removed, attachments."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from headwater.testing.fake_graph import FakeGraph
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
            items, _ = await s.collect(f"/users/{seed.alice.id}/messages/{message.id}/attachments")
            raw = await s.get(
                f"/users/{seed.alice.id}/messages/{message.id}/attachments/{items[0]['id']}/$value"
            )
            full = (await s.get(f"/users/{seed.alice.id}/messages/{message.id}")).json()
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
