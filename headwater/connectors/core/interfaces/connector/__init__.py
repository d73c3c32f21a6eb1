"""Playbook path ``app.connectors.core.interfaces.connector``."""
