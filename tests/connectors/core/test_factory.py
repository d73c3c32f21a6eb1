"""ConnectorFactory: name normalisation, building instances, entry-point discovery."""

from __future__ import annotations

import importlib
import logging
import sys
import textwrap
from collections.abc import Iterator
from logging import Logger
from pathlib import Path
from typing import Any

import pytest

from headwater.connectors.core.apps import App
from headwater.connectors.core.connector import BaseConnector
from headwater.connectors.core.factory import ConnectorFactory, UnknownConnectorError
from headwater.connectors.core.registry.connector_builder import ConnectorBuilder
from headwater.errors import HeadwaterError
from headwater.models.entities import Record
from tests.connectors.core.helpers import FakeProcessor, run


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    saved = dict(ConnectorFactory._connector_registry), dict(ConnectorFactory._display_names)
    ConnectorFactory._connector_registry.clear()
    ConnectorFactory._display_names.clear()
    try:
        yield
    finally:
        ConnectorFactory._connector_registry.clear()
        ConnectorFactory._display_names.clear()
        ConnectorFactory._connector_registry.update(saved[0])
        ConnectorFactory._display_names.update(saved[1])


class _Minimal(BaseConnector):
    async def init(self) -> bool:
        return True

    def test_connection_and_access(self) -> bool:
        return True

    def get_signed_url(self, record: Record) -> str | None:
        return None

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> Any:
        return b""

    async def run_sync(self) -> None:
        return None

    def cleanup(self) -> None:
        return None


@ConnectorBuilder("SharePoint Online").with_auth_type("OAUTH_ADMIN_CONSENT").build_decorator()
class FullSignatureConnector(_Minimal):
    received: dict[str, Any] = {}

    @classmethod
    async def create_connector(
        cls,
        logger: Logger,
        data_store_provider: Any,
        config_service: Any,
        connector_id: str = "",
        scope: str = "personal",
        created_by: str | None = None,
        **kwargs: Any,
    ) -> FullSignatureConnector:
        cls.received = {"connector_id": connector_id, "scope": scope, "created_by": created_by, **kwargs}
        processor = FakeProcessor()
        await processor.initialize()
        return cls(
            App("SHAREPOINT ONLINE", "Microsoft"), logger, processor, data_store_provider, config_service
        )


class PlaybookSignatureConnector(_Minimal):
    @classmethod
    async def create_connector(
        cls, logger: Logger, data_store_provider: Any, config_service: Any
    ) -> PlaybookSignatureConnector:
        processor = FakeProcessor()
        await processor.initialize()
        return cls(App("Acme Wiki", "Acme"), logger, processor, data_store_provider, config_service)


def test_lookup_normalises_case_and_spaces() -> None:
    ConnectorFactory.register_connector("SharePoint Online", FullSignatureConnector)
    for spelling in ("SharePoint Online", "sharepointonline", "SHAREPOINT ONLINE", "Share Point Online"):
        assert ConnectorFactory.get_connector_class(spelling) is FullSignatureConnector
    assert ConnectorFactory.list_connectors() == {"SharePoint Online": FullSignatureConnector}
    assert [m["name"] for m in ConnectorFactory.list_metadata()] == ["SharePoint Online"]


def test_unknown_name_lists_the_known_ones() -> None:
    ConnectorFactory.register_connector("SharePoint Online", FullSignatureConnector)
    ConnectorFactory.register_connector("Acme Wiki", PlaybookSignatureConnector)
    with pytest.raises(UnknownConnectorError) as caught:
        ConnectorFactory.get_connector_class("Dropbox")
    assert str(caught.value) == "unknown connector 'Dropbox'; known connectors: Acme Wiki, SharePoint Online"
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, HeadwaterError)


def test_register_rejects_a_second_class_under_a_taken_name() -> None:
    ConnectorFactory.register_connector("Acme Wiki", PlaybookSignatureConnector)
    ConnectorFactory.register_connector("acmewiki", PlaybookSignatureConnector)  # same class: no-op
    with pytest.raises(HeadwaterError, match="taken"):
        ConnectorFactory.register_connector("ACME WIKI", FullSignatureConnector)
    with pytest.raises(HeadwaterError, match="not a BaseConnector"):
        ConnectorFactory.register_connector("thing", object)  # type: ignore[arg-type]


