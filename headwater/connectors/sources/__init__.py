"""Connectors Headwater ships, one package per source (`localfs`, ...). Each is a BaseConnector
written the playbook's way; `ConnectorFactory.discover()` finds them through the
`headwater.connectors` entry points in pyproject.toml."""
