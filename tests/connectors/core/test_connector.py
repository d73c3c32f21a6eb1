"""BaseConnector defaults and helpers, App / AppGroup compatibility."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from headwater.connectors.core.apps import App, AppGroup, ExtensionName
from headwater.connectors.core.base import BaseConnector, ConnectorInitError, maybe_await
from headwater.connectors.core.data_store import DataStoreProvider
from headwater.connectors.core.processor import DataSourceEntitiesProcessor
from headwater.models.constants import AppGroups, Connectors, RecordType
from headwater.models.entities import FileRecord, Record
from headwater.models.permission import EntityType, Permission, PermissionType
from tests.connectors.core.helpers import FakeProcessor, run

LOG = logging.getLogger("test_connector")


class Minimal(BaseConnector):
    def __init__(self, processor: Any, **kw: Any) -> None:
        super().__init__(App("Acme Wiki", "Acme"), LOG, processor, None, None, **kw)
        self.synced = 0
        self.changed: set[str] = set()

    async def init(self) -> bool:
        return True

    async def test_connection_and_access(self) -> bool:
        return True

    async def get_signed_url(self, record: Record) -> str | None:
        return None

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> Any:
        return b""

    async def run_sync(self) -> None:
        self.synced += 1

    async def cleanup(self) -> None:
        return None

    async def fetch_record_for_reindex(self, record: Record) -> tuple[Record, list[Permission]] | None:
        if record.external_record_id == "boom":
            raise RuntimeError("source down")
        if record.external_record_id in self.changed:
            return record, [Permission(email="a@example.com")]
        return None


class PlaybookShaped(Minimal):
    """The playbook's constructor, which the default `create_connector` calls."""

    def __init__(self, logger: Any, processor: Any, provider: Any, config_service: Any) -> None:
        BaseConnector.__init__(self, App("Acme Wiki", "Acme"), logger, processor, provider, config_service)


def record(external_id: str) -> FileRecord:
    return FileRecord(record_name=external_id, record_type=RecordType.FILE, external_record_id=external_id)


def test_abstract_methods_are_the_small_set() -> None:
    assert BaseConnector.__abstractmethods__ == {
        "init",
        "test_connection_and_access",
        "get_signed_url",
        "stream_record",
        "run_sync",
        "cleanup",
    }


def test_connector_id_defaults() -> None:
    processor = FakeProcessor()
    assert Minimal(processor).connector_id == "Acme Wiki"  # the app name
    processor.connector_id = "from-processor"  # type: ignore[attr-defined]
    assert Minimal(processor).connector_id == "from-processor"
    assert Minimal(processor, connector_id="explicit").connector_id == "explicit"
    team = Minimal(processor, scope="team", created_by="u-1")
    assert (team.scope, team.created_by) == ("team", "u-1")
    with pytest.raises(ValueError, match="personal.*team"):
        Minimal(processor, scope="everyone")


def test_maybe_await_takes_both() -> None:
    async def seven() -> int:
        return 7

    async def body() -> None:
        assert await maybe_await(3) == 3
        assert await maybe_await(seven()) == 7
        connector = Minimal(FakeProcessor())
        assert await maybe_await(connector.test_connection_and_access()) is True
        assert await maybe_await(connector.cleanup()) is None

    run(body())


def test_defaults() -> None:
    async def body() -> None:
        connector = Minimal(FakeProcessor())
        await connector.run_incremental_sync()
        assert connector.synced == 1
        with pytest.raises(NotImplementedError):
            await connector.handle_webhook_notification({"value": []})
        with pytest.raises(NotImplementedError):
            await connector.get_filter_options("spaces")

        # create_connector: a real processor for the provider's instance, named after the app
        provider = DataStoreProvider(None, connector_id="c-7")  # type: ignore[arg-type]  # no store read
        built = await PlaybookShaped.create_connector(
            LOG, provider, "cfg", scope="team", created_by="u-7", org_id="org-7", extra=1
        )
        processor = built.data_entities_processor
        assert isinstance(built, PlaybookShaped)
        assert isinstance(processor, DataSourceEntitiesProcessor)
        assert (built.connector_id, processor.org_id, processor.connector_name) == (
            "c-7",
            "org-7",
            "Acme Wiki",
        )
        assert (built.scope, built.created_by, built.config_service) == ("team", "u-7", "cfg")
        assert (await PlaybookShaped.create_connector(LOG, provider, None, org_id="o")).scope == "personal"
        with pytest.raises(ValueError, match="personal.*team"):
            await PlaybookShaped.create_connector(LOG, provider, None, scope="everyone", org_id="o")

    run(body())