def test_create_connector_with_the_playbook_signature() -> None:
    ConnectorFactory.register_connector("Acme Wiki", PlaybookSignatureConnector)
    connector = run(
        ConnectorFactory.create_connector(
            "acme wiki", logging.getLogger("t"), "dsp", "cfg", "c-1", "team", "u-1", org_id="org-2", extra=1
        )
    )
    assert isinstance(connector, PlaybookSignatureConnector)
    assert (connector.connector_id, connector.scope, connector.created_by) == ("c-1", "team", "u-1")
    assert connector.data_entities_processor.org_id == "org-2"
    assert (connector.data_store_provider, connector.config_service) == ("dsp", "cfg")


def test_create_connector_passes_what_the_signature_accepts() -> None:
    ConnectorFactory.register_connector("SharePoint Online", FullSignatureConnector)
    connector = run(
        ConnectorFactory.create_connector(
            "SharePoint Online", logging.getLogger("t"), None, None, "c-9", "personal", "u-9", extra="x"
        )
    )
    assert FullSignatureConnector.received == {
        "connector_id": "c-9",
        "scope": "personal",
        "created_by": "u-9",
        "extra": "x",
    }
    assert connector.data_entities_processor.org_id == "org-1"  # no org_id given: untouched


def _fake_distribution(root: Path, dist: str, module: str, source: str, entry_points: dict[str, str]) -> None:
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {value}" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[headwater.connectors]\n{lines}\n")


GOOD_MODULE = """
from typing import Any
from headwater.connectors.core.apps import App
from headwater.connectors.core.registry.connector_builder import ConnectorBuilder
from headwater.connectors.core.connector import BaseConnector


@ConnectorBuilder("Acme Wiki").in_group("Acme").with_auth_type("API_TOKEN").build_decorator()
class AcmeWikiConnector(BaseConnector):
    async def init(self) -> bool:
        return True

    def test_connection_and_access(self) -> bool:
        return True

    def get_signed_url(self, record: Any) -> None:
        return None

    async def stream_record(self, record: Any, *args: Any, **kwargs: Any) -> Any:
        return b""

    async def run_sync(self) -> None:
        return None

    def cleanup(self) -> None:
        return None

    @classmethod
    async def create_connector(cls, logger: Any, data_store_provider: Any, config_service: Any) -> Any:
        return cls(App("Acme Wiki", "Acme"), logger, None, data_store_provider, config_service)


class NotAConnector:
    pass
"""


def test_discover_registers_entry_points_and_skips_broken_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fake_distribution(
        tmp_path,
        "acme_headwater",
        "acme_hw_connectors",
        GOOD_MODULE,
        {
            "acme_wiki": "acme_hw_connectors:AcmeWikiConnector",
            "missing_module": "acme_hw_no_such_module:Thing",
            "missing_attr": "acme_hw_connectors:NoSuchClass",
            "wrong_type": "acme_hw_connectors:NotAConnector",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        with caplog.at_level(logging.WARNING, logger="headwater.connectors.core.factory"):
            registered = ConnectorFactory.discover()
        # the fake distribution's connector, beside the connectors Headwater itself ships
        assert sorted(registered) == ["Acme Wiki", "Local FS", "OneDrive", "Outlook", "SharePoint Online"]
        cls = ConnectorFactory.get_connector_class("acmewiki")
        assert cls.__name__ == "AcmeWikiConnector"
        skipped = caplog.text
        for name in ("missing_module", "missing_attr", "wrong_type"):
            assert f"'{name}'" in skipped
        connector = run(
            ConnectorFactory.create_connector(
                "Acme Wiki", logging.getLogger("t"), None, None, "c-3", "team", None
            )
        )
        assert connector.connector_id == "c-3"
        assert connector.get_app_name().value == "Acme Wiki"
    finally:
        sys.modules.pop("acme_hw_connectors", None)


def test_discover_with_nothing_installed_is_empty() -> None:
    assert ConnectorFactory.discover(group="headwater.connectors.none-such") == []
