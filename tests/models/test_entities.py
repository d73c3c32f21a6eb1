"""The playbook's data model: stored documents use the playbook's camelCase keys, round trips lose nothing."""

from __future__ import annotations

import pytest

from headwater.models.constants import (
    Connectors,
    ItemType,
    MimeTypes,
    OriginTypes,
    Priority,
    ProgressStatus,
    RecordGroupType,
    RecordRelations,
    RecordType,
)
from headwater.models.entities import (
    RECORD_CLASS_BY_TYPE,
    AppRole,
    AppUser,
    AppUserGroup,
    CommentRecord,
    FileRecord,
    LinkRecord,
    MailRecord,
    MessageRecord,
    Organization,
    ProjectRecord,
    Record,
    RecordGroup,
    TicketRecord,
    User,
    WebpageRecord,
    record_from_documents,
)
from headwater.models.permission import EntityType, Permission, PermissionType

# The playbook's "Record Fields Reference" table: Python field -> stored key.
PLAYBOOK_FIELD_TABLE = {
    "id": "_key",
    "org_id": "orgId",
    "record_name": "recordName",
    "record_type": "recordType",
    "external_record_id": "externalRecordId",
    "external_revision_id": "externalRevisionId",
    "external_record_group_id": "externalGroupId",
    "parent_external_record_id": "externalParentId",
    "connector_name": "connectorName",
    "origin": "origin",
    "version": "version",
    "mime_type": "mimeType",
    "weburl": "webUrl",
    "created_at": "createdAtTimestamp",
    "updated_at": "updatedAtTimestamp",
    "source_created_at": "sourceCreatedAtTimestamp",
    "source_updated_at": "sourceLastModifiedTimestamp",
}


def playbook_file_record() -> FileRecord:
    """Built exactly as the playbook's §6.3.3 example builds one."""
    return FileRecord(
        id="rec-002",
        org_id="org-1",
        record_name="Report.pdf",
        record_type=RecordType.FILE,
        external_record_id="file-123",
        external_revision_id="etag-1",
        version=0,
        origin=OriginTypes.CONNECTOR,
        connector_name=Connectors.ONEDRIVE,
        source_created_at=1704067200000,
        source_updated_at=1704067300000,
        weburl="https://contoso.example/Report.pdf",
        mime_type=MimeTypes.PDF,
        parent_external_record_id="folder-xyz",
        external_record_group_id="drive-abc",
        record_group_type=RecordGroupType.FOLDER,
        size_in_bytes=2048576,
        is_file=True,
        extension="pdf",
    )


def test_stored_keys_follow_the_playbook_table() -> None:
    record = playbook_file_record()  # one object: its timestamps are taken at construction
    base = record.to_base_document()
    for field, key in PLAYBOOK_FIELD_TABLE.items():
        value = getattr(record, field)
        assert base[key] == getattr(value, "value", value), field
    assert base["externalGroupId"] == "drive-abc"
    assert base["externalParentId"] == "folder-xyz"
    assert "record_name" not in base


def test_type_document_holds_type_fields_under_the_same_key() -> None:
    base, type_doc = playbook_file_record().to_documents()
    assert type_doc is not None
    assert type_doc["_key"] == base["_key"] == "rec-002"
    assert type_doc["isFile"] is True
    assert type_doc["extension"] == "pdf"
    assert "isFile" not in base
    assert type(playbook_file_record()).type_collection == "files"


@pytest.mark.parametrize(
    "record",
    [
        playbook_file_record(),
        MailRecord(
            record_name="Hi",
            external_record_id="m",
            subject="Hi",
            from_email="a@x.test",
            to_emails=["b@x.test"],
            cc_emails=["c@x.test"],
            bcc_emails=["d@x.test"],
            thread_id="t",
            internet_message_id="<id@x>",
            label_ids=["INBOX"],
        ),
        MessageRecord(record_name="msg", external_record_id="s", thread_id="t1", author_email="a@x.test"),
        WebpageRecord(record_name="Page", external_record_id="p", record_type=RecordType.CONFLUENCE_PAGE),
        CommentRecord(record_name="c", external_record_id="c", author_source_id="u1"),
        TicketRecord(
            record_name="BUG-1",
            external_record_id="t",
            status="OPEN",
            priority=Priority.HIGH,
            type=ItemType.BUG,
            labels=["x"],
        ),
        LinkRecord(record_name="l", external_record_id="l", url="https://x.test"),
        ProjectRecord(record_name="P", external_record_id="p", lead_email="l@x.test"),
        Record(record_name="d", external_record_id="d", record_type=RecordType.DRIVE),
    ],
    ids=lambda r: type(r).__name__,
)
def test_round_trip_loses_nothing(record: Record) -> None:
    base, type_doc = record.to_documents()
    back = record_from_documents(base, type_doc)
    assert type(back) is type(record)
    assert back == record
    assert back.to_documents() == (base, type_doc)


