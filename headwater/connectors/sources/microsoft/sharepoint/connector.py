"""SharePoint Online: every site of the tenant, its document libraries and its pages.

One sync: the directory (`common.directory`), then per site (OneDrive's personal sites aside):

    site ──▶ record group (SHAREPOINT_SITE) with the site's grants ◀── inheritPermissions ──┐
      ├─▶ each document library ──▶ record group (DRIVE), child of the site, inheriting it ─┘
      │        └─▶ one delta round (`drives.delta`): files and folders, each with its own grants
      │            (those it has beyond the site's: direct shares, links, folder shares)
      └─▶ pages ──▶ WebpageRecords in the site's record group, inheriting the site's grants;
                   listed completely every sync (no delta for pages), so deleted ones are swept

Site permissions are read from `/sites/{id}/permissions`; documents reach them through inheritance,
so a change of the site's grants changes no document. On real tenants that endpoint lists only the
grants given to applications, which name no person: the site's record group then has no grants
and documents are visible through their own grants only (fail closed). A deleted site (or library)
is retired: its records go through the mass-deletion brake (`drives.connector`). Change
notifications: one subscription per library; a notification syncs that library only (pages, which
have no delta, wait for the next full pass). See docs/connectors/microsoft-365.md."""

from __future__ import annotations

import html
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from headwater.clients.microsoft import (
    AuthError,
    GraphConnectionError,
    GraphError,
    GraphObject,
    NotFoundError,
    ThrottledError,
)
from headwater.connectors.core.builder import ConnectorBuilder
from headwater.connectors.core.definitions import ConnectorScope
from headwater.connectors.sources.microsoft.common.directory import Directory
from headwater.connectors.sources.microsoft.common.graph import (
    AUTH_TYPE,
    source_error,
)
from headwater.connectors.sources.microsoft.common.timestamps import graph_ms
from headwater.connectors.sources.microsoft.drives import (
    DriveDeltaSync,
    DriveItemGoneError,
    DriveRound,
    DriveScope,
    open_stream,
    signed_url,
)
from headwater.connectors.sources.microsoft.drives.catalog import DriveCatalog
from headwater.connectors.sources.microsoft.drives.connector import DrivesConnector, declare_drive_settings
from headwater.connectors.sources.microsoft.drives.permissions import item_grants
from headwater.models.constants import AppGroups, Connectors, MimeTypes, OriginTypes, RecordGroupType
from headwater.models.entities import Record, RecordGroup, WebpageRecord
from headwater.models.permission import Permission

NAME = "SharePoint Online"
ICON = "/assets/icons/connectors/sharepoint.svg"
PAGE_SELECT = "id,title,name,webUrl,eTag,lastModifiedDateTime"


def is_personal_site(site: Mapping[str, Any]) -> bool:
    """OneDrive's sites come with `getAllSites`; the OneDrive connector syncs those."""
    url = str(site.get("webUrl") or "")
    return bool(site.get("isPersonalSite")) or "-my.sharepoint.com/personal/" in url


def site_record_group(site: Mapping[str, Any]) -> RecordGroup:
    return RecordGroup(
        name=str(site.get("displayName") or site.get("name") or site["id"]),
        short_name=site.get("name") if isinstance(site.get("name"), str) else None,
        description=site.get("description") or None,
        external_group_id=str(site["id"]),
        connector_name=Connectors.SHAREPOINT_ONLINE,
        web_url=site.get("webUrl") if isinstance(site.get("webUrl"), str) else None,
        group_type=RecordGroupType.SHAREPOINT_SITE,
        source_created_at=graph_ms(site.get("createdDateTime")),
    )


def library_record_group(drive: Mapping[str, Any], site: RecordGroup) -> RecordGroup:
    """A document library: a child of its site that inherits the site's grants."""
    return RecordGroup(
        name=f"{site.name} / {drive.get('name') or 'Documents'}",
        short_name=str(drive.get("name") or "Documents"),
        description=drive.get("description") or None,
        external_group_id=str(drive["id"]),
        parent_external_group_id=site.external_group_id,
        inherit_permissions=True,
        connector_name=Connectors.SHAREPOINT_ONLINE,
        web_url=drive.get("webUrl") if isinstance(drive.get("webUrl"), str) else None,
        group_type=RecordGroupType.DRIVE,
        source_created_at=graph_ms(drive.get("createdDateTime")),
    )


def page_record(page: Mapping[str, Any], site_id: str) -> WebpageRecord:
    """A site page; its revision is the page's eTag (a new version re-indexes it)."""
    return WebpageRecord(
        record_name=str(page.get("title") or page.get("name") or page["id"]),
        external_record_id=str(page["id"]),
        external_revision_id=str(page.get("eTag") or "") or None,
        external_record_group_id=site_id,
        record_group_type=RecordGroupType.SHAREPOINT_SITE,
        origin=OriginTypes.CONNECTOR,
        connector_name=Connectors.SHAREPOINT_ONLINE,
        mime_type=MimeTypes.HTML,
        weburl=page.get("webUrl") if isinstance(page.get("webUrl"), str) else None,
        source_created_at=graph_ms(page.get("createdDateTime")),
        source_updated_at=graph_ms(page.get("lastModifiedDateTime")),
    )


