"""SharePoint Online against the fake tenant: sites as record groups whose grants documents inherit,
libraries through the shared delta machinery, pages as webpages; seed -> sync -> mutate -> sync with the
exact graph, events and search results per user; faults; an expired library link."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from headwater.connectors.core.connector import maybe_await
from headwater.connectors.sources.microsoft.sharepoint import SharePointConnector
from headwater.connectors.sources.microsoft.sharepoint.connector import page_html
from headwater.testing.fake_graph import FakeTenant

from .helpers import run
from .world import Seed, World, calm_and_throttled, record_groups, records

ADA, BOB, EVE = (f"{n}@contoso.onmicrosoft.com" for n in ("ada", "bob", "eve"))
ENG, ENG_DOCS, ENG_ARCHIVE = "Engineering", "Engineering / Documents", "Engineering / Archive"
MKT, MKT_DOCS = "Marketing", "Marketing / Documents"


def seed() -> Seed:
    t = FakeTenant()
    ada, bob, eve = t.add_user("Ada Lovelace"), t.add_user("Bob Smith"), t.add_user("Eve Adams")
    engineers = t.add_group("Engineers", members=[ada.id, bob.id])
    marketing = t.add_group("Marketing", members=[eve.id])
    eng, mkt = t.add_site("eng", "Engineering"), t.add_site("mkt", "Marketing")
    t.grant_site(eng.id, engineers.id, ["write"])
    t.grant_site(mkt.id, marketing.id, ["read"])
    docs, archive, mdocs = eng.drive_ids[0], t.add_library(eng.id, "Archive").id, mkt.drive_ids[0]
    specs = t.add_folder(docs, "Specs")
    design = t.add_file(docs, "design.txt", "turbine design notes", parent_id=specs.id)
    budget = t.add_file(docs, "budget.txt", "capex budget table")
    eve_on_budget = t.grant(docs, budget.id, eve.id)
    old = t.add_file(archive, "old.txt", "legacy turbine manual")
    campaign = t.add_file(mdocs, "campaign.txt", "spring campaign brief")
    home = t.add_page(eng.id, "home.aspx", "Home", "<p>welcome to turbine engineering</p>")
    news = t.add_page(eng.id, "news.aspx", "News", "<p>quarterly turbine news</p>")
    ids = dict(
        ada=ada, bob=bob, eve=eve, engineers=engineers, marketing=marketing, eng=eng, mkt=mkt, docs=docs,
        archive=archive, mdocs=mdocs, specs=specs, design=design, budget=budget, eve_on_budget=eve_on_budget,
        old=old, campaign=campaign, home=home, news=news,
    )  # fmt: skip
    return Seed(t, ids)


def make_world(tmp_path: Path, name: str) -> tuple[World, Seed]:
    s = seed()
    (tmp_path / name).mkdir()
    return World(tmp_path / name, s.tenant, SharePointConnector, cid="sp-1"), s


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[World, Seed]]:
    world, s = make_world(tmp_path, "main")
    yield world, s
    world.close()


GROUPS = {
    ENG: (None, ["group:Engineers:WRITER"]),
    ENG_DOCS: (ENG, []),
    ENG_ARCHIVE: (ENG, []),
    MKT: (None, ["group:Marketing:READER"]),
    MKT_DOCS: (MKT, []),
}
FIRST_GRAPH = {
    "Specs": (None, ENG_DOCS, False, []),
    "design.txt": ("Specs", ENG_DOCS, True, []),
    "budget.txt": (None, ENG_DOCS, True, [f"user:{EVE}:READER"]),
    "old.txt": (None, ENG_ARCHIVE, True, []),
    "campaign.txt": (None, MKT_DOCS, True, []),
    "Home": (None, ENG, True, []),
    "News": (None, ENG, True, []),
}


def mutate(s: Seed) -> None:
    t, i = s.tenant, s.ids
    t.add_file(i["docs"], "rotor.txt", "rotor blade turbine study", parent_id=i["specs"].id)  # add
    t.edit_file(i["docs"], i["design"].id, "turbine design notes, revision two")  # edit
    t.rename_item(i["archive"], i["old"].id, "manual.txt")  # rename
    t.move_item(i["docs"], i["budget"].id, i["specs"].id)  # move
    t.delete_item(i["mdocs"], i["campaign"].id)  # delete
    t.remove_permission(i["docs"], i["budget"].id, i["eve_on_budget"].id)  # unshare
    t.grant(i["archive"], i["old"].id, i["eve"].id)  # share with a user
    t.create_link(i["docs"], i["design"].id, "organization")  # an organisation link
    t.remove_group_member(i["engineers"].id, i["bob"].id)  # group change: Bob loses the site
    t.edit_page(i["eng"].id, i["home"].id, html="<p>welcome to wind turbine engineering</p>")
    t.delete_page(i["eng"].id, i["news"].id)
    t.grant_site(i["mkt"].id, i["ada"].id, ["read"])  # a site grant: documents inherit it


SECOND_GRAPH = {
    "Specs": (None, ENG_DOCS, False, []),
    "design.txt": ("Specs", ENG_DOCS, True, ["org:READER"]),
    "rotor.txt": ("Specs", ENG_DOCS, True, []),
    "budget.txt": ("Specs", ENG_DOCS, True, []),
    "manual.txt": (None, ENG_ARCHIVE, True, [f"user:{EVE}:READER"]),
    "Home": (None, ENG, True, []),
}


def test_seed_full_sync_mutations_incremental_sync(seeded: tuple[World, Seed]) -> None:
    world, s = seeded
    world.sync()
    assert record_groups(world.store, world.cid) == GROUPS
    assert records(world.store, world.cid) == FIRST_GRAPH
    assert world.events.new() == sorted(("newRecord", n) for n in FIRST_GRAPH)
    assert world.search("turbine", ADA) == ["Home", "News", "design.txt", "old.txt"]
    assert world.search("turbine", BOB) == ["Home", "News", "design.txt", "old.txt"]
    assert world.search("turbine", EVE) == []
    assert world.search("capex", EVE) == ["budget.txt"]
    assert world.search("campaign", EVE) == ["campaign.txt"]
    assert world.search("campaign", ADA) == []

    keys = _keys(world)
    mutate(s)
    world.sync()
    assert records(world.store, world.cid) == SECOND_GRAPH
    assert record_groups(world.store, world.cid) == {
        **GROUPS,
        MKT: (None, ["group:Marketing:READER", f"user:{ADA}:READER"]),
    }
    assert world.events.new() == sorted(
        [
            ("newRecord", "rotor.txt"),
            ("updateRecord", "design.txt"),
            ("updateRecord", "Home"),
            ("deleteRecord", keys["campaign.txt"]),
            ("deleteRecord", keys["News"]),
        ]
    )
    assert world.search("turbine", ADA) == ["Home", "design.txt", "manual.txt", "rotor.txt"]
    assert world.search("turbine", BOB) == ["design.txt"]  # left Engineers; the org link remains
    assert world.search("turbine", EVE) == ["design.txt", "manual.txt"]
    assert world.search("capex", EVE) == []  # unshared
    assert world.search("capex", ADA) == ["budget.txt"]
    assert world.search("wind", ADA) == ["Home"]  # the page's new text is indexed
    assert world.fake.validator is not None
    assert world.fake.validator.violations == []


def _keys(world: World) -> dict[str, str]:
    with world.store.read() as tx:
        return {
            str(d["recordName"]): str(d["_key"]) for d in tx.find_nodes("records", connector_id=world.cid)
        }


def test_twenty_percent_throttling_ends_in_the_same_graph(tmp_path: Path) -> None:
    with calm_and_throttled(partial(make_world, tmp_path), mutate, throttle_seed=9) as (calm, noisy):
        assert records(noisy.store, noisy.cid) == records(calm.store, calm.cid) == SECOND_GRAPH
        assert record_groups(noisy.store, noisy.cid) == record_groups(calm.store, calm.cid)
        assert len(noisy.fake.faults.injected) >= 10


def test_an_expired_library_link_resyncs_that_library_only(seeded: tuple[World, Seed]) -> None:
    world, s = seeded
    world.sync()
    points = world.sync_points()
    docs, archive, mdocs = s.ids["docs"], s.ids["archive"], s.ids["mdocs"]
    world.fake.faults.expire_drive_delta(archive)
    s.tenant.add_file(docs, "new.txt", "fresh")
    seen = len(world.fake.requests)
    connector = world.sync()
    rounds = {r.drive_id: r for r in connector.last_rounds}  # type: ignore[attr-defined]
    assert (rounds[archive].full, rounds[archive].resynced) == (True, True)
    assert (rounds[docs].full, rounds[mdocs].full) == (False, False)
    calls = [r.url for r in world.fake.requests[seen:] if "/root/delta" in r.url]
    for drive in (docs, mdocs, archive):
        assert calls.count(points[f"records/drives/{drive}"]["deltaLink"]) == 1
    assert records(world.store, world.cid) == {**FIRST_GRAPH, "new.txt": (None, ENG_DOCS, True, [])}
    assert world.events.new() == sorted([*(("newRecord", n) for n in FIRST_GRAPH), ("newRecord", "new.txt")])


def test_page_content_is_its_web_parts(seeded: tuple[World, Seed]) -> None:
    world, _ = seeded
    world.sync()

    async def read() -> tuple[bytes, str | None]:
        connector = await world.make(world.store, world.cid)
        try:
            with world.store.read() as tx:
                doc = next(
                    d for d in tx.find_nodes("records", connector_id=world.cid) if d["recordName"] == "Home"
                )
                record = tx.get_record(str(doc["_key"]))
            assert record is not None
            stream = await connector.stream_record(record)
            return await stream.read_all(), await maybe_await(connector.get_signed_url(record))
        finally:
            await connector.cleanup()

    data, url = run(read())
    assert data == b"<html><body><h1>Home</h1>\n<p>welcome to turbine engineering</p></body></html>"
    assert url is None
    assert page_html({"title": "<T>"}) == "<html><body><h1>&lt;T&gt;</h1></body></html>"
