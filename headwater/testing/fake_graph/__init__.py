"""A stateful fake of Microsoft Graph v1.0 and the Microsoft identity platform's token endpoint.

It serves one Microsoft 365 tenant — users, groups with nested membership, OneDrive and SharePoint
drives with driveItem trees, sites with libraries, permissions and pages, Outlook mailboxes — with
Graph's paging and delta semantics: opaque HMAC-signed `$skiptoken`/`token`/`$deltatoken` links
pointing back at the fake, latest-state delta with `deleted` facets and `@removed` tombstones, token
expiry answering 410 (`resyncRequired` for drives, `SyncStateNotFound` for mail and directory),
throttling on demand (429/503 + Retry-After), and webhooks with the validationToken handshake.

Seed a tenant::

    from headwater.testing.fake_graph import FakeGraph, FakeTenant

    tenant = FakeTenant()                                   # contoso.onmicrosoft.com, seed 7
    alice = tenant.add_user("Alice Smith")                  # + OneDrive + mailbox
    eng = tenant.add_group("Engineering", members=[alice.id])
    drive = tenant.drive_of(alice.id)
    folder = tenant.add_folder(drive.id, "Specs")
    spec = tenant.add_file(drive.id, "plan.docx", b"...", parent_id=folder.id)
    tenant.create_link(drive.id, spec.id, "organization")   # or tenant.grant(drive.id, spec.id, eng.id)
    site = tenant.add_site("eng", "Engineering")            # with a "Documents" library
    tenant.grant_site(site.id, eng.id, ["write"])
    tenant.add_message(alice.id, "Hello", "<p>Hi</p>", sender="bob@contoso.onmicrosoft.com", to=[alice.mail])

Serve it in process (no socket) or on 127.0.0.1::

    graph = FakeGraph(tenant, validate=True, page_size_cap=2)
    client = httpx.AsyncClient(transport=graph.transport())  # any host: links follow the host you used
    token_url = f"https://login.microsoftonline.com/{tenant.tenant_id}/oauth2/v2.0/token"
    # form: client_id=graph.client_id, client_secret=graph.client_secret,
    #       scope=https://graph.microsoft.com/.default, grant_type=client_credentials
    # Graph calls: https://graph.microsoft.com/v1.0/... with "Authorization: Bearer <access_token>"

    with serve_app(graph.app) as base:                     # tests/fakes/server.py
        graph.base_url = base                              # links then point at http://127.0.0.1:PORT

Mutate between syncs with the tenant's methods (`edit_file`, `rename_item`, `move_item`, `delete_item`,
`grant`, `create_link`, `remove_permission`, `add_group_member`, `remove_group_member`, `delete_user`,
`add_message`, `move_message`, `delete_message`, ...). Inject faults::

    graph.faults.throttle_next(2, status=429, retry_after=1)
    graph.faults.throttle_fraction(0.2, seed=1)           # ~20 % of Graph calls: 429 or 503
    graph.faults.expire_drive_delta(drive.id)             # that drive's delta tokens now answer 410
    tenant.clock.advance(3600)                            # expire access tokens and download URLs

With `validate=True` every JSON response (and every notification POSTed) is checked against Graph's
JSON Schemas; assert `graph.validator.violations == []` at the end of a test. Change notifications
go out through `FakeGraph(webhook_client=httpx.AsyncClient(...))` when a test calls
`await graph.notifications.deliver()`.
"""

from headwater.testing.fake_graph.app import FakeGraph, RecordedRequest, checked_graph
from headwater.testing.fake_graph.changelog import FakeClock, drive_scope, mail_scope
from headwater.testing.fake_graph.faults import FaultPlan
from headwater.testing.fake_graph.model import UnknownObject
from headwater.testing.fake_graph.tenant import FakeTenant
from headwater.testing.fake_graph.validation import SchemaValidator

__all__ = [
    "FakeClock",
    "FakeGraph",
    "FakeTenant",
    "FaultPlan",
    "RecordedRequest",
    "SchemaValidator",
    "UnknownObject",
    "checked_graph",
    "drive_scope",
    "mail_scope",
]