def page_html(page: Mapping[str, Any]) -> str:
    """The page as one HTML document: its title and every web part's HTML, section by section."""
    parts = [f"<h1>{html.escape(str(page.get('title') or ''))}</h1>"]
    layout: Mapping[str, Any] = page["canvasLayout"] if isinstance(page.get("canvasLayout"), Mapping) else {}
    for section in layout.get("horizontalSections") or []:
        for column in section.get("columns") or []:
            for part in column.get("webparts") or []:
                inner = part.get("innerHtml") if isinstance(part, Mapping) else None
                if isinstance(inner, str):
                    parts.append(inner)
    return "<html><body>" + "\n".join(parts) + "</body></html>"


class PageStream:
    """A page's HTML for the indexing worker (`body_iterator`, `media_type`)."""

    media_type = "text/html"

    def __init__(self, data: bytes, filename: str) -> None:
        self.data = data
        self.filename = filename
        self.body_iterator: AsyncIterator[bytes] = self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        yield self.data

    async def read_all(self) -> bytes:
        return b"".join([chunk async for chunk in self.body_iterator])


@(
    ConnectorBuilder(NAME)
    .in_group(AppGroups.MICROSOFT.value)
    .with_auth_type(AUTH_TYPE)
    .with_description(
        "SharePoint Online sites of a Microsoft 365 tenant: document libraries and site pages, with "
        "site and item permissions, kept in sync incrementally through Microsoft Graph"
    )
    .with_categories(["Storage", "Wiki"])
    .with_scopes([ConnectorScope.TEAM])
    .configure(declare_drive_settings(ICON))
    .build_decorator()
)
class SharePointConnector(DrivesConnector):
    """Syncs the tenant's directory, sites, their document libraries and pages."""

    connector_enum: ClassVar[Connectors] = Connectors.SHAREPOINT_ONLINE
    container_is_record_group: ClassVar[bool] = True  # a deleted site takes its pages and libraries

    async def sync_drives(
        self, directory: Directory, delta: DriveDeltaSync, previous: DriveCatalog, current: DriveCatalog
    ) -> list[DriveRound]:
        rounds: list[DriveRound] = []
        async for site in self.graph.sites():
            if is_personal_site(site):
                continue
            try:
                rounds.extend(await self._sync_site(site, directory, delta, current))
            except (ThrottledError, AuthError, GraphConnectionError):
                raise  # the tenant or the network, not this site
            except GraphError as exc:
                self.processor.record_failure(
                    str(site["id"]), f"site skipped: {exc}", site.get("displayName")
                )
                current.keep(str(site["id"]), previous)
        return rounds

    async def _sync_site(
        self, site: GraphObject, directory: Directory, delta: DriveDeltaSync, current: DriveCatalog
    ) -> list[DriveRound]:
        site_id = str(site["id"])
        permissions = [p async for p in self.graph.site_permissions(site_id)]
        grants = item_grants(permissions, directory.email_of, now_ms=int(time.time() * 1000))
        group = site_record_group(site)
        await self.processor.on_new_record_groups([(group, grants)])
        current.add(site_id)
        inherited = frozenset(str(p.get("id")) for p in permissions if p.get("id"))
        rounds: list[DriveRound] = []
        async for drive in self.graph.site_drives(site_id):
            library = library_record_group(drive, group)
            await self.processor.on_new_record_groups([(library, [])])
            scope = DriveScope(library.external_group_id, library.name, inherited_permission_ids=inherited)
            rounds.append(await delta.sync(scope))
            current.add(site_id, scope)
        await self._sync_pages(site_id)
        return rounds

    async def _sync_pages(self, site_id: str) -> None:
        """Every page of the site; the pages no longer listed are swept (the site's only records)."""
        processor = self.processor
        processor.begin_scope(site_id)
        pages = [p async for p in self.graph.site_pages(site_id)]
        entries: list[tuple[Record, list[Permission]]] = []
        for page in pages:
            try:
                entries.append((page_record(page, site_id), []))
            except (KeyError, ValueError) as exc:
                processor.record_failure(str(page.get("id") or ""), f"page skipped: {exc}", page.get("title"))
        if entries:
            await processor.on_new_records(entries)
        await processor.complete_scope(site_id)

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> Any:
        """A library file's bytes (`/content`), or a page's HTML (its web parts)."""
        if isinstance(record, WebpageRecord):
            return await self._page_stream(record)
        return open_stream(self.graph, record, self.connector_id)

    async def get_signed_url(self, record: Record) -> str | None:
        if isinstance(record, WebpageRecord):
            return None  # a page is assembled from its web parts: no download URL
        return await signed_url(self.graph, record, self.connector_id)

    async def _page_stream(self, record: WebpageRecord) -> PageStream:
        site_id, page_id = record.external_record_group_id, record.external_record_id
        if not site_id or record.connector_id not in ("", self.connector_id):
            raise DriveItemGoneError(f"record {record.id} names no page of this connector")
        path = f"/sites/{_segment(site_id)}/pages/{_segment(page_id)}/microsoft.graph.sitePage"
        try:
            page = await self.graph.session.get_json(path, params={"$expand": "canvasLayout"})
        except NotFoundError as exc:
            raise DriveItemGoneError(f"page {record.record_name!r} no longer exists") from exc
        except (ThrottledError, AuthError) as exc:
            raise source_error(exc) from exc
        return PageStream(page_html(page).encode(), record.record_name)


def _segment(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9.,_:\-{}!~]+", value):
        raise DriveItemGoneError(f"{value!r} is not a Graph id")
    return value
