"""The connector SDK's handle on the graph store (the playbook's `DataStoreProvider`).

Connectors receive one `DataStoreProvider` per connector instance and pass it on to the
processor and to their `SyncPoint`s. It carries what those need to find each other without
changing the playbook's constructor calls: the connector instance id, the processor that writes
for the instance (it registers itself here) and, optionally, the `SecretBox` sync points encrypt
fields with.

`transaction()` is an async context manager over the store's (synchronous) transaction. Work
inside it must not await anything slow: the store holds its lock for the whole block. Before the
block starts, the registered processor flushes what it buffered, so a connector that reads through
the provider sees everything it handed to the processor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from headwater.store.base import GraphStore, Transaction

if TYPE_CHECKING:
    from headwater.config.crypto import SecretBox
    from headwater.connectors.core.processor import DataSourceEntitiesProcessor


class DataStoreProvider:
    """One connector instance's access to the graph store."""

    def __init__(
        self,
        store: GraphStore,
        *,
        connector_id: str = "",
        secret_box: SecretBox | Callable[[], SecretBox] | None = None,
    ) -> None:
        self.store = store
        self.connector_id = connector_id
        self.secret_box = secret_box
        # set by the DataSourceEntitiesProcessor built on this provider (the first one wins)
        self.processor: DataSourceEntitiesProcessor | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A store transaction: commits when the block ends, rolls back if it raises."""
        if self.processor is not None:
            self.processor.flush_now()
        with self.store.transaction() as tx:
            yield tx

    def get_secret_box(self) -> SecretBox | None:
        box = self.secret_box
        if box is None or not callable(box):
            return box
        self.secret_box = resolved = box()
        return resolved
