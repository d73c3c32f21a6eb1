"""Playbook path ``app.connectors.core.interfaces``."""
