"""The encrypted config store: namespaced keys, AES-256-GCM values, embedded or etcd backends."""

from headwater.config.base import ConfigStore, validate_key
from headwater.config.crypto import SecretBox, load_or_create_key, secret_box_from_settings
from headwater.config.registry import (
    CONFIG_BACKENDS,
    config_store_from_settings,
    create_config_store,
    open_config_store,
)

__all__ = [
    "CONFIG_BACKENDS",
    "ConfigStore",
    "SecretBox",
    "config_store_from_settings",
    "create_config_store",
    "load_or_create_key",
    "open_config_store",
    "secret_box_from_settings",
    "validate_key",
]
