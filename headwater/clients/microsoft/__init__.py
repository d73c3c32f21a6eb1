"""Microsoft Graph for the Microsoft 365 connectors (OneDrive, SharePoint Online, Outlook): app-only auth,
the tenant's shared rate budget, paging, delta rounds, typed calls, and webhook helpers.

Knows HTTP and Graph, nothing of Headwater's models."""

from __future__ import annotations

from headwater.clients.microsoft.auth import ClientCredentials, MsalTokenProvider, TokenProvider
from headwater.clients.microsoft.client import GraphClient
from headwater.clients.microsoft.errors import (
    AccessDeniedError,
    AuthError,
    DeltaExpiredError,
    GraphConnectionError,
    GraphError,
    NotFoundError,
    ThrottledError,
)
from headwater.clients.microsoft.paging import DeltaPage, GraphObject, collect_delta
from headwater.clients.microsoft.session import GraphSession
from headwater.clients.microsoft.throttle import RateBudget, RetryPolicy

__all__ = [
    "AccessDeniedError",
    "AuthError",
    "ClientCredentials",
    "DeltaExpiredError",
    "DeltaPage",
    "GraphClient",
    "GraphConnectionError",
    "GraphError",
    "GraphObject",
    "GraphSession",
    "MsalTokenProvider",
    "NotFoundError",
    "RateBudget",
    "RetryPolicy",
    "ThrottledError",
    "TokenProvider",
    "collect_delta",
]
