"""Playbook path ``app.connectors.core.base.data_store``."""
