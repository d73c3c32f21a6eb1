"""A fake tenant with two mailboxes, the Outlook connector pointed at it, and readers of the graph.

Seed (tenant `FakeTenant(seed=11)`):
    Ada Lovelace  inbox:    "Budget 2025" (from bob, attachment budget.csv), "Re: Budget 2025" (same
                            conversation), "Lunch on Friday"; folder Projects (under Inbox): "Apollo kickoff"
                  sent:     "Re: Re: Budget 2025" (the conversation's third message)
    Bob Smith     inbox:    "Quarterly offsite" (attachment agenda.txt), "Security review"
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from headwater.connectors import testing
from headwater.connectors.core.connector import BaseConnector
from headwater.connectors.sources.microsoft.outlook import OutlookConnector
from headwater.store.base import GraphStore
from headwater.testing.fake_graph import FakeGraph, FakeTenant
from headwater.testing.fake_graph.model import Message, User
from tests.clients.microsoft.mini_graph import FakeClock
from tests.connectors.sources.microsoft.helpers import config_service, endpoint

CID = "outlook-1"
LOG = logging.getLogger("test.outlook")
BAD_SECRET = "not-the-secret-~q8"


@dataclass
class Mail:
    tenant: FakeTenant
    ada: User
    bob: User
    budget: Message
    reply: Message
    lunch: Message
    kickoff: Message
    sent_reply: Message
    offsite: Message
    security: Message


def seed_mail(tenant: FakeTenant | None = None) -> Mail:
    tenant = tenant or FakeTenant(seed=11)
    ada = tenant.add_user("Ada Lovelace")
    bob = tenant.add_user("Bob Smith")
    ada_mail, bob_mail = ada.mail or "", bob.mail or ""
    projects = tenant.add_mail_folder(ada.id, "Projects", parent="inbox")
    budget = tenant.add_message(
        ada.id,
        "Budget 2025",
        "<p>The travel budget doubles next year.</p>",
        sender=("Bob Smith", bob_mail),
        to=[ada_mail],
        cc=["carol@contoso.onmicrosoft.com"],
        attachments=[("budget.csv", "text/csv", b"team,amount\nplatform,120000\n")],
    )
    reply = tenant.add_message(
        ada.id,
        "Re: Budget 2025",
        "<p>Agreed, but hiring comes first.</p>",
        sender=("Bob Smith", bob_mail),
        to=[ada_mail],
        conversation_id=budget.conversation_id,
    )
    lunch = tenant.add_message(
        ada.id, "Lunch on Friday", "<p>Pizza at noon.</p>", sender=bob_mail, to=[ada_mail]
    )
    kickoff = tenant.add_message(
        ada.id,
        "Apollo kickoff",
        "<p>The Apollo project starts with a rocket workshop.</p>",
        folder=projects.id,
        sender=bob_mail,
        to=[ada_mail],
    )
    sent_reply = tenant.add_message(
        ada.id,
        "Re: Re: Budget 2025",
        "<p>Then we hire two engineers.</p>",
        folder="sentitems",
        sender=ada_mail,
        to=[bob_mail],
        bcc=["finance@contoso.onmicrosoft.com"],
        conversation_id=budget.conversation_id,
    )
    offsite = tenant.add_message(
        bob.id,
        "Quarterly offsite",
        "<p>The offsite is in the mountains.</p>",
        sender=ada_mail,
        to=[bob_mail],
        attachments=[("agenda.txt", "text/plain", b"Day one: hiking. Day two: strategy.")],
    )
    security = tenant.add_message(
        bob.id, "Security review", "<p>Rotate the firewall keys.</p>", sender=ada_mail, to=[bob_mail]
    )
    return Mail(tenant, ada, bob, budget, reply, lunch, kickoff, sent_reply, offsite, security)


@dataclass
class World:
    """The fake Graph and how to build connectors on it; `clock` is the rate budget's virtual clock."""

    fake: FakeGraph
    store: GraphStore
    clock: FakeClock = field(default_factory=FakeClock)
    sync: dict[str, Any] | None = None
    filters: dict[str, Any] | None = None

    def config(self, connector_id: str, secret: str | None = None) -> testing.DictConfigService:
        service = config_service(connector_id, self.fake, secret=secret, sync=self.sync)
        if self.filters:
            key = f"/services/connectors/{connector_id}/config"
            service.values[key]["filters"] = {"sync": {"values": self.filters}}
        return service

    async def make(self, store: GraphStore, connector_id: str) -> BaseConnector:
        connector = await self.build(store, connector_id)
        assert await connector.init()
        return connector

    async def build(
        self, store: GraphStore, connector_id: str, secret: str | None = None
    ) -> OutlookConnector:
        provider = await testing.data_store_provider_for(store, connector_id)
        connector = await OutlookConnector.create_connector(
            LOG, provider, self.config(connector_id, secret), connector_id=connector_id
        )
        assert isinstance(connector, OutlookConnector)
        connector.connector_id = connector_id
        connector.graph_endpoint = endpoint(self.fake, self.clock)
        return connector

    async def make_bad(self) -> BaseConnector:
        return await self.build(self.store, "outlook-bad", BAD_SECRET)

    async def sync_once(self, *, incremental: bool = True) -> BaseConnector:
        return await testing.sync_once(self.make, self.store, CID, incremental=incremental)


