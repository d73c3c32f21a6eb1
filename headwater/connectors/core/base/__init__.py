"""The playbook's ``app.connectors.core.base`` package, as re-exports of the SDK's plain modules.

``from headwater.connectors.core.base import BaseConnector`` works too. The sub-packages
(``connector.connector_service``, ``data_processor.data_source_entities_processor``,
``data_store.data_store``, ``sync_point.sync_point``) are the playbook's import paths.
"""

from headwater.connectors.core.connector import BaseConnector, ConnectorInitError, maybe_await

__all__ = ["BaseConnector", "ConnectorInitError", "maybe_await"]
