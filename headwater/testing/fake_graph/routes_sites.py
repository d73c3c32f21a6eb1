"""SharePoint sites: search and getAllSites, a site, its document libraries, permissions, pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from headwater.testing.fake_graph.model import Site
from headwater.testing.fake_graph.odata import (
    GraphHTTPError,
    collection_page,
    graph_of,
    graph_root,
    json_response,
    parse_select,
    select_fields,
)
from headwater.testing.fake_graph.serialize import (
    drive_json,
    identity_set,
    page_json,
    permission_json,
    site_json,
)


def _site_out(request: Request, site: Site) -> dict[str, object]:
    return site_json(site, graph_of(request).tenant.sharepoint_host)


async def search_sites(request: Request) -> Response:
    """GET /sites?search=<text>; `search=*` lists every site."""
    query = request.query_params.get("search")
    if query is None:
        raise GraphHTTPError(
            400,
            "invalidRequest",
            "Listing sites needs ?search= (use search=* for all) or /sites/getAllSites.",
        )
    select = parse_select(request)
    text = query.strip().strip('"').lower()
    sites = [
        select_fields(_site_out(request, s), select)
        for s in graph_of(request).tenant.sites.values()
        if text in ("", "*") or text in s.name.lower() or text in s.display_name.lower()
    ]
    return collection_page(request, sites, entity="site", context="sites", default_size=200)


async def all_sites(request: Request) -> Response:
    select = parse_select(request)
    sites = [select_fields(_site_out(request, s), select) for s in graph_of(request).tenant.sites.values()]
    return collection_page(request, sites, entity="site", context="sites", default_size=200)


async def get_site(request: Request) -> Response:
    site = graph_of(request).tenant.site(request.path_params["site_id"])
    body = {
        "@odata.context": f"{graph_root(request)}/$metadata#sites/$entity",
        **select_fields(_site_out(request, site), parse_select(request)),
    }
    return json_response(request, body, entity="site")


async def site_drives(request: Request) -> Response:
    tenant = graph_of(request).tenant
    site = tenant.site(request.path_params["site_id"])
    select = parse_select(request)
    system = {"user": {"displayName": "System Account"}}
    drives = [select_fields(drive_json(tenant.drive(d), system), select) for d in site.drive_ids]
    return collection_page(request, drives, entity="drive", context="drives", default_size=200)


async def site_permissions(request: Request) -> Response:
    site = graph_of(request).tenant.site(request.path_params["site_id"])
    permissions = [permission_json(p) for p in site.permissions]
    return collection_page(request, permissions, entity="permission", context="permissions", default_size=200)


async def site_pages(request: Request) -> Response:
    tenant = graph_of(request).tenant
    site = tenant.site(request.path_params["site_id"])
    select = parse_select(request)
    expand = "canvasLayout" in request.query_params.get("$expand", "")
    pages = [
        select_fields(
            page_json(p, identity_set(tenant.users.get(p.created_by), p.created_by), with_content=expand),
            select,
        )
        for p in site.pages.values()
    ]
    return collection_page(request, pages, entity="sitePage", context="pages", default_size=200)


async def get_page(request: Request) -> Response:
    """GET /sites/{id}/pages/{id} (and .../microsoft.graph.sitePage); `$expand=canvasLayout` adds content."""
    tenant = graph_of(request).tenant
    site = tenant.site(request.path_params["site_id"])
    page = site.pages.get(request.path_params["page_id"])
    if page is None:
        raise GraphHTTPError(404, "itemNotFound", f"No page {request.path_params['page_id']!r} on this site.")
    expand = "canvasLayout" in request.query_params.get("$expand", "")
    body = page_json(
        page, identity_set(tenant.users.get(page.created_by), page.created_by), with_content=expand
    )
    return json_response(request, select_fields(body, parse_select(request)), entity="sitePage")


ROUTES = [
    Route("/v1.0/sites", search_sites),
    Route("/v1.0/sites/getAllSites", all_sites),
    Route("/v1.0/sites/{site_id}", get_site),
    Route("/v1.0/sites/{site_id}/drives", site_drives),
    Route("/v1.0/sites/{site_id}/permissions", site_permissions),
    Route("/v1.0/sites/{site_id}/pages", site_pages),
    Route("/v1.0/sites/{site_id}/pages/{page_id}", get_page),
    Route("/v1.0/sites/{site_id}/pages/{page_id}/microsoft.graph.sitePage", get_page),
]