# ---- reading the graph --------------------------------------------------------------------------------


def records(store: GraphStore, connector_id: str = CID) -> dict[str, dict[str, Any]]:
    """Record name -> its base document (names are unique in the seed)."""
    with store.read() as tx:
        docs = tx.find_nodes("records", connector_id=connector_id)
    return {str(d["recordName"]): d for d in docs if not d.get("isPlaceholder")}


def mail_doc(store: GraphStore, name: str) -> dict[str, Any]:
    doc = records(store)[name]
    with store.read() as tx:
        (edge,) = tx.get_edges("isOfType", from_ids=[f"records/{doc['_key']}"])
        collection, key = str(edge["_to"]).split("/", 1)
        found = tx.get_node(collection, key)
    assert found is not None
    return found


def relations(store: GraphStore, kind: str) -> list[tuple[str, str]]:
    """(from name, to name) of every recordRelations edge of `kind` between this connector's records."""
    names = {f"records/{d['_key']}": n for n, d in records(store).items()}
    with store.read() as tx:
        edges = tx.get_edges("recordRelations", kind=kind)
    return sorted((names[e["_from"]], names[e["_to"]]) for e in edges if e["_from"] in names)


def groups_of(store: GraphStore) -> dict[str, str]:
    """Record name -> the name of the record group it belongs to."""
    named = records(store)
    with store.read() as tx:
        docs = tx.find_nodes("recordGroups", connector_id=CID)
        group_names = {f"recordGroups/{d['_key']}": str(d["groupName"]) for d in docs}
        out = {}
        for name, doc in named.items():
            (edge,) = tx.get_edges("belongsTo", from_ids=[f"records/{doc['_key']}"])
            out[name] = group_names[str(edge["_to"])]
    return out


def readers(store: GraphStore, name: str) -> list[str]:
    """Emails of the users who can read the record (through its grants and inheritance)."""
    key = str(records(store)[name]["_key"])
    with store.read() as tx:  # noqa: SIM117
        users = tx.find_nodes("users")
        return sorted(str(u["email"]) for u in users if tx.can_read(str(u["_key"]), key))


def sync_points(store: GraphStore, prefix: str) -> dict[str, dict[str, Any]]:
    """Sync point key (after the connector's part) -> data, for keys starting with `prefix`."""
    with store.read() as tx:
        docs = tx.find_nodes("syncPoints", connector_id=CID)
    out = {}
    for doc in docs:
        key = str(doc["syncPointKey"]).partition("/records/")[2]
        if key.startswith(prefix):
            out[key] = {k: v for k, v in doc.items() if k in ("deltaLink", "nextLink", "removals")}
    return out
