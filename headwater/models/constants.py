"""Enumerations and names of the playbook's graph model (reference §5.4), kept value-compatible."""

from __future__ import annotations

from enum import StrEnum


class CollectionNames(StrEnum):
    # node collections
    RECORDS = "records"
    RECORD_GROUPS = "recordGroups"
    SYNC_POINTS = "syncPoints"
    FILES = "files"
    MAILS = "mails"
    MESSAGES = "messages"
    WEBPAGES = "webpages"
    COMMENTS = "comments"
    TICKETS = "tickets"
    LINKS = "links"
    PROJECTS = "projects"
    USERS = "users"
    GROUPS = "groups"
    ROLES = "roles"
    ORGS = "organizations"
    APPS = "apps"
    DOMAINS = "domains"
    ANYONE = "anyone"
    # edge collections
    PERMISSION = "permissions"
    RECORD_RELATIONS = "recordRelations"
    IS_OF_TYPE = "isOfType"
    BELONGS_TO = "belongsTo"
    INHERIT_PERMISSIONS = "inheritPermissions"
    USER_APP_RELATION = "userAppRelation"
    ORG_APP_RELATION = "orgAppRelation"
    ENTITY_RELATIONS = "entityRelations"


NODE_COLLECTIONS = frozenset(
    c.value
    for c in (
        CollectionNames.RECORDS,
        CollectionNames.RECORD_GROUPS,
        CollectionNames.SYNC_POINTS,
        CollectionNames.FILES,
        CollectionNames.MAILS,
        CollectionNames.MESSAGES,
        CollectionNames.WEBPAGES,
        CollectionNames.COMMENTS,
        CollectionNames.TICKETS,
        CollectionNames.LINKS,
        CollectionNames.PROJECTS,
        CollectionNames.USERS,
        CollectionNames.GROUPS,
        CollectionNames.ROLES,
        CollectionNames.ORGS,
        CollectionNames.APPS,
        CollectionNames.DOMAINS,
        CollectionNames.ANYONE,
    )
)
EDGE_COLLECTIONS = frozenset(
    c.value
    for c in (
        CollectionNames.PERMISSION,
        CollectionNames.RECORD_RELATIONS,
        CollectionNames.IS_OF_TYPE,
        CollectionNames.BELONGS_TO,
        CollectionNames.INHERIT_PERMISSIONS,
        CollectionNames.USER_APP_RELATION,
        CollectionNames.ORG_APP_RELATION,
        CollectionNames.ENTITY_RELATIONS,
    )
)


class RecordType(StrEnum):
    FILE = "FILE"
    DRIVE = "DRIVE"
    WEBPAGE = "WEBPAGE"
    DATABASE = "DATABASE"
    DATASOURCE = "DATASOURCE"
    MESSAGE = "MESSAGE"
    MAIL = "MAIL"
    GROUP_MAIL = "GROUP_MAIL"
    TICKET = "TICKET"
    COMMENT = "COMMENT"
    INLINE_COMMENT = "INLINE_COMMENT"
    CONFLUENCE_PAGE = "CONFLUENCE_PAGE"
    CONFLUENCE_BLOGPOST = "CONFLUENCE_BLOGPOST"
    SHAREPOINT_PAGE = "SHAREPOINT_PAGE"
    SHAREPOINT_LIST = "SHAREPOINT_LIST"
    SHAREPOINT_LIST_ITEM = "SHAREPOINT_LIST_ITEM"
    SHAREPOINT_DOCUMENT_LIBRARY = "SHAREPOINT_DOCUMENT_LIBRARY"
    LINK = "LINK"
    PROJECT = "PROJECT"
    PULL_REQUEST = "PULL_REQUEST"
    MEETING = "MEETING"
    CASE = "CASE"
    TASK = "TASK"
    CODE_FILE = "CODE_FILE"
    OTHERS = "OTHERS"


