"""SharePoint: site search, libraries with the same delta, site permissions inherited by documents, pages."""

from __future__ import annotations

import asyncio
from typing import Any

from headwater.testing.fake_graph import FakeGraph
from tests.testing.fake_graph.conftest import Seed
from tests.testing.fake_graph.helpers import session

run = asyncio.run


def test_sites_libraries_permissions_and_pages(graph: FakeGraph, seed: Seed) -> None:
    tenant = seed.tenant
    site = tenant.add_site("eng", "Engineering", description="Team site")
    tenant.add_site("hr", "Human Resources")
    grant = tenant.grant_site(site.id, seed.engineering.id, ["write"])
    library = tenant.drive(site.drive_ids[0])
    doc = tenant.add_file(library.id, "roadmap.md", "# roadmap")
    page = tenant.add_page(
        site.id, "Home.aspx", "Welcome", "<h1>Welcome</h1><p>Team news</p>", by=seed.alice.id
    )

    async def scenario() -> dict[str, Any]:
        async with session(graph) as s:
            found, _ = await s.collect("/sites", params={"search": "*"})
            every, _ = await s.collect("/sites/getAllSites")
            named, _ = await s.collect("/sites", params={"search": "human"})
            drives, _ = await s.collect(f"/sites/{site.id}/drives")
            delta, _ = await s.collect(f"/drives/{library.id}/root/delta")
            permissions, _ = await s.collect(f"/sites/{site.id}/permissions")
            inherited, _ = await s.collect(f"/drives/{library.id}/items/{doc.id}/permissions")
            pages, _ = await s.collect(f"/sites/{site.id}/pages")
            one = (
                await s.get(f"/sites/{site.id}/pages/{page.id}/microsoft.graph.sitePage?$expand=canvasLayout")
            ).json()
            return {
                "found": found,
                "every": every,
                "named": named,
                "drives": drives,
                "delta": delta,
                "permissions": permissions,
                "inherited": inherited,
                "pages": pages,
                "page": one,
            }

    got = run(scenario())
    assert (
        [x["displayName"] for x in got["found"]]
        == ["Engineering", "Human Resources"]
        == [x["displayName"] for x in got["every"]]
    )
    assert [x["displayName"] for x in got["named"]] == ["Human Resources"]
    assert [(d["name"], d["driveType"]) for d in got["drives"]] == [("Documents", "documentLibrary")]
    assert [i["name"] for i in got["delta"]] == ["root", "roadmap.md"]
    assert got["delta"][1]["parentReference"]["siteId"] == site.id
    assert [p["id"] for p in got["permissions"]] == [grant.id]
    assert [p["id"] for p in got["inherited"]] == [grant.id]
    assert [(p["title"], p["webUrl"]) for p in got["pages"]] == [
        ("Welcome", "https://contoso.sharepoint.com/sites/eng/SitePages/Home.aspx")
    ]
    webparts = got["page"]["canvasLayout"]["horizontalSections"][0]["columns"][0]["webparts"]
    assert webparts[0]["innerHtml"] == "<h1>Welcome</h1><p>Team news</p>"
