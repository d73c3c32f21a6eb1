"""Sync points: where a connector's sync of one scope (a drive, a mailbox, a channel) got to.

A sync point is a `syncPoints` node, identified in the store by (`connectorId`, `syncPointKey`),
where `syncPointKey` is the full key ``"{org_id}/{connector_id}/{sync_data_point_type}/{key}"``
(reference §4.1). Its data fields sit beside the metadata fields (`orgId`, `connectorId`,
`syncPointKey`, `syncDataPointType`, timestamps); `read_sync_point` returns only the data.

Committed with the data. A connector writes a page of records and then the new cursor:

    await processor.on_new_records(page)
    await sync_point.update_sync_point(key, {"deltaLink": link})

`update_sync_point` does not write on its own: it hands the write to the connector instance's
`DataSourceEntitiesProcessor`, which commits the records it buffered, their edges and events, and
this sync point in ONE store transaction (see `processor.py`). The cursor therefore never gets
ahead of the data it covers: a crash before that commit leaves both unwritten and the page is
fetched again; a crash after it leaves both written. Without a processor (none registered on the
data store provider) the sync point is written in a transaction of its own.

Encrypted fields. `encrypt_fields` names data fields to store encrypted with AES-256-GCM (the config
store's `SecretBox`): the stored value is the token, the flag ``{field}_encrypted: true`` sits
beside it, and the associated data binds the token to the sync point and field, so a token copied
elsewhere does not decrypt. Plaintext never reaches the store. Writing the same plaintext again
keeps the stored token, so an unchanged sync point is not rewritten.

Updates merge into the stored fields, as the playbook's sync points do; writing a field without
encryption drops its old `_encrypted` flag.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from headwater.config.crypto import SecretBox
from headwater.connectors.core.data_store import DataStoreProvider
from headwater.models.documents import plain
from headwater.models.timeutil import now_ms
from headwater.store import codec
from headwater.store.base import Transaction

if TYPE_CHECKING:
    from headwater.connectors.core.processor import DataSourceEntitiesProcessor

SYNC_POINTS = "syncPoints"
ENCRYPTED_SUFFIX = "_encrypted"
METADATA_FIELDS = frozenset(
    {
        "_key",
        "_id",
        "_rev",
        "orgId",
        "connectorId",
        "syncPointKey",
        "syncDataPointType",
        "createdAtTimestamp",
        "updatedAtTimestamp",
    }
)
_NODE_KEY_NAMESPACE = uuid.UUID("5b0f6d1e-3c57-4a8e-9a51-0c2d6f1f7e11")


class SyncDataPointType(StrEnum):
    USERS = "users"
    GROUPS = "groups"
    RECORDS = "records"
    RECORD_GROUPS = "recordGroups"


def generate_record_sync_point_key(record_type: str, entity_name: str, entity_id: str) -> str:
    """`"{record_type}/{entity_name}/{entity_id}"`, e.g. `FILE/users/<user id>`."""
    return f"{plain(record_type)}/{plain(entity_name)}/{entity_id}"


class SyncPoint:
    """The sync points of one connector instance and one data point type.

    The playbook builds it with `connector_name`, `org_id`, `sync_data_point_type` and
    `data_store_provider` only; the connector instance id, the processor that commits the writes and
    the secret box then come from the data store provider (the processor registers itself there).
    """

    def __init__(
        self,
        connector_name: str,
        org_id: str,
        sync_data_point_type: SyncDataPointType | str,
        data_store_provider: DataStoreProvider,
        connector_id: str | None = None,
        processor: DataSourceEntitiesProcessor | None = None,
        secret_box: SecretBox | None = None,
    ) -> None:
        self.connector_name = connector_name
        self._org_id = org_id
        self.sync_data_point_type = SyncDataPointType(plain(sync_data_point_type))
        self.data_store_provider = data_store_provider
        self._connector_id = connector_id
        self._processor = processor
        self._secret_box = secret_box

    @classmethod
    def for_records(cls, connector_name: str, data_store_provider: DataStoreProvider) -> SyncPoint:
        """The RECORDS sync points of a connector instance, as its constructor builds them: no org id,
        so it is asked of the processor at each use (the factory may still re-point it after the
        constructor ran)."""
        return cls(
            connector_name=connector_name,
            org_id="",
            sync_data_point_type=SyncDataPointType.RECORDS,
            data_store_provider=data_store_provider,
        )

    # ---- who we are ------------------------------------------------------------------------------

    @property
    def processor(self) -> DataSourceEntitiesProcessor | None:
        return self._processor or self.data_store_provider.processor

    @property
    def connector_id(self) -> str:
        if self._connector_id:
            return self._connector_id
        processor = self.processor
        if processor is not None and processor.connector_id:
            return processor.connector_id
        return self.data_store_provider.connector_id or str(plain(self.connector_name))

    @property
    def org_id(self) -> str:
        if self._org_id:
            return self._org_id
        processor = self.processor
        return processor.org_id if processor is not None else ""

    def full_key(self, key: str) -> str:
        return f"{self.org_id}/{self.connector_id}/{self.sync_data_point_type.value}/{key}"

    # ---- the API ---------------------------------------------------------------------------------

    async def read_sync_point(self, key: str) -> dict[str, Any]:
        """The data of the sync point, decrypted; `{}` when there is none."""
        processor = self.processor
        if processor is not None:
            processor.flush_now()
        full_key = self.full_key(key)
        with self.data_store_provider.store.read() as tx:
            doc = tx.get_node_by_external_id(SYNC_POINTS, self.connector_id, full_key)
        if doc is None:
            return {}
        data = {k: v for k, v in doc.items() if k not in METADATA_FIELDS}
        for field in [k for k in data if k.endswith(ENCRYPTED_SUFFIX)]:
            name = field[: -len(ENCRYPTED_SUFFIX)]
            if data.pop(field) is True and name in data:
                data[name] = self._decrypt(full_key, name, data[name])
        return data

    async def create_sync_point(
        self, key: str, data: dict[str, Any], encrypt_fields: list[str] | None = None
    ) -> dict[str, Any]:
        return await self.update_sync_point(key, data, encrypt_fields)

    async def update_sync_point(
        self, key: str, data: dict[str, Any], encrypt_fields: list[str] | None = None
    ) -> dict[str, Any]:
        """Merge `data` into the sync point, committed together with the processor's buffered writes."""
        full_key = self.full_key(key)
        encrypt = set(encrypt_fields or ())
        unknown = encrypt - set(data)
        if unknown:
            raise ValueError(f"encrypt_fields names fields that are not in the data: {sorted(unknown)}")
        clash = METADATA_FIELDS.intersection(data)
        if clash:
            raise ValueError(f"sync point data may not use the metadata fields {sorted(clash)}")
        box = self._box() if encrypt else None
        connector_id, org_id = self.connector_id, self.org_id
        data_type = self.sync_data_point_type.value
        payload = dict(data)

        def write(tx: Transaction) -> None:
            stored = tx.get_node_by_external_id(SYNC_POINTS, connector_id, full_key)
            doc: dict[str, Any] = dict(stored) if stored else {"_key": _node_key(connector_id, full_key)}
            for name, value in payload.items():
                flag = name + ENCRYPTED_SUFFIX
                if name in encrypt:
                    assert box is not None
                    if not (
                        stored
                        and stored.get(flag) is True
                        and _same_secret(box, full_key, name, stored.get(name), value)
                    ):
                        doc[name] = box.encrypt(codec.dumps(value).encode(), _aad(full_key, name))
                    doc[flag] = True
                else:
                    doc[name] = value
                    doc.pop(flag, None)
            doc.update(
                {
                    "orgId": org_id,
                    "connectorId": connector_id,
                    "syncPointKey": full_key,
                    "syncDataPointType": data_type,
                }
            )
            if stored is not None and _without_timestamps(doc) == _without_timestamps(stored):
                return
            now = now_ms()
            doc.setdefault("createdAtTimestamp", now)
            doc["updatedAtTimestamp"] = now
            tx.upsert_nodes(SYNC_POINTS, [doc])

        self._commit(("put", connector_id, full_key), write)
        return dict(data)

    async def delete_sync_point(self, key: str) -> dict[str, Any]:
        full_key = self.full_key(key)
        connector_id = self.connector_id

        def delete(tx: Transaction) -> None:
            stored = tx.get_node_by_external_id(SYNC_POINTS, connector_id, full_key)
            if stored is not None:
                tx.delete_nodes(SYNC_POINTS, [stored["_key"]])

        self._commit(("put", connector_id, full_key), delete)
        return {"status": "deleted", "key": full_key}

    async def delete_all_for_connector(self) -> int:
        """Delete every sync point of this connector instance (all data point types): a full sync."""
        connector_id = self.connector_id
        deleted: list[int] = []

        def delete_all(tx: Transaction) -> None:
            keys = [d["_key"] for d in tx.find_nodes(SYNC_POINTS, connector_id=connector_id)]
            deleted.append(tx.delete_nodes(SYNC_POINTS, keys))

        self._commit(("all", connector_id, ""), delete_all)
        return deleted[0] if deleted else 0

    # ---- internals -------------------------------------------------------------------------------

    def _commit(self, op_key: tuple[str, str, str], op: Any) -> None:
        processor = self.processor
        if processor is not None:
            processor.stage_write(op_key, op)
            processor.flush_now()
            return
        with self.data_store_provider.store.transaction() as tx:
            op(tx)

    def _box(self) -> SecretBox:
        if self._secret_box is None:
            box = self.data_store_provider.get_secret_box()
            if box is None:
                from headwater.config.crypto import secret_box_from_settings
                from headwater.settings import Settings

                box = secret_box_from_settings(Settings())
            self._secret_box = box
        return self._secret_box

    def _decrypt(self, full_key: str, name: str, token: Any) -> Any:
        return codec.loads(self._box().decrypt(token, _aad(full_key, name)))


def _aad(full_key: str, field: str) -> bytes:
    return f"{SYNC_POINTS}/{full_key}#{field}".encode()


def _same_secret(box: SecretBox, full_key: str, name: str, token: Any, value: Any) -> bool:
    """Whether the stored token already holds `value` (then it is kept, and nothing is rewritten)."""
    if not isinstance(token, str):
        return False
    try:
        return bool(codec.loads(box.decrypt(token, _aad(full_key, name))) == value)
    except Exception:
        return False


def _node_key(connector_id: str, full_key: str) -> str:
    return str(uuid.uuid5(_NODE_KEY_NAMESPACE, f"{connector_id}\x00{full_key}"))


def _without_timestamps(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("createdAtTimestamp", "updatedAtTimestamp")}