class RecordGroupType(StrEnum):
    SLACK_CHANNEL = "SLACK_CHANNEL"
    SLACK_THREAD = "SLACK_THREAD"
    CONFLUENCE_SPACES = "CONFLUENCE_SPACES"
    KB = "KB"
    NOTION_WORKSPACE = "NOTION_WORKSPACE"
    DRIVE = "DRIVE"
    FOLDER = "FOLDER"  # used by the playbook's §6.3.3 example
    PROJECT = "PROJECT"
    SHAREPOINT_SITE = "SHAREPOINT_SITE"
    SHAREPOINT_SUBSITE = "SHAREPOINT_SUBSITE"
    USER_GROUP = "USER_GROUP"
    BUCKET = "BUCKET"
    FILE_SHARE = "FILE_SHARE"
    REPOSITORY = "REPOSITORY"
    MAILBOX = "MAILBOX"
    GROUP_MAILBOX = "GROUP_MAILBOX"
    WEB = "WEB"
    TASK = "TASK"
    STAGE = "STAGE"


class OriginTypes(StrEnum):
    CONNECTOR = "CONNECTOR"
    UPLOAD = "UPLOAD"


class ProgressStatus(StrEnum):
    """Indexing / parsing / extraction status of a record."""

    NOT_STARTED = "NOT_STARTED"
    PAUSED = "PAUSED"
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    FILE_TYPE_NOT_SUPPORTED = "FILE_TYPE_NOT_SUPPORTED"
    AUTO_INDEX_OFF = "AUTO_INDEX_OFF"
    EMPTY = "EMPTY"
    ENABLE_MULTIMODAL_MODELS = "ENABLE_MULTIMODAL_MODELS"


# The playbook calls the same statuses by both names.
IndexingStatus = ProgressStatus


class RecordRelations(StrEnum):
    PARENT_CHILD = "PARENT_CHILD"
    SIBLING = "SIBLING"
    ATTACHMENT = "ATTACHMENT"
    OTHERS = "OTHERS"
    LINKED_TO = "LINKED_TO"
    BLOCKS = "BLOCKS"
    DUPLICATES = "DUPLICATES"
    DEPENDS_ON = "DEPENDS_ON"
    CLONES = "CLONES"
    IMPLEMENTS = "IMPLEMENTS"
    REVIEWS = "REVIEWS"
    CAUSES = "CAUSES"
    RELATED = "RELATED"


class EntityRelations(StrEnum):
    ASSIGNED_TO = "ASSIGNED_TO"
    REPORTED_BY = "REPORTED_BY"
    CREATED_BY = "CREATED_BY"
    LEAD_BY = "LEAD_BY"
    MENTIONED_IN = "MENTIONED_IN"
    INVOLVED_IN = "INVOLVED_IN"


class Connectors(StrEnum):
    """The connector (app type) stored on records. Several members are aliases of one value."""

    GOOGLE_DRIVE = "DRIVE"
    DRIVE = "DRIVE"
    GOOGLE_DRIVE_WORKSPACE = "DRIVE WORKSPACE"
    GOOGLE_MAIL = "GMAIL"
    GMAIL = "GMAIL"
    GOOGLE_MAIL_WORKSPACE = "GMAIL WORKSPACE"
    ONEDRIVE = "ONEDRIVE"
    SHAREPOINT_ONLINE = "SHAREPOINT ONLINE"
    OUTLOOK = "OUTLOOK"
    MICROSOFT_TEAMS = "MICROSOFT TEAMS"
    NOTION = "NOTION"
    SLACK = "SLACK"
    SLACK_WORKSPACE = "SLACK WORKSPACE"
    KNOWLEDGE_BASE = "KB"
    CONFLUENCE = "CONFLUENCE"
    JIRA = "JIRA"
    GITHUB = "GITHUB"
    LINEAR = "LINEAR"
    S3 = "S3"
    WEB = "WEB"
    IMAP = "IMAP"
    LOCAL_FS = "LOCAL_FS"
    UNKNOWN = "UNKNOWN"


