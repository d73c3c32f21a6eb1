"""The connector SDK: BaseConnector, App/AppGroup, ConnectorBuilder, filters and ConnectorFactory.

Import from the plain modules (`headwater.connectors.core.connector`, `.apps`, `.builder`, `.filters`,
`.factory`). The playbook's module paths (`headwater.connectors.core.base.connector.connector_service`,
`...registry.connector_builder`, `...interfaces.connector.apps`, ...) are thin re-export packages over
them, so a connector written by following the playbook imports unchanged with `app.` -> `headwater.`.
This package itself imports nothing, so importing one SDK module never drags in the processor.
"""
