"""Headwater: a self-hostable, permission-aware connector platform."""

__version__ = "0.1.0"
