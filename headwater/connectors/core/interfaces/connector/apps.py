"""Playbook path of App / AppGroup: re-exports ``headwater.connectors.core.apps``."""

from headwater.connectors.core.apps import App, AppGroup, ExtensionName

__all__ = ["App", "AppGroup", "ExtensionName"]
