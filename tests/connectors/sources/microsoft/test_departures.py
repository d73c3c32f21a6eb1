"""Users who leave and sites that are deleted take their records with them, through the SDK's deletion
path: a small drive or site goes at the next sync; a larger one is held by the mass-deletion brake
(hidden from search at once) until an administrator confirms, and its record groups go at the next
sync after that. The delta sync points of what left are dropped. Exact graph and search results, for
OneDrive (a deleted and a disabled user), SharePoint (a deleted site) and Outlook (a deleted user)."""

from __future__ import annotations

from pathlib import Path

from headwater.connectors.sources.microsoft.common.connector import GraphConnector
from headwater.connectors.sources.microsoft.onedrive import OneDriveConnector
from headwater.connectors.sources.microsoft.outlook import OutlookConnector
from headwater.connectors.sources.microsoft.outlook.mapping import mailbox_id
from headwater.connectors.sources.microsoft.sharepoint import SharePointConnector
from headwater.testing.fake_graph import FakeTenant

from . import test_onedrive, test_sharepoint
from .helpers import run
from .outlook.world import seed_mail
from .world import World, record_groups, records, revisions

ADA, BOB, EVE = test_onedrive.ADA, test_onedrive.BOB, test_onedrive.EVE


def names(world: World) -> set[str]:
    return set(revisions(world.store, world.cid))


def quarantined(world: World) -> set[str]:
    with world.store.read() as tx:
        docs = tx.find_nodes("records", connector_id=world.cid)
    return {str(d["recordName"]) for d in docs if d.get("quarantinedAt")}


def key_of(world: World, name: str) -> str:
    with world.store.read() as tx:
        docs = tx.find_nodes("records", connector_id=world.cid)
    return next(str(d["_key"]) for d in docs if d["recordName"] == name)


def confirm(world: World, scope: str) -> list[str]:
    """What an administrator does after reviewing the brake: confirm the held deletions."""

    async def go() -> list[str]:
        connector = await world.make(world.store, world.cid)
        try:
            return await connector.processor.confirm_quarantined_deletions(scope)
        finally:
            await connector.cleanup()

    return run(go())


def make(tmp_path: Path, tenant: FakeTenant, cls: type[GraphConnector], cid: str) -> World:
    return World(tmp_path, tenant, cls, cid=cid)


def test_onedrive_users_who_left_take_their_drives_with_them(tmp_path: Path) -> None:
    s = test_onedrive.seed()
    tenant, ids = s.tenant, s.ids
    bob_drive, eve_drive = ids["b"], tenant.drive_of(ids["eve"].id).id
    tenant.add_file(eve_drive, "eve.txt", "harbour diary")
    world = make(tmp_path, tenant, OneDriveConnector, "od-1")
    try:
        world.sync()
        assert world.search("roadmap", BOB) == ["plan.txt"]
        assert world.search("harbour", EVE) == ["eve.txt"]
        eve_txt = key_of(world, "eve.txt")
        world.events.new()

        tenant.delete_user(ids["bob"].id)  # users delta: @removed
        tenant.update_user(ids["eve"].id, account_enabled=False)  # users delta: accountEnabled false
        world.sync()
        ada_records = {"Docs", "report.txt", "spec.txt", "notes.md"}
        # Eve's one file went at once; Bob's two are more than the brake lets go unasked
        assert names(world) == ada_records | {"bob.txt", "plan.txt"}
        assert quarantined(world) == {"bob.txt", "plan.txt"}
        assert world.events.new() == [("deleteRecord", eve_txt)]
        assert sorted(record_groups(world.store, world.cid)) == sorted(
            [test_onedrive.ADA_DRIVE, test_onedrive.BOB_DRIVE]
        )
        points = world.sync_points()
        assert f"records/drives/{bob_drive}" not in points
        assert f"records/drives/{eve_drive}" not in points
        assert points["records/microsoft/drives"]["leaving"] == {bob_drive: [bob_drive]}
        assert world.search("roadmap", BOB) == []  # held records are hidden from search
        assert world.search("harbour", EVE) == []
        assert world.search("quarterly", ADA) == ["report.txt"]  # the others' drives are untouched

        assert sorted(confirm(world, bob_drive)) == sorted([ids["bob_txt"].id, ids["plan"].id])
        assert names(world) == ada_records
        world.sync()
        assert sorted(record_groups(world.store, world.cid)) == [test_onedrive.ADA_DRIVE]
        assert world.sync_points()["records/microsoft/drives"]["leaving"] == {}
        assert world.search("roadmap", BOB) == []
        assert world.fake.validator is not None
        assert world.fake.validator.violations == []
    finally:
        world.close()


