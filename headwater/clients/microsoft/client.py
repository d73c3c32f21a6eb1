"""`GraphClient`: the typed Microsoft Graph calls the OneDrive, SharePoint and Outlook connectors make.

Objects come back as Graph's JSON (`GraphObject`, a dict) with the fields of `fields.py`; collections as
async iterators over objects (all pages); delta rounds as async iterators over `DeltaPage`s, whose last
page carries the delta link to store for that scope. Errors are those of `errors.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from headwater.clients.microsoft import fields
from headwater.clients.microsoft.auth import (
    GRAPH_SCOPE,
    LOGIN_BASE,
    ClientCredentials,
    MsalTokenProvider,
    TokenProvider,
)
from headwater.clients.microsoft.errors import GraphConnectionError, GraphError, NotFoundError
from headwater.clients.microsoft.paging import DeltaPage, GraphObject, iterate_delta, iterate_pages
from headwater.clients.microsoft.session import GRAPH_BASE, GraphSession, Params
from headwater.clients.microsoft.throttle import RateBudget, RetryPolicy

DIRECTORY_PAGE_SIZE = 999
MAIL_PAGE_SIZE = 50
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Outlook ids otherwise change when a message moves to another folder; immutable ids keep one record each.
IMMUTABLE_IDS = 'IdType="ImmutableId"'


def _seg(value: str) -> str:
    """One path segment: ids are used as given, only characters that would change the path are escaped."""
    if not value:
        raise ValueError("an empty id was passed to the Graph client")
    return quote(value, safe="!$&'()*+,;=:@-._~")


def _outlook_seg(value: str) -> str:
    """An Outlook id (folder, message, attachment) as a path segment. Outlook ids are base64 and may come
    with "/" and "+", which Graph's routing cannot take even percent-encoded; Graph's own REST form of the
    same id writes them as "-" and "_" (what translateExchangeIds calls restId), so that form is sent."""
    return _seg(value.replace("/", "-").replace("+", "_"))


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone; pass an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GraphClient:
    """Microsoft Graph for one tenant, app-only.

    Args:
        http: the caller's client; every request (Graph, login, download hosts) goes through it.
        tokens: bearer tokens (`MsalTokenProvider`, or any `TokenProvider`).
        tenant_id: the tenant; its process-wide `RateBudget` is shared with every other client of it.
        base_url: Graph's root ("https://graph.microsoft.com/v1.0"; a fake's in tests).
        budget: overrides the tenant's shared budget (tests with a fake clock).
        retry: attempts and backoff for throttled and failing requests.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: TokenProvider,
        *,
        tenant_id: str,
        base_url: str = GRAPH_BASE,
        budget: RateBudget | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.session = GraphSession(
            http, tokens, tenant_id=tenant_id, base_url=base_url, budget=budget, retry=retry
        )

    @classmethod
    def from_credentials(
        cls,
        http: httpx.AsyncClient,
        credentials: ClientCredentials,
        *,
        base_url: str = GRAPH_BASE,
        authority_base: str = LOGIN_BASE,
        scope: str = GRAPH_SCOPE,
        budget: RateBudget | None = None,
        retry: RetryPolicy | None = None,
    ) -> GraphClient:
        """A client that gets its tokens with the client-credentials grant (msal) from `authority_base`."""
        tokens = MsalTokenProvider(credentials, http, authority_base=authority_base, scope=scope)
        return cls(
            http, tokens, tenant_id=credentials.tenant_id, base_url=base_url, budget=budget, retry=retry
        )

    # -- users and groups ------------------------------------------------------------------------

    def users(self, *, select: Sequence[str] = fields.USER) -> AsyncIterator[GraphObject]:
        """Every user of the tenant (`GET /users`)."""
        return self._list("/users", {"$select": fields.select(select), "$top": DIRECTORY_PAGE_SIZE})

    def users_delta(
        self, link: str | None = None, *, latest: bool = False, select: Sequence[str] = fields.USER
    ) -> AsyncIterator[DeltaPage]:
        """A delta round over users, from `link` (stored next/delta link) or from scratch; scope "users".

        Removed users carry `@removed.reason` "changed" (soft-deleted, restorable) or "deleted".
        `latest=True` (without a link) skips the backlog: one empty page with a delta link for "from now"."""
        return self._delta("/users/delta", link, scope="users", params=self._directory_delta(select, latest))

    def groups(self, *, select: Sequence[str] = fields.GROUP) -> AsyncIterator[GraphObject]:
        """Every group of the tenant (`GET /groups`)."""
        return self._list("/groups", {"$select": fields.select(select), "$top": DIRECTORY_PAGE_SIZE})

    def groups_delta(
        self, link: str | None = None, *, latest: bool = False, select: Sequence[str] = fields.GROUP_DELTA
    ) -> AsyncIterator[DeltaPage]:
        """A delta round over groups; scope "groups". Groups carry `members@delta` (removed members with
        `@removed`); a large group may come again on later pages with other member slices: merge by id."""
        return self._delta(
            "/groups/delta", link, scope="groups", params=self._directory_delta(select, latest)
        )

    def group_members(
        self, group_id: str, *, select: Sequence[str] = fields.MEMBER
    ) -> AsyncIterator[GraphObject]:
        """Direct members of a group (users, groups, devices, ...; each with `@odata.type`)."""
        params: Params = {"$select": fields.select(select), "$top": DIRECTORY_PAGE_SIZE}
        return self._list(f"/groups/{_seg(group_id)}/members", params)

    def group_transitive_members(
        self, group_id: str, *, select: Sequence[str] = fields.MEMBER
    ) -> AsyncIterator[GraphObject]:
        """Members of a group, nested groups' members included (`/transitiveMembers`, with `@odata.type`)."""
        params: Params = {"$select": fields.select(select), "$top": DIRECTORY_PAGE_SIZE}
        return self._list(f"/groups/{_seg(group_id)}/transitiveMembers", params)

    # -- drives (OneDrive and document libraries) -----------------------------------------------

    async def user_drive(self, user_id: str, *, select: Sequence[str] = fields.DRIVE) -> GraphObject:
        """The user's OneDrive. Raises NotFoundError when the user has none (no licence, not provisioned)."""
        return await self._get(f"/users/{_seg(user_id)}/drive", select)

    async def drive(self, drive_id: str, *, select: Sequence[str] = fields.DRIVE) -> GraphObject:
        """One drive by id."""
        return await self._get(f"/drives/{_seg(drive_id)}", select)

    def drive_delta(
        self,
        drive_id: str,
        link: str | None = None,
        *,
        latest: bool = False,
        select: Sequence[str] = fields.DRIVE_ITEM,
        page_size: int | None = None,
        prefer: Sequence[str] = (),
    ) -> AsyncIterator[DeltaPage]:
        """A delta round over one drive (`/drives/{id}/root/delta`); scope "drives/{drive_id}".

        Deleted items carry a `deleted` facet (and may lack name and cTag). `latest=True` (without a link)
        returns no items and a delta link for "from now on". `prefer` adds Prefer values sent on every
        page (e.g. "deltashowsharingchanges", "hierarchicalsharing")."""
        params: dict[str, str | int] = {"$select": fields.select(select)}
        if latest:
            params["token"] = "latest"
        if page_size is not None:
            params["$top"] = page_size
        headers = {"Prefer": ", ".join(prefer)} if prefer else None
        path = f"/drives/{_seg(drive_id)}/root/delta"
        return self._delta(path, link, scope=f"drives/{drive_id}", params=params, headers=headers)

    async def drive_item(
        self, drive_id: str, item_id: str, *, select: Sequence[str] = fields.DRIVE_ITEM
    ) -> GraphObject:
        """One driveItem."""
        return await self._get(f"/drives/{_seg(drive_id)}/items/{_seg(item_id)}", select)

    def item_permissions(
        self, drive_id: str, item_id: str, *, select: Sequence[str] = fields.PERMISSION
    ) -> AsyncIterator[GraphObject]:
        """The item's permissions: direct grants (`grantedToV2`), sharing links (`link` with `scope`, and
        `grantedToIdentitiesV2` for whom a link was granted to), inherited ones included."""
        path = f"/drives/{_seg(drive_id)}/items/{_seg(item_id)}/permissions"
        return self._list(path, {"$select": fields.select(select)})

    async def download(
        self, drive_id: str, item_id: str, *, chunk_size: int = 1 << 16
    ) -> AsyncIterator[bytes]:
        """The file's bytes, streamed. `/content` answers 302 to a pre-authenticated URL, which is fetched
        without the bearer token (the token never reaches the download host)."""
        path = f"/drives/{_seg(drive_id)}/items/{_seg(item_id)}/content"
        response = await self.session.send("GET", path)
        if response.status_code not in REDIRECTS:
            yield response.content
            return
        location = response.headers.get("location")
        if not location:
            raise GraphError(
                f"GET {path}: Graph redirected without a Location header", status=response.status_code
            )
        target = str(response.url.join(location))
        async with self.session.stream("GET", target, authenticated=False) as download:
            try:
                async for chunk in download.aiter_bytes(chunk_size):
                    yield chunk
            except httpx.TransportError as exc:  # the pre-authenticated URL stays out of the message
                raise GraphConnectionError(
                    f"GET {path}: the download broke off ({type(exc).__name__})"
                ) from None

    async def download_url(self, drive_id: str, item_id: str) -> str | None:
        """The short-lived pre-authenticated URL (`@microsoft.graph.downloadUrl`); None for folders."""
        item = await self._get(
            f"/drives/{_seg(drive_id)}/items/{_seg(item_id)}", ("id", "@microsoft.graph.downloadUrl")
        )
        url = item.get("@microsoft.graph.downloadUrl")
        return url if isinstance(url, str) else None

    # -- SharePoint sites ------------------------------------------------------------------------

    def sites(self, *, select: Sequence[str] = fields.SITE) -> AsyncIterator[GraphObject]:
        """Every site of the tenant, all geographies (`/sites/getAllSites`, application permission only)."""
        return self._list("/sites/getAllSites", {"$select": fields.select(select)})

    async def site(self, site_id: str, *, select: Sequence[str] = fields.SITE) -> GraphObject:
        """One site ("host,siteCollectionId,webId")."""
        return await self._get(f"/sites/{_seg(site_id)}", select)

    def site_drives(
        self, site_id: str, *, select: Sequence[str] = fields.DRIVE
    ) -> AsyncIterator[GraphObject]:
        """The site's document libraries (drives of type documentLibrary); their items use `drive_delta`."""
        return self._list(f"/sites/{_seg(site_id)}/drives", {"$select": fields.select(select)})

    def site_permissions(
        self, site_id: str, *, select: Sequence[str] = fields.SITE_PERMISSION
    ) -> AsyncIterator[GraphObject]:
        """The site's permissions (`/sites/{id}/permissions`)."""
        return self._list(f"/sites/{_seg(site_id)}/permissions", {"$select": fields.select(select)})

    def site_pages(
        self, site_id: str, *, select: Sequence[str] = fields.SITE_PAGE
    ) -> AsyncIterator[GraphObject]:
        """The site's pages (`/sites/{id}/pages`)."""
        return self._list(f"/sites/{_seg(site_id)}/pages", {"$select": fields.select(select)})

    # -- Outlook mail ----------------------------------------------------------------------------

    async def mail_folders(
        self, user_id: str, *, select: Sequence[str] = fields.MAIL_FOLDER
    ) -> AsyncIterator[GraphObject]:
        """Every mail folder of the mailbox, child folders included (parents before their children).

        Raises NotFoundError when the user has no mailbox."""
        params: Params = {"$select": fields.select(select), "$top": 100}
        headers = {"Prefer": IMMUTABLE_IDS}
        pending = [f"/users/{_seg(user_id)}/mailFolders"]
        while pending:
            path = pending.pop(0)
            async for folder in iterate_pages(self.session, path, params=params, headers=headers):
                yield folder
                if folder.get("childFolderCount"):
                    pending.append(
                        f"/users/{_seg(user_id)}/mailFolders/{_outlook_seg(folder['id'])}/childFolders"
                    )

    def messages_delta(
        self,
        user_id: str,
        folder_id: str,
        link: str | None = None,
        *,
        select: Sequence[str] = fields.MESSAGE,
        page_size: int = MAIL_PAGE_SIZE,
    ) -> AsyncIterator[DeltaPage]:
        """A delta round over one mail folder; scope "users/{user_id}/mailFolders/{folder_id}".

        Removed or moved-away messages come as `{"id", "@removed": {"reason": "deleted"}}`."""
        path = f"/users/{_seg(user_id)}/mailFolders/{_outlook_seg(folder_id)}/messages/delta"
        headers = {"Prefer": f"odata.maxpagesize={page_size}, {IMMUTABLE_IDS}"}
        scope = f"users/{user_id}/mailFolders/{folder_id}"
        return self._delta(
            path, link, scope=scope, params={"$select": fields.select(select)}, headers=headers
        )

    async def message(
        self, user_id: str, message_id: str, *, select: Sequence[str] = fields.MESSAGE_CONTENT
    ) -> GraphObject:
        """One message, with its body by default."""
        path = f"/users/{_seg(user_id)}/messages/{_outlook_seg(message_id)}"
        return await self._get(path, select, headers={"Prefer": IMMUTABLE_IDS})

    def message_attachments(
        self, user_id: str, message_id: str, *, select: Sequence[str] = fields.ATTACHMENT
    ) -> AsyncIterator[GraphObject]:
        """The message's attachments, without their bytes (`attachment_content` fetches those)."""
        path = f"/users/{_seg(user_id)}/messages/{_outlook_seg(message_id)}/attachments"
        return self._list(path, {"$select": fields.select(select)}, headers={"Prefer": IMMUTABLE_IDS})

    async def attachment_content(self, user_id: str, message_id: str, attachment_id: str) -> bytes:
        """The raw bytes of one file attachment (`.../attachments/{id}/$value`)."""
        message = f"/users/{_seg(user_id)}/messages/{_outlook_seg(message_id)}"
        path = f"{message}/attachments/{_outlook_seg(attachment_id)}/$value"
        response = await self.session.send("GET", path, headers={"Prefer": IMMUTABLE_IDS})
        return response.content

    # -- change notifications --------------------------------------------------------------------

    async def create_subscription(
        self,
        resource: str,
        change_type: str,
        notification_url: str,
        client_state: str,
        expiration: datetime,
        *,
        lifecycle_notification_url: str | None = None,
    ) -> GraphObject:
        """Subscribe `notification_url` to changes of `resource` ("/drives/{id}/root", changeType "updated";
        "/users/{id}/mailFolders/{id}/messages", "created,updated,deleted"). Graph first validates the URL
        (see `notifications.validation_response`)."""
        body: dict[str, Any] = {
            "changeType": change_type,
            "notificationUrl": notification_url,
            "resource": resource,
            "expirationDateTime": _iso(expiration),
            "clientState": client_state,
        }
        if lifecycle_notification_url:
            body["lifecycleNotificationUrl"] = lifecycle_notification_url
        response = await self.session.send("POST", "/subscriptions", json=body)
        return _object(response)

    async def renew_subscription(self, subscription_id: str, expiration: datetime) -> GraphObject:
        """Move a subscription's expiry (before it lapses; an expired one must be created again)."""
        path = f"/subscriptions/{_seg(subscription_id)}"
        response = await self.session.send("PATCH", path, json={"expirationDateTime": _iso(expiration)})
        return _object(response)

    async def delete_subscription(self, subscription_id: str) -> None:
        """Delete a subscription; one that is already gone counts as deleted."""
        try:
            await self.session.send("DELETE", f"/subscriptions/{_seg(subscription_id)}")
        except NotFoundError:
            return

    def subscriptions(self) -> AsyncIterator[GraphObject]:
        """The app's subscriptions in this tenant."""
        return self._list("/subscriptions", None)

    # -- plumbing ---------------------------------------------------------------------------------

    async def _get(
        self, path: str, select: Sequence[str], *, headers: dict[str, str] | None = None
    ) -> GraphObject:
        return await self.session.get_json(path, params={"$select": fields.select(select)}, headers=headers)

    def _list(
        self, path: str, params: Params | None, *, headers: dict[str, str] | None = None
    ) -> AsyncIterator[GraphObject]:
        return iterate_pages(self.session, path, params=params, headers=headers)

    def _delta(
        self,
        path: str,
        link: str | None,
        *,
        scope: str,
        params: Params,
        headers: dict[str, str] | None = None,
    ) -> AsyncIterator[DeltaPage]:
        return iterate_delta(self.session, link or path, scope=scope, params=params, headers=headers)

    @staticmethod
    def _directory_delta(select: Sequence[str], latest: bool) -> dict[str, str | int]:
        params: dict[str, str | int] = {"$select": fields.select(select)}
        if latest:
            params["$deltatoken"] = "latest"
        return params


def _object(response: httpx.Response) -> GraphObject:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GraphError(f"{response.request.method} {response.request.url}: expected a JSON object")
    return body
