"""Playbook path ``app.connectors.core.base.sync_point``."""
