"""OneDrive against the fake tenant: seed -> full sync -> add, edit, rename, move, delete, share,
unshare, group change -> incremental sync, with the exact graph, events and search results per user;
the same end state under 20 % throttling; an expired drive link resyncs that drive only."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from headwater.connectors.core.connector import maybe_await
from headwater.connectors.core.errors import SourceThrottledError
from headwater.connectors.sources.microsoft.onedrive import OneDriveConnector
from headwater.testing.fake_graph import FakeTenant

from .world import Seed, World, calm_and_throttled, record_groups, records, revisions

ADA, BOB, EVE = (f"{n}@contoso.onmicrosoft.com" for n in ("ada", "bob", "eve"))
ADA_DRIVE, BOB_DRIVE, EVE_DRIVE = "Ada Lovelace's OneDrive", "Bob Smith's OneDrive", "Eve Adams's OneDrive"


def seed() -> Seed:
    tenant = FakeTenant()
    ada, bob, eve = (
        tenant.add_user("Ada Lovelace"),
        tenant.add_user("Bob Smith"),
        tenant.add_user("Eve Adams"),
    )
    tenant.add_user("Nora Nodrive", with_drive=False)
    engineers = tenant.add_group("Engineers", members=[ada.id, bob.id])
    tenant.add_group("Everyone", members=[engineers.id, eve.id])
    a, b = tenant.drive_of(ada.id).id, tenant.drive_of(bob.id).id
    docs = tenant.add_folder(a, "Docs")
    report = tenant.add_file(a, "report.txt", "quarterly revenue numbers", parent_id=docs.id)
    spec = tenant.add_file(a, "spec.txt", "design spec for the widget", parent_id=docs.id)
    notes = tenant.add_file(a, "notes.md", "ada private notes")
    bob_txt = tenant.add_file(b, "bob.txt", "bob budget draft")
    plan = tenant.add_file(b, "plan.txt", "roadmap plan for launch")
    bob_on_report = tenant.grant(a, report.id, bob.id)
    tenant.grant(a, spec.id, engineers.id)
    ids = dict(
        ada=ada, bob=bob, eve=eve, engineers=engineers, a=a, b=b, docs=docs, report=report, spec=spec,
        notes=notes, bob_txt=bob_txt, plan=plan, bob_on_report=bob_on_report,
    )  # fmt: skip
    return Seed(tenant, ids)


def make_world(tmp_path: Path, name: str) -> tuple[World, Seed]:
    s = seed()
    (tmp_path / name).mkdir()
    return World(tmp_path / name, s.tenant, OneDriveConnector), s


FIRST_GRAPH = {
    "Docs": (None, ADA_DRIVE, False, [f"user:{ADA}:OWNER"]),
    "report.txt": ("Docs", ADA_DRIVE, True, [f"user:{ADA}:OWNER", f"user:{BOB}:READER"]),
    "spec.txt": ("Docs", ADA_DRIVE, True, ["group:Engineers:READER", f"user:{ADA}:OWNER"]),
    "notes.md": (None, ADA_DRIVE, True, [f"user:{ADA}:OWNER"]),
    "bob.txt": (None, BOB_DRIVE, True, [f"user:{BOB}:OWNER"]),
    "plan.txt": (None, BOB_DRIVE, True, [f"user:{BOB}:OWNER"]),
}
DRIVES = {
    ADA_DRIVE: (None, [f"user:{ADA}:OWNER"]),
    BOB_DRIVE: (None, [f"user:{BOB}:OWNER"]),
    EVE_DRIVE: (None, [f"user:{EVE}:OWNER"]),
}


def mutate(s: Seed) -> None:
    t, i = s.tenant, s.ids
    t.add_file(i["a"], "todo.txt", "widget launch checklist", parent_id=i["docs"].id)  # add
    t.edit_file(i["a"], i["report"].id, "quarterly revenue numbers revised")  # edit: new cTag
    t.rename_item(i["a"], i["notes"].id, "journal.md")  # rename: metadata only
    t.move_item(i["a"], i["spec"].id, "root")  # move: metadata only
    t.delete_item(i["b"], i["bob_txt"].id)  # delete
    t.grant(i["a"], i["notes"].id, i["eve"].id)  # share with a user
    t.create_link(i["a"], i["docs"].id, "users", recipients=[i["eve"].id])  # a folder shared: inherited below
    t.create_link(i["b"], i["plan"].id, "anonymous")  # anyone with the link
    t.remove_permission(i["a"], i["report"].id, i["bob_on_report"].id)  # unshare
    t.remove_group_member(i["engineers"].id, i["bob"].id)  # group change
    t.add_group_member(i["engineers"].id, i["eve"].id)


SECOND_GRAPH = {
    "Docs": (None, ADA_DRIVE, False, [f"user:{ADA}:OWNER", f"user:{EVE}:READER"]),
    "report.txt": ("Docs", ADA_DRIVE, True, [f"user:{ADA}:OWNER", f"user:{EVE}:READER"]),
    "todo.txt": ("Docs", ADA_DRIVE, True, [f"user:{ADA}:OWNER", f"user:{EVE}:READER"]),
    "spec.txt": (None, ADA_DRIVE, True, ["group:Engineers:READER", f"user:{ADA}:OWNER"]),
    "journal.md": (None, ADA_DRIVE, True, [f"user:{ADA}:OWNER", f"user:{EVE}:READER"]),
    "plan.txt": (None, BOB_DRIVE, True, ["anyone:READER", f"user:{BOB}:OWNER"]),
}


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[World, Seed]]:
    world, s = make_world(tmp_path, "main")
    yield world, s
    world.close()


def test_seed_full_sync_mutations_incremental_sync(seeded: tuple[World, Seed]) -> None:
    world, s = seeded
    world.sync()
    assert records(world.store, world.cid) == FIRST_GRAPH
    assert record_groups(world.store, world.cid) == DRIVES
    assert world.events.new() == sorted(("newRecord", n) for n in FIRST_GRAPH)
    assert world.search("widget", ADA) == ["spec.txt"]
    assert world.search("widget", BOB) == ["spec.txt"]
    assert world.search("widget", EVE) == []
    assert world.search("quarterly", BOB) == ["report.txt"]
    before = revisions(world.store, world.cid)

    bob_txt_key = _key(world, "bob.txt")
    mutate(s)
    world.sync()
    assert records(world.store, world.cid) == SECOND_GRAPH
    assert record_groups(world.store, world.cid) == DRIVES
    # only the new file and the content edit reach indexing; rename, move, shares emit nothing
    assert world.events.new() == sorted(
        [("newRecord", "todo.txt"), ("updateRecord", "report.txt"), ("deleteRecord", bob_txt_key)]
    )
    after = revisions(world.store, world.cid)
    assert after["report.txt"][0] != before["report.txt"][0]  # a new cTag
    assert after["report.txt"][1] == before["report.txt"][1] + 1
    assert after["journal.md"] == before["notes.md"]  # renamed: same revision, same version
    assert after["spec.txt"] == before["spec.txt"]  # moved: the same
    assert after["plan.txt"] == before["plan.txt"]  # shared: the same

    assert world.search("widget", ADA) == ["spec.txt", "todo.txt"]
    assert world.search("widget", BOB) == []  # left Engineers
    assert world.search("widget", EVE) == ["spec.txt", "todo.txt"]  # joined Engineers; Docs shared with her
    assert world.search("quarterly", ADA) == ["report.txt"]
    assert world.search("quarterly", BOB) == []  # unshared
    assert world.search("quarterly", EVE) == ["report.txt"]  # through the folder's link
    assert world.search("roadmap", ADA) == ["plan.txt"]  # anonymous link: anyone
    assert world.search("roadmap", EVE) == ["plan.txt"]
    assert world.search("private", EVE) == ["journal.md"]
    assert world.search("private", BOB) == []
    assert world.fake.validator is not None
    assert world.fake.validator.violations == []


def _key(world: World, name: str) -> str:
    with world.store.read() as tx:
        return next(
            str(d["_key"])
            for d in tx.find_nodes("records", connector_id=world.cid)
            if d["recordName"] == name
        )


def test_an_organisation_link_gives_the_organisation_and_nothing_wider(tmp_path: Path) -> None:
    w, s = make_world(tmp_path, "org")
    try:
        w.sync()
        s.tenant.create_link(s.ids["a"], s.ids["notes"].id, "organization")
        w.sync()
        assert records(w.store, w.cid)["notes.md"][3] == ["org:READER", f"user:{ADA}:OWNER"]
        assert w.events.new() == sorted(("newRecord", n) for n in FIRST_GRAPH)  # the share added none
        assert w.search("private", BOB) == ["notes.md"]
        s.tenant.remove_permission(
            s.ids["a"], s.ids["notes"].id, s.tenant.item(s.ids["a"], s.ids["notes"].id).permissions[-1].id
        )
        w.sync()
        assert records(w.store, w.cid)["notes.md"][3] == [f"user:{ADA}:OWNER"]
        assert w.search("private", BOB) == []
    finally:
        w.close()


def test_twenty_percent_throttling_ends_in_the_same_graph(tmp_path: Path) -> None:
    with calm_and_throttled(partial(make_world, tmp_path), mutate, throttle_seed=5) as (calm, noisy):
        assert records(noisy.store, noisy.cid) == records(calm.store, calm.cid) == SECOND_GRAPH
        assert record_groups(noisy.store, noisy.cid) == record_groups(calm.store, calm.cid)
        assert len(noisy.fake.faults.injected) >= 10
        assert noisy.clock.sleeps  # Retry-After was waited out on the tenant's budget


def test_an_expired_drive_link_resyncs_that_drive_only(tmp_path: Path) -> None:
    w, s = make_world(tmp_path, "gone")
    try:
        w.sync()
        points = w.sync_points()
        a_key, b_key = f"records/drives/{s.ids['a']}", f"records/drives/{s.ids['b']}"
        w.fake.faults.expire_drive_delta(s.ids["a"])
        s.tenant.add_file(s.ids["b"], "new.txt", "fresh")
        seen = len(w.fake.requests)
        connector = w.sync()
        rounds = {r.drive_id: r for r in connector.last_rounds}  # type: ignore[attr-defined]
        assert (rounds[s.ids["a"]].resynced, rounds[s.ids["a"]].full) == (True, True)
        eve_drive = s.tenant.drive_of(s.ids["eve"].id).id
        assert not rounds[s.ids["b"]].full
        assert not rounds[eve_drive].full
        delta_calls = [r.url for r in w.fake.requests[seen:] if "/root/delta" in r.url]
        # Bob's and Eve's rounds started from their stored links; Ada's link was refused, then listed anew
        for drive in (s.ids["b"], eve_drive):
            assert delta_calls.count(points[f"records/drives/{drive}"]["deltaLink"]) == 1
        assert delta_calls.count(points[a_key]["deltaLink"]) == 1
        assert any(
            u.split("?")[0].endswith(f"/drives/{s.ids['a']}/root/delta") and "token=" not in u
            for u in delta_calls
        )
        after = w.sync_points()
        assert after[a_key]["deltaLink"] != points[a_key]["deltaLink"]
        assert after[b_key]["fullRound"] is False
        assert records(w.store, w.cid) == {
            **FIRST_GRAPH,
            "new.txt": (None, BOB_DRIVE, True, [f"user:{BOB}:OWNER"]),
        }
        # re-listing Ada's drive wrote nothing: her records were unchanged
        assert w.events.new() == sorted([*(("newRecord", n) for n in FIRST_GRAPH), ("newRecord", "new.txt")])
    finally:
        w.close()


def test_a_long_retry_after_pauses_the_sync_and_it_resumes(tmp_path: Path) -> None:
    w, s = make_world(tmp_path, "pause")
    try:
        w.sync()
        mutate(s)
        w.fake.faults.throttle_next(1, status=429, retry_after=3600)  # longer than the client waits
        with pytest.raises(SourceThrottledError) as caught:
            w.sync()
        assert caught.value.retry_after_s == 3600
        w.clock.now += 3600
        w.sync()
        assert records(w.store, w.cid) == SECOND_GRAPH
    finally:
        w.close()


def test_content_streams_and_signed_url(seeded: tuple[World, Seed]) -> None:
    from .helpers import run

    world, _ = seeded
    world.sync()

    async def read() -> tuple[bytes, str | None, str | None]:
        connector = await world.make(world.store, world.cid)
        try:
            with world.store.read() as tx:
                doc = next(
                    d
                    for d in tx.find_nodes("records", connector_id=world.cid)
                    if d["recordName"] == "report.txt"
                )
                folder = next(
                    d for d in tx.find_nodes("records", connector_id=world.cid) if d["recordName"] == "Docs"
                )
                record = tx.get_record(str(doc["_key"]))
                folder_record = tx.get_record(str(folder["_key"]))
            assert record is not None
            assert folder_record is not None
            stream = await connector.stream_record(record)
            data = await stream.read_all()
            return data, stream.media_type, await maybe_await(connector.get_signed_url(record))
        finally:
            await connector.cleanup()

    data, media_type, url = run(read())
    assert data == b"quarterly revenue numbers"
    assert media_type == "text/plain"
    assert url is not None
    assert url.startswith("https://graph.fake.test/_download/")
