"""Playbook path ``app.connectors.core.base.connector``."""
