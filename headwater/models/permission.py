"""Permissions: who (a principal) may do what (a role) on a record or record group."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from headwater.models.timeutil import now_ms


class PermissionType(StrEnum):
    """The role a grant gives; stored in the edge's `role` field."""

    READ = "READER"
    WRITE = "WRITER"
    # aliases: the playbook's snippets name some roles by their stored value
    READER = "READER"
    WRITER = "WRITER"
    OWNER = "OWNER"
    COMMENT = "COMMENTER"
    OTHER = "OTHERS"


class EntityType(StrEnum):
    """The kind of principal a grant is given to; stored in the edge's `type` field."""

    USER = "USER"
    GROUP = "GROUP"
    ROLE = "ROLE"
    DOMAIN = "DOMAIN"
    ORG = "ORG"
    TEAM = "TEAM"
    ANYONE = "ANYONE"
    ANYONE_WITH_LINK = "ANYONE_WITH_LINK"


# Readable names the issue tracker uses for the same enums.
Role = PermissionType
PrincipalType = EntityType


class Permission(BaseModel):
    """A grant as a connector reports it: to a user (by email or external id), a group, a role,
    a domain, the whole organisation, or anyone."""

    model_config = ConfigDict(populate_by_name=True, use_enum_values=False)

    external_id: str | None = None
    email: str | None = None
    type: PermissionType = PermissionType.READ
    entity_type: EntityType = EntityType.USER
    created_at: int = Field(default_factory=now_ms)
    updated_at: int = Field(default_factory=now_ms)

    def to_edge_document(self, from_id: str, to_id: str) -> dict[str, Any]:
        """The stored `permissions` edge: principal node id -> record / record group node id."""
        return {
            "_from": from_id,
            "_to": to_id,
            "role": self.type.value,
            "type": self.entity_type.value,
            "createdAtTimestamp": self.created_at,
            "updatedAtTimestamp": self.updated_at,
        }

    # The playbook's original name for the same conversion.
    def to_arango_permission(
        self, from_id: str, from_collection: str, to_id: str, to_collection: str
    ) -> dict[str, Any]:
        return self.to_edge_document(f"{from_collection}/{from_id}", f"{to_collection}/{to_id}")
