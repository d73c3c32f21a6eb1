"""Config store backends by URL scheme."""

from __future__ import annotations

from headwater.backends import load_backend
from headwater.config.base import ConfigStore
from headwater.config.crypto import SecretBox, secret_box_from_settings
from headwater.settings import Settings

CONFIG_BACKENDS = {
    "sqlite": "headwater.config.sqlite:SqliteConfigStore",
    "postgresql": "headwater.config.postgres:PostgresConfigStore",
    "postgres": "headwater.config.postgres:PostgresConfigStore",
    "etcd": "headwater.config.etcd:EtcdConfigStore",
}


def create_config_store(url: str, box: SecretBox) -> ConfigStore:
    """A config store for `url` sealing values with `box`, not yet connected."""
    cls = load_backend("config store", CONFIG_BACKENDS, url)
    store: ConfigStore = cls(url, box)
    return store


def config_store_from_settings(settings: Settings) -> ConfigStore:
    """The config store `settings` select (HEADWATER_CONFIG_URL, else the store DB), not yet connected.

    The key comes from HEADWATER_SECRET_KEY or the key file, created on first run."""
    return create_config_store(settings.resolved_config_url, secret_box_from_settings(settings))


async def open_config_store(settings: Settings) -> ConfigStore:
    """The config store `settings` select, connected (its table created if needed)."""
    store = config_store_from_settings(settings)
    await store.connect()
    return store
