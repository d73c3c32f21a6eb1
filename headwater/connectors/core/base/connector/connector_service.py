"""Playbook path of BaseConnector: re-exports ``headwater.connectors.core.connector``."""

from headwater.connectors.core.connector import BaseConnector, ConnectorInitError, maybe_await

__all__ = ["BaseConnector", "ConnectorInitError", "maybe_await"]
