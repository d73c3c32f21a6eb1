"""How Python field names become stored document keys: snake_case in code, camelCase on disk.

Most keys are the plain camelCase of the field name; the playbook's field table fixes a few
others (`external_record_group_id` -> `externalGroupId`, `weburl` -> `webUrl`, ...), listed here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

DOCUMENT_KEY_OVERRIDES = {
    "id": "_key",
    "external_record_group_id": "externalGroupId",
    "parent_external_record_id": "externalParentId",
    "weburl": "webUrl",
    "created_at": "createdAtTimestamp",
    "updated_at": "updatedAtTimestamp",
    "source_created_at": "sourceCreatedAtTimestamp",
    "source_updated_at": "sourceLastModifiedTimestamp",
    "md5_hash": "md5Checksum",
    "is_vlm_ocr_processed": "isVLMOcrProcessed",
    "hide_weburl": "hideWeburl",
    "name": "name",
    "from_email": "from",
    "source_user_group_id": "externalGroupId",
    "source_role_id": "externalRoleId",
    "source_user_id": "userId",
}


def plain(value: Any) -> Any:
    """An enum member's value; anything else as it is (connector names may be enums or strings)."""
    return getattr(value, "value", value)


def document_key(field_name: str) -> str:
    override = DOCUMENT_KEY_OVERRIDES.get(field_name)
    if override is not None:
        return override
    head, *rest = field_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Document(BaseModel):
    """A model stored as one camelCase document. `to_document` / `from_document` round-trip losslessly."""

    model_config = ConfigDict(
        alias_generator=document_key,
        populate_by_name=True,
        validate_assignment=False,
        extra="ignore",
    )

    collection: ClassVar[str] = ""

    def to_document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Any:
        return cls.model_validate(doc)
