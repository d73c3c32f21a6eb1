"""Tests of the connector SDK (headwater.connectors.core)."""