def test_a_returning_user_gets_the_drive_back_and_the_quarantine_lifted(tmp_path: Path) -> None:
    s = test_onedrive.seed()
    tenant, ids = s.tenant, s.ids
    world = make(tmp_path, tenant, OneDriveConnector, "od-2")
    try:
        world.sync()
        before = records(world.store, world.cid)
        tenant.update_user(ids["bob"].id, account_enabled=False)
        world.sync()
        assert quarantined(world) == {"bob.txt", "plan.txt"}
        tenant.update_user(ids["bob"].id, account_enabled=True)
        world.sync()  # listed from scratch (its sync point was dropped): seen again, released
        assert quarantined(world) == set()
        assert records(world.store, world.cid) == before
        assert world.sync_points()["records/microsoft/drives"]["leaving"] == {}
        assert world.search("roadmap", BOB) == ["plan.txt"]
    finally:
        world.close()


def test_a_deleted_sharepoint_site_takes_its_libraries_and_pages(tmp_path: Path) -> None:
    s = test_sharepoint.seed()
    tenant, ids = s.tenant, s.ids
    world = make(tmp_path, tenant, SharePointConnector, "sp-gone")
    try:
        world.sync()
        assert world.search("campaign", EVE) == ["campaign.txt"]
        campaign = key_of(world, "campaign.txt")
        turbine = world.search("turbine", ADA)
        assert turbine
        kept = names(world) - {"campaign.txt"}
        world.events.new()

        tenant.delete_site(ids["mkt"].id)
        world.sync()
        assert names(world) == kept
        assert world.events.new() == [("deleteRecord", campaign)]
        assert sorted(record_groups(world.store, world.cid)) == sorted(
            [test_sharepoint.ENG, test_sharepoint.ENG_DOCS, test_sharepoint.ENG_ARCHIVE]
        )
        points = world.sync_points()
        assert f"records/drives/{ids['mdocs']}" not in points
        assert points["records/microsoft/drives"]["leaving"] == {}
        assert ids["mkt"].id not in points["records/microsoft/drives"]["containers"]
        assert world.search("campaign", EVE) == []
        assert world.search("turbine", ADA) == turbine  # the other site is untouched
    finally:
        world.close()


def test_outlook_a_deleted_users_mailbox_goes_through_the_brake(tmp_path: Path) -> None:
    mail = seed_mail()
    world = make(tmp_path, mail.tenant, OutlookConnector, "outlook-gone")
    bob_id = mail.bob.id
    try:
        world.sync()
        assert world.search("firewall", BOB) == ["Security review"]
        ada_names = names(world) - {"Quarterly offsite", "agenda.txt", "Security review"}
        mail.tenant.delete_user(bob_id, permanent=True)
        world.sync()
        assert quarantined(world) == {"Quarterly offsite", "agenda.txt", "Security review"}
        assert world.search("firewall", BOB) == []
        assert world.search("travel", "ada@contoso.onmicrosoft.com") == ["Budget 2025"]
        points = world.sync_points()
        assert not [k for k in points if bob_id in k and k != "records/outlook/mailboxes"]
        assert points["records/outlook/mailboxes"]["users"] == [mail.ada.id]
        assert list(points["records/outlook/mailboxes"]["leaving"]) == [mailbox_id(bob_id)]

        confirm(world, mailbox_id(bob_id))
        assert names(world) == ada_names
        world.sync()
        assert [g for g in record_groups(world.store, world.cid) if "Bob" in g] == []
        assert world.sync_points()["records/outlook/mailboxes"]["leaving"] == {}
        assert world.search("firewall", BOB) == []
    finally:
        world.close()