def test_reindex_records_routes_changed_and_unchanged() -> None:
    processor = FakeProcessor()
    connector = Minimal(processor)
    connector.changed = {"b"}
    a, b, boom = record("a"), record("b"), record("boom")
    run(connector.reindex_records([a, b, boom]))
    assert [name for name, _ in processor.calls] == ["on_new_records", "reindex_existing_records"]
    assert processor.calls[0][1][0][0] is b
    assert processor.calls[1][1] == [a]


def test_connector_group_permission() -> None:
    processor = FakeProcessor()
    processor.users["u-1"] = {"email": "owner@example.com"}
    connector = Minimal(processor, connector_id="c-1", created_by="u-1")
    assert connector._connector_group_external_id() == "internal-c-1"
    permission = run(connector.ensure_connector_group_permission())
    assert permission is not None
    assert (permission.entity_type, permission.external_id, permission.type) == (
        EntityType.GROUP,
        "internal-c-1",
        PermissionType.READ,
    )
    (users_call, groups_call) = processor.calls
    assert users_call[1][0].email == "owner@example.com"
    group, members = groups_call[1][0]
    assert (group.name, group.source_user_group_id, group.connector_id) == (
        "ConnectorGroup",
        "internal-c-1",
        "c-1",
    )
    assert members[0].source_user_id == "creator_u-1"
    assert run(connector.ensure_connector_group_permission()) is permission  # cached
    assert len(processor.calls) == 2


def test_connector_group_permission_none_without_creator_or_on_failure() -> None:
    assert run(Minimal(FakeProcessor(), created_by="nobody").ensure_connector_group_permission()) is None
    processor = FakeProcessor()
    processor.users["u-1"] = {"email": "owner@example.com"}
    processor.fail_groups = True
    assert run(Minimal(processor, created_by="u-1").ensure_connector_group_permission()) is None


def test_connector_init_error_is_a_headwater_error() -> None:
    assert str(ConnectorInitError("bad token")) == "bad token"


def test_app_accepts_both_spellings() -> None:
    playbook = App(app_name=Connectors.OUTLOOK, app_group=AppGroup.MICROSOFT_365)
    reference = App(Connectors.OUTLOOK, AppGroups.MICROSOFT, connector_id="c-1")
    named = App("OUTLOOK", app_group_name="Microsoft")
    for app in (playbook, reference, named):
        assert app.get_app_name() is Connectors.OUTLOOK
        assert app.get_app_group_name() is AppGroups.MICROSOFT
    assert reference.get_connector_id() == "c-1"
    grouped = App(Connectors.OUTLOOK, AppGroup(AppGroups.MICROSOFT, []))
    assert grouped.get_app_group_name() is AppGroups.MICROSOFT
    with pytest.raises(TypeError):
        App(Connectors.OUTLOOK)
    with pytest.raises(TypeError):
        App(Connectors.OUTLOOK, app_group="a", app_group_name="b")


def test_third_party_names_quack_like_enum_members() -> None:
    app = App(app_name="Acme Wiki", app_group="Acme")
    name = app.get_app_name()
    assert isinstance(name, ExtensionName)
    assert name == "Acme Wiki"
    assert (name.value, name.name) == ("Acme Wiki", "ACME_WIKI")
    assert app.get_app_group_name().value == "Acme"
    with pytest.raises(ValueError):
        App(app_name="", app_group="Acme")


def test_app_group_exposes_every_app_groups_member() -> None:
    for member in AppGroups:
        assert getattr(AppGroup, member.name) is member
    group = AppGroup("Acme", [App("Acme Wiki", "Acme")], connector_id="c")
    assert [a.get_app_name() for a in group.get_apps()] == ["Acme Wiki"]
    assert group.get_connector_id() == "c"
