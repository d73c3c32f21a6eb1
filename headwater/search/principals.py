"""Who a user acts as when searching: the user, its groups and roles (transitively, nested groups
included), its organisation, its verified email domain and its organisation's `anyone`.

Expanding memberships takes a few indexed queries; search asks for every query, so the answer is
cached per user and dropped the moment memberships change: the store keeps a membership version
token that changes in the same transaction as any user, group, role or `belongsTo` change, and one
point read of it per query tells whether the cache is still right. A stale cache could show a
document to someone just removed from a group, so there is no time-based grace.
"""

from __future__ import annotations

import threading

from headwater.indexing.record_principals import NOT_SEARCHABLE_PREFIXES
from headwater.store.base import GraphStore


class PrincipalCache:
    """user key -> frozenset of principal node ids, valid for one membership version."""

    def __init__(self, store: GraphStore, max_users: int = 10_000) -> None:
        self._store = store
        self._max_users = max_users
        self._lock = threading.Lock()
        self._version = ""
        self._cached: dict[str, frozenset[str]] = {}
        self.misses = 0

    def principals(self, user_key: str) -> frozenset[str]:
        with self._store.read() as tx:
            version = tx.membership_version()
            with self._lock:
                if version != self._version:
                    self._cached.clear()
                    self._version = version
                found = self._cached.get(user_key)
            if found is not None:
                return found
            self.misses += 1
            found = frozenset(p for p in tx.principals(user_key) if not p.startswith(NOT_SEARCHABLE_PREFIXES))
        with self._lock:
            if version == self._version:  # a newer version may have arrived while we computed
                if len(self._cached) >= self._max_users:
                    self._cached.clear()
                self._cached[user_key] = found
        return found

    def invalidate(self) -> None:
        with self._lock:
            self._cached.clear()
            self._version = ""
