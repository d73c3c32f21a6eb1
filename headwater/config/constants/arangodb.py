"""Playbook path ``app.config.constants.arangodb``: re-exports ``headwater.models.constants``.

A connector Headwater does not ship is not a ``Connectors`` member: it names itself with a plain
string (see ``headwater.connectors.core.apps``).
"""

from headwater.models.constants import (
    AppGroups,
    CollectionNames,
    Connectors,
    EntityRelations,
    EventTypes,
    ItemType,
    LinkPublicStatus,
    MimeTypes,
    OriginTypes,
    Priority,
    ProgressStatus,
    RecordGroupType,
    RecordRelations,
    RecordType,
    Status,
)

__all__ = [
    "AppGroups",
    "CollectionNames",
    "Connectors",
    "EntityRelations",
    "EventTypes",
    "ItemType",
    "LinkPublicStatus",
    "MimeTypes",
    "OriginTypes",
    "Priority",
    "ProgressStatus",
    "RecordGroupType",
    "RecordRelations",
    "RecordType",
    "Status",
]
