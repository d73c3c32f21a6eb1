"""Tests of the connector SDK and the connectors."""
