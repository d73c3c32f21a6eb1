"""Playbook path ``app.connectors.core.registry``: the builder and filters, re-exported."""
