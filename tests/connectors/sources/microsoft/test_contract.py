"""The SDK's connector contract kit, for OneDrive and SharePoint Online, on every store backend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from headwater.connectors import testing
from headwater.connectors.sources.microsoft.common.connector import GraphConnector
from headwater.connectors.sources.microsoft.onedrive import OneDriveConnector
from headwater.connectors.sources.microsoft.sharepoint import SharePointConnector
from headwater.store.base import GraphStore
from headwater.testing.fake_graph import FakeGraph, FakeTenant
from tests.clients.microsoft.mini_graph import FakeClock

from .helpers import LOG, config_service, endpoint

BAD_SECRET = "Wr0ng~secret-value-0123456789"


def onedrive_tenant() -> tuple[FakeTenant, Callable[[], str]]:
    tenant = FakeTenant()
    ada, bob = tenant.add_user("Ada Lovelace"), tenant.add_user("Bob Smith")
    tenant.add_group("Engineers", members=[ada.id, bob.id])
    drive = tenant.drive_of(ada.id).id
    docs = tenant.add_folder(drive, "Docs")
    report = tenant.add_file(drive, "report.txt", "numbers", parent_id=docs.id)
    tenant.grant(drive, report.id, bob.id)
    for n in range(6):  # enough records that one deletion stays under the mass-deletion brake
        tenant.add_file(drive, f"file{n}.txt", f"content {n}")
    tenant.add_file(tenant.drive_of(bob.id).id, "bob.txt", "bob")

    def delete() -> str:
        tenant.delete_item(drive, report.id)
        return report.id

    return tenant, delete


def sharepoint_tenant() -> tuple[FakeTenant, Callable[[], str]]:
    tenant = FakeTenant()
    ada = tenant.add_user("Ada Lovelace")
    engineers = tenant.add_group("Engineers", members=[ada.id])
    site = tenant.add_site("eng", "Engineering")
    tenant.grant_site(site.id, engineers.id, ["write"])
    library = site.drive_ids[0]
    spec = tenant.add_file(library, "spec.txt", "the spec")
    for n in range(6):
        tenant.add_file(library, f"file{n}.txt", f"content {n}")
    tenant.add_page(site.id, "home.aspx", "Home", "<p>welcome</p>")

    def delete() -> str:
        tenant.delete_item(library, spec.id)
        return spec.id

    return tenant, delete


def factories(
    cls: type[GraphConnector], fake: FakeGraph, store: GraphStore
) -> tuple[testing.MakeConnector, testing.MakeBadConnector]:
    clock = FakeClock()

    async def make(target: GraphStore, connector_id: str) -> Any:
        provider = await testing.data_store_provider_for(target, connector_id)
        connector = await cls.create_connector(
            LOG, provider, config_service(connector_id, fake), connector_id=connector_id
        )
        connector.graph_endpoint = endpoint(fake, clock)
        assert await connector.init()
        return connector

    async def make_bad() -> Any:
        provider = await testing.data_store_provider_for(store, "bad")
        connector = await cls.create_connector(
            LOG, provider, config_service("bad", fake, secret=BAD_SECRET), connector_id="bad"
        )
        connector.graph_endpoint = endpoint(fake, clock)
        return connector

    return make, make_bad


@pytest.mark.parametrize(
    ("cls", "tenant_of"),
    [(OneDriveConnector, onedrive_tenant), (SharePointConnector, sharepoint_tenant)],
    ids=["onedrive", "sharepoint"],
)
def test_contract(store: GraphStore, cls: type[GraphConnector], tenant_of: Any) -> None:
    tenant, delete = tenant_of()
    fake = FakeGraph(tenant, page_size_cap=4, validate=True)
    make, make_bad = factories(cls, fake, store)
    report = asyncio.run(
        testing.run_contract(
            make,
            store,
            connector_cls=cls,
            delete_in_source=delete,
            make_bad_connector=make_bad,
            bad_secret=BAD_SECRET,
        )
    )
    assert report.skipped == []
    assert set(report.passed) == {
        "metadata",
        "unchanged re-sync",
        "permission decision",
        "deletes propagate",
        "bad credentials",
    }
    assert fake.validator is not None
    assert fake.validator.violations == []
