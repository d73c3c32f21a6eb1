"""What the store knows about each collection: which document fields identify a node at its source.

Identity lookups ("the record with external id X of connector C") run on a unique index over
(collection, connector id, external id); these are the document fields that fill those columns.
"""

from __future__ import annotations

from typing import Any

# collection -> (connector-id field, external-id field); users are global by lower-cased email.
IDENTITY_FIELDS: dict[str, tuple[str | None, str]] = {
    "records": ("connectorId", "externalRecordId"),
    "recordGroups": ("connectorId", "externalGroupId"),
    "groups": ("connectorId", "externalGroupId"),
    "roles": ("connectorId", "externalRoleId"),
    "syncPoints": ("connectorId", "syncPointKey"),
    "users": (None, "email"),
    # run history and the failure ledger: filed under their connector instance
    "syncRuns": ("connectorId", "_key"),
    "syncFailures": ("connectorId", "_key"),
}

# Edge collections whose edges are told apart by a field as well as by their two ends.
EDGE_KIND_FIELDS: dict[str, str] = {
    "recordRelations": "relationshipType",
    "entityRelations": "edgeType",
}

# Event topics and the number of partitions each is split into. Order is kept per key because a
# key always lands in the same partition; a consumer group reads a partition in offset order.
TOPICS = ("sync-events", "record-events", "entity-events")
PARTITIONS = 8


def identity_of(collection: str, doc: dict[str, Any]) -> tuple[str, str | None]:
    """(connector id, external id) columns of a node document; ('', None) when it has none."""
    fields = IDENTITY_FIELDS.get(collection)
    if fields is None:
        return "", None
    connector_field, external_field = fields
    connector = str(doc.get(connector_field) or "") if connector_field else ""
    external = doc.get(external_field)
    if external is None or external == "":
        return connector, None
    external = str(external)
    if collection == "users":
        external = external.lower()
    return connector, external


def edge_kind(collection: str, doc: dict[str, Any]) -> str:
    field = EDGE_KIND_FIELDS.get(collection)
    return str(doc.get(field) or "") if field else ""
