"""SharePoint sites: document libraries (drives with the same delta machinery as OneDrive), site
permissions that every document of the site's libraries inherits, and site pages."""

from __future__ import annotations

from collections.abc import Iterable

from headwater.testing.fake_graph.changelog import ChangeLog, FakeClock, IdFactory
from headwater.testing.fake_graph.model import Drive, Grantee, Permission, Site, SitePage, UnknownObject, User


class SitesMixin:
    ids: IdFactory
    clock: FakeClock
    log: ChangeLog
    users: dict[str, User]
    sites: dict[str, Site]
    drives: dict[str, Drive]
    sharepoint_host: str

    def _new_drive(self, **fields: str) -> Drive:  # provided by FilesMixin
        raise NotImplementedError

    def grantee(self, principal_id: str) -> Grantee:  # provided by FilesMixin
        raise NotImplementedError

    def _any_user_id(self) -> str:  # provided by FilesMixin
        raise NotImplementedError

    def add_site(self, name: str, display_name: str | None = None, *, description: str | None = None) -> Site:
        """A team site at `https://{host}/sites/{name}` with one library, "Documents"."""
        site_id = f"{self.sharepoint_host},{self.ids.guid()},{self.ids.guid()}"
        now = self.clock.now()
        site = Site(
            id=site_id,
            name=name,
            display_name=display_name or name,
            description=description,
            web_url=f"https://{self.sharepoint_host}/sites/{name}",
            created=now,
            modified=now,
        )
        self.sites[site_id] = site
        self.add_library(site_id, "Documents")
        return site

    def site(self, site_id: str) -> Site:
        site = self.sites.get(site_id)
        if site is None:
            raise UnknownObject(f"no site {site_id!r} in the fake tenant")
        return site

    def delete_site(self, site_id: str) -> None:
        """Delete a site with its libraries: it is no longer listed, and it and its drives answer 404."""
        site = self.sites.pop(site_id)
        for drive_id in site.drive_ids:
            self.drives.pop(drive_id, None)

    def add_library(self, site_id: str, name: str) -> Drive:
        site = self.site(site_id)
        folder = "Shared Documents" if name == "Documents" else name.replace(" ", "")
        drive = self._new_drive(
            name=name,
            drive_type="documentLibrary",
            owner_kind="group",
            owner_id=site_id,
            web_url=f"{site.web_url}/{folder}",
            site_id=site_id,
        )
        site.drive_ids.append(drive.id)
        return drive

    def grant_site(self, site_id: str, principal_id: str, roles: Iterable[str] = ("read",)) -> Permission:
        """Give a user or group access to the whole site; its libraries' items inherit it."""
        site = self.site(site_id)
        permission = Permission(
            id=self.ids.permission_id(), roles=list(roles), grantee=self.grantee(principal_id)
        )
        site.permissions.append(permission)
        site.modified = self.clock.now()
        return permission

    def revoke_site(self, site_id: str, permission_id: str) -> None:
        site = self.site(site_id)
        kept = [p for p in site.permissions if p.id != permission_id]
        if len(kept) == len(site.permissions):
            raise UnknownObject(f"site {site_id!r} has no permission {permission_id!r}")
        site.permissions = kept
        site.modified = self.clock.now()

    def add_page(self, site_id: str, name: str, title: str, html: str, *, by: str | None = None) -> SitePage:
        """A modern site page (`SitePages/{name}`) whose text web part holds `html`."""
        site = self.site(site_id)
        page_id = self.ids.guid()
        now = self.clock.now()
        page = SitePage(
            id=page_id,
            site_id=site_id,
            name=name,
            title=title,
            html=html,
            web_url=f"{site.web_url}/SitePages/{name}",
            created=now,
            modified=now,
            created_by=by or self._any_user_id(),
            seq=self.log.record(("site", site_id), "created", page_id),
        )
        site.pages[page_id] = page
        return page

    def edit_page(
        self, site_id: str, page_id: str, *, title: str | None = None, html: str | None = None
    ) -> SitePage:
        page = self.site(site_id).pages[page_id]
        page.title = title if title is not None else page.title
        page.html = html if html is not None else page.html
        page.etag_version += 1
        page.modified = self.clock.now()
        page.seq = self.log.record(("site", site_id), "updated", page_id)
        return page

    def delete_page(self, site_id: str, page_id: str) -> None:
        del self.site(site_id).pages[page_id]
        self.log.record(("site", site_id), "deleted", page_id)