class AppGroups(StrEnum):
    GOOGLE_WORKSPACE = "Google Workspace"
    MICROSOFT = "Microsoft"
    ATLASSIAN = "Atlassian"
    SLACK = "Slack"
    NOTION = "Notion"
    GITHUB = "Github"
    LINEAR = "Linear"
    S3 = "S3"
    WEB = "Web"
    LOCAL_STORAGE = "Local Storage"


class EventTypes(StrEnum):
    """Record events on the `record-events` topic."""

    NEW_RECORD = "newRecord"
    UPDATE_RECORD = "updateRecord"
    DELETE_RECORD = "deleteRecord"
    REINDEX_RECORD = "reindexRecord"
    REINDEX_FAILED = "reindexFailed"
    BULK_DELETE_RECORDS = "bulkDeleteRecords"


class GraphChangeEventTypes(StrEnum):
    """Headwater's extension of the playbook's events: what changed about a record without its
    content changing. They travel on the `entity-events` topic, not `record-events`, because they
    ask for no content work (`record-events` keeps the playbook's meaning: fetch, parse, embed or
    remove). Key: the node's key; payload: `{"nodeId": "records/<key>" | "recordGroups/<key>"}`.
    Consumers of `entity-events` ignore the types they do not handle.

    - `updatePermissions`: the node's `permissions` edges or its `inheritPermissions` edges changed
      (for a record group: every record inheriting from it, transitively, is affected).
    - `updateMetadata`: a record's document changed (rename, move, URL) but not its content.
    """

    UPDATE_PERMISSIONS = "updatePermissions"
    UPDATE_METADATA = "updateMetadata"


class Priority(StrEnum):
    LOWEST = "LOWEST"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    HIGHEST = "HIGHEST"
    CRITICAL = "CRITICAL"
    BLOCKER = "BLOCKER"
    UNKNOWN = "UNKNOWN"


class Status(StrEnum):
    NEW = "NEW"
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"
    REOPENED = "REOPENED"
    PENDING = "PENDING"
    WAITING = "WAITING"
    BLOCKED = "BLOCKED"
    DONE = "DONE"
    UNKNOWN = "UNKNOWN"


class ItemType(StrEnum):
    TASK = "TASK"
    BUG = "BUG"
    STORY = "STORY"
    EPIC = "EPIC"
    FEATURE = "FEATURE"
    SUBTASK = "SUBTASK"
    INCIDENT = "INCIDENT"
    IMPROVEMENT = "IMPROVEMENT"
    QUESTION = "QUESTION"
    ISSUE = "ISSUE"
    UNKNOWN = "UNKNOWN"


class LinkPublicStatus(StrEnum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


class MimeTypes(StrEnum):
    PDF = "application/pdf"
    GMAIL = "text/gmail_content"
    GOOGLE_DOCS = "application/vnd.google-apps.document"
    GOOGLE_SHEETS = "application/vnd.google-apps.spreadsheet"
    GOOGLE_SLIDES = "application/vnd.google-apps.presentation"
    GOOGLE_DRIVE_FOLDER = "application/vnd.google-apps.folder"
    FOLDER = "text/directory"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    DOC = "application/msword"
    XLS = "application/vnd.ms-excel"
    PPT = "application/vnd.ms-powerpoint"
    CSV = "text/csv"
    TSV = "text/tab-separated-values"
    BIN = "application/octet-stream"
    HTML = "text/html"
    PLAIN_TEXT = "text/plain"
    MARKDOWN = "text/markdown"
    MDX = "text/mdx"
    JSON = "application/json"
    XML = "application/xml"
    YAML = "application/yaml"
    EML = "message/rfc822"
    BLOCKS = "application/blocks"
    UNKNOWN = "application/unknown"
    PNG = "image/png"
    JPEG = "image/jpeg"
    GIF = "image/gif"
    SVG = "image/svg+xml"
    ZIP = "application/zip"
    PYTHON = "text/x-python"
    JAVASCRIPT = "application/javascript"
    TYPESCRIPT = "application/typescript"
