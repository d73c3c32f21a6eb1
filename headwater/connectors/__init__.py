"""Connectors: the SDK (`headwater.connectors.core`) and, beside it, the connectors Headwater ships."""