def test_mail_addresses_are_stored_as_the_playbook_names_them() -> None:
    _, doc = MailRecord(
        record_name="s", external_record_id="m", from_email="a@x", to_emails=["b@x"]
    ).to_documents()
    assert doc is not None
    assert doc["from"] == "a@x"
    assert doc["to"] == ["b@x"]


def test_every_typed_record_class_has_a_type_collection() -> None:
    for record_type, cls in RECORD_CLASS_BY_TYPE.items():
        assert cls.type_collection, record_type


def test_default_indexing_status_is_queued() -> None:
    assert playbook_file_record().indexing_status is ProgressStatus.QUEUED


def test_kafka_payload_has_the_reference_fields() -> None:
    payload = playbook_file_record().to_kafka_record()
    for key in (
        "recordId",
        "orgId",
        "recordName",
        "recordType",
        "connectorName",
        "mimeType",
        "extension",
        "isFile",
    ):
        assert key in payload
    assert payload["recordId"] == "rec-002"
    assert payload["connectorName"] == "ONEDRIVE"


@pytest.mark.parametrize(
    ("model", "key", "value"),
    [
        (
            RecordGroup(name="My Drive", external_group_id="drive-abc", group_type=RecordGroupType.DRIVE),
            "groupName",
            "My Drive",
        ),
        (AppUser(app_name=Connectors.ONEDRIVE, source_user_id="u-1", email="a@x.test"), "userId", "u-1"),
        (
            AppUserGroup(app_name=Connectors.ONEDRIVE, source_user_group_id="g-1", name="Eng"),
            "externalGroupId",
            "g-1",
        ),
        (AppRole(app_name=Connectors.JIRA, source_role_id="r-1", name="Admins"), "externalRoleId", "r-1"),
        (User(email="a@x.test", full_name="Ada"), "fullName", "Ada"),
        (Organization(name="Acme"), "registeredName", "Acme"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else v,
)
def test_identity_models_round_trip(model: object, key: str, value: str) -> None:
    doc = model.to_document()  # type: ignore[attr-defined]
    assert doc[key] == value
    assert type(model).from_document(doc) == model


def test_permission_as_the_playbook_writes_it() -> None:
    owner = Permission(email="john@company.com", type=PermissionType.OWNER, entity_type=EntityType.USER)
    group = Permission(entity_type=EntityType.GROUP, external_id="internal-c1", type=PermissionType.READ)
    edge = owner.to_edge_document("users/u1", "records/r1")
    assert edge["role"] == "OWNER"
    assert edge["type"] == "USER"
    assert (edge["_from"], edge["_to"]) == ("users/u1", "records/r1")
    assert group.type.value == "READER"
    assert owner.to_arango_permission("u1", "users", "r1", "records")["_to"] == "records/r1"


def test_enum_values_match_the_reference() -> None:
    assert {p.value for p in PermissionType} == {"READER", "WRITER", "OWNER", "COMMENTER", "OTHERS"}
    assert {"USER", "GROUP", "ROLE", "DOMAIN", "ORG", "ANYONE", "ANYONE_WITH_LINK"} <= {
        e.value for e in EntityType
    }
    assert RecordRelations.PARENT_CHILD.value == "PARENT_CHILD"
    assert Connectors.SHAREPOINT_ONLINE.value == "SHAREPOINT ONLINE"
    assert Connectors.GOOGLE_DRIVE is Connectors.DRIVE
