"""Settings: one data directory by default, backends by URL, one clear line when a choice is wrong."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from headwater.config.registry import config_store_from_settings
from headwater.errors import BackendUnavailableError, ConfigurationError, MissingDependencyError
from headwater.events.registry import open_event_log
from headwater.events.store_log import StoreEventLog
from headwater.settings import Settings
from headwater.store.registry import create_store, open_store


def test_everything_embedded_under_one_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("STORE_URL", "EVENTS_URL", "CONFIG_URL", "SECRET_KEY", "DATA_DIR"):
        monkeypatch.delenv(f"HEADWATER_{name}", raising=False)
    settings = Settings(data_dir=tmp_path / "data")
    db = (tmp_path / "data" / "headwater.db").resolve()
    assert settings.resolved_store_url == f"sqlite:///{db}"
    assert settings.resolved_config_url == settings.resolved_store_url
    assert settings.resolved_secret_key_file == tmp_path / "data" / "secret.key"
    store = open_store(settings.resolved_store_url)
    try:
        assert isinstance(open_event_log(settings, store), StoreEventLog)
    finally:
        store.close()
    assert db.exists()


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEADWATER_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("HEADWATER_CONFIG_URL", "etcd://127.0.0.1:2379")
    settings = Settings()
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.resolved_config_url == "etcd://127.0.0.1:2379"
    assert "elsewhere" in settings.resolved_store_url


@pytest.mark.parametrize(
    ("factory", "url", "seam"),
    [
        (lambda url: create_store(url), "mongodb://x/y", "graph store"),
        (lambda url: config_store_from_settings(Settings(config_url=url)), "consul://x", "config store"),
        (lambda url: open_event_log(Settings(events_url=url), None), "amqp://x", "event log"),  # type: ignore[arg-type]
    ],
)
def test_unknown_scheme_names_the_valid_ones(factory: object, url: str, seam: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        factory(url)  # type: ignore[operator]
    message = str(info.value)
    assert f"unknown {seam} URL scheme" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("module", "backend_module", "factory", "extra"),
    [
        ("psycopg", "headwater.store.postgres", lambda: create_store("postgresql://h/db"), "postgres"),
        (
            "aetcd",
            "headwater.config.etcd",
            lambda: config_store_from_settings(Settings(config_url="etcd://127.0.0.1:2379")),
            "etcd",
        ),
        (
            "confluent_kafka",
            "headwater.events.kafka",
            lambda: open_event_log(Settings(events_url="kafka://127.0.0.1:9092"), None),  # type: ignore[arg-type]
            "kafka",
        ),
    ],
)
def test_missing_optional_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str, backend_module: str, factory: object, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail as if not installed
    monkeypatch.delitem(sys.modules, backend_module, raising=False)
    with pytest.raises(MissingDependencyError) as info:
        factory()  # type: ignore[operator]
    assert f"pip install 'headwater[{extra}]'" in str(info.value)


def test_unreachable_etcd_is_one_line(tmp_path: Path) -> None:
    store = config_store_from_settings(
        Settings(data_dir=tmp_path, config_url="etcd://user:pw-secret@127.0.0.1:1?timeout=1")
    )
    with pytest.raises(BackendUnavailableError) as info:
        asyncio.run(store.connect())
    message = str(info.value)
    assert "127.0.0.1:1" in message
    assert "pw-secret" not in message
    assert "\n" not in message
