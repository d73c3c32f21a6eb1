"""Connector filters (reference §2.8): what to fetch (sync) and what to index (indexing).

A connector declares filter fields with the builder; the user's choices are stored in the instance
config (``/services/connectors/{id}/config`` -> ``filters.sync.values`` / ``filters.indexing.values``)
as ``{"<key>": {"type": "...", "operator": "...", "value": ...}}``. ``load_connector_filters`` turns
them into two ``FilterCollection`` objects. Stored values are user input: an entry that does not
parse is logged (key and reason, never the value) and skipped; loading never raises for one.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)

MS_PER_DAY = 86_400_000


class FilterType(StrEnum):
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    LIST = "list"
    MULTISELECT = "multiselect"
    NUMBER = "number"


class FilterCategory(StrEnum):
    SYNC = "sync"  # applied at the source: what to fetch
    INDEXING = "indexing"  # applied per record: whether to index it automatically


class OptionSourceType(StrEnum):
    MANUAL = "manual"  # the user types values
    STATIC = "static"  # the field's own options list
    DYNAMIC = "dynamic"  # fetched from the connector's get_filter_options (list/multiselect only)


class FilterOperator(StrEnum):
    """Every operator; ``OPERATORS_BY_TYPE`` says which a filter type allows."""

    # string / boolean
    IS = "is"
    IS_NOT = "is_not"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"
    CONTAINS = "contains"
    DOES_NOT_CONTAIN = "does_not_contain"
    # datetime
    LAST_7_DAYS = "last_7_days"
    LAST_14_DAYS = "last_14_days"
    LAST_30_DAYS = "last_30_days"
    LAST_90_DAYS = "last_90_days"
    LAST_180_DAYS = "last_180_days"
    LAST_365_DAYS = "last_365_days"
    IS_AFTER = "is_after"
    IS_BEFORE = "is_before"
    IS_BETWEEN = "is_between"
    # list / multiselect
    IN = "in"
    NOT_IN = "not_in"
    # number (and IS_BETWEEN)
    GREATER_THAN_OR_EQUAL = "greater_than_or_equal"
    GREATER_THAN = "greater_than"
    EQUAL = "equal"
    LESS_THAN = "less_than"
    LESS_THAN_OR_EQUAL = "less_than_or_equal"


_OP = FilterOperator
OPERATORS_BY_TYPE: dict[FilterType, tuple[FilterOperator, ...]] = {
    FilterType.STRING: (
        _OP.IS,
        _OP.IS_NOT,
        _OP.IS_EMPTY,
        _OP.IS_NOT_EMPTY,
        _OP.CONTAINS,
        _OP.DOES_NOT_CONTAIN,
    ),
    FilterType.BOOLEAN: (_OP.IS, _OP.IS_NOT),
    FilterType.DATETIME: (
        _OP.LAST_7_DAYS,
        _OP.LAST_14_DAYS,
        _OP.LAST_30_DAYS,
        _OP.LAST_90_DAYS,
        _OP.LAST_180_DAYS,
        _OP.LAST_365_DAYS,
        _OP.IS_AFTER,
        _OP.IS_BEFORE,
        _OP.IS_BETWEEN,
    ),
    FilterType.LIST: (_OP.IN, _OP.NOT_IN),
    FilterType.MULTISELECT: (_OP.IN, _OP.NOT_IN),
    FilterType.NUMBER: (
        _OP.IS_BETWEEN,
        _OP.GREATER_THAN_OR_EQUAL,
        _OP.GREATER_THAN,
        _OP.EQUAL,
        _OP.LESS_THAN,
        _OP.LESS_THAN_OR_EQUAL,
    ),
}
DEFAULT_OPERATOR: dict[FilterType, FilterOperator] = {
    FilterType.STRING: _OP.IS,
    FilterType.BOOLEAN: _OP.IS,
    FilterType.DATETIME: _OP.IS_AFTER,
    FilterType.LIST: _OP.IN,
    FilterType.MULTISELECT: _OP.IN,
    FilterType.NUMBER: _OP.EQUAL,
}


def default_value_for(filter_type: FilterType) -> Any:
    """The default value of a filter type (a fresh list for list types)."""
    return {
        FilterType.STRING: "",
        FilterType.BOOLEAN: True,
        FilterType.DATETIME: None,
        FilterType.LIST: [],
        FilterType.MULTISELECT: [],
        FilterType.NUMBER: None,
    }[filter_type]


RELATIVE_DAYS: dict[FilterOperator, int] = {
    _OP.LAST_7_DAYS: 7,
    _OP.LAST_14_DAYS: 14,
    _OP.LAST_30_DAYS: 30,
    _OP.LAST_90_DAYS: 90,
    _OP.LAST_180_DAYS: 180,
    _OP.LAST_365_DAYS: 365,
}
_VALUELESS = frozenset({_OP.IS_EMPTY, _OP.IS_NOT_EMPTY, *RELATIVE_DAYS})

# legacy operator spellings stored by older configs -> the operator per type
_LEGACY_OPERATORS: dict[str, dict[FilterType, FilterOperator]] = {
    "equals": {FilterType.STRING: _OP.IS, FilterType.BOOLEAN: _OP.IS, FilterType.NUMBER: _OP.EQUAL},
    "not_equals": {FilterType.STRING: _OP.IS_NOT, FilterType.BOOLEAN: _OP.IS_NOT},
}


class SyncFilterKey(StrEnum):
    MODIFIED = "modified"
    CREATED = "created"
    RECEIVED_DATE = "received_date"
    SPACE_KEYS = "space_keys"
    FOLDER_IDS = "folder_ids"
    FOLDERS = "folders"
    CUSTOM_FOLDERS = "custom_folders"
    PROJECT_IDS = "project_ids"
    PROJECT_KEYS = "project_keys"
    SITE_IDS = "site_ids"
    SITE_NAMES = "site_names"
    CHANNEL_IDS = "channel_ids"
    CHANNEL_TYPES = "channel_types"
    BOOK_IDS = "book_ids"
    GROUP_IDS = "group_ids"
    ORG_IDS = "org_ids"
    REPO_IDS = "repo_ids"
    CONTENT_STATUS = "content_status"
    FILE_EXTENSIONS = "file_extensions"
    MAX_FILE_SIZE = "max_file_size"
    PAGE_IDS = "page_ids"
    DRIVE_IDS = "drive_ids"
    PAGE_NAMES = "page_names"
    BLOGPOST_IDS = "blogpost_ids"
    OWNER_IDS = "owner_ids"
    CREATED_BY = "created_by"
    USERS = "users"
    GROUPS = "groups"


class IndexingFilterKey(StrEnum):
    ENABLE_MANUAL_SYNC = "enable_manual_sync"
    SPACES = "spaces"
    FOLDERS = "folders"
    PROJECTS = "projects"
    SITES = "sites"
    CHANNELS = "channels"
    LISTS = "lists"
    PAGES = "pages"
    DATABASES = "databases"
    BLOGPOSTS = "blogposts"
    FILES = "files"
    DOCUMENTS = "documents"
    EMAILS = "emails"
    MAILS = "mails"
    MESSAGES = "messages"
    DIRECT_MESSAGES = "direct_messages"
    GROUP_DIRECT_MESSAGES = "group_direct_messages"
    ISSUES = "issues"
    TICKETS = "tickets"
    GROUP_CONVERSATIONS = "group_conversations"
    WEBPAGES = "webpages"
    IMAGES = "images"
    VIDEOS = "videos"
    INDEX_STAGE_TABLES = "index_stage_tables"
    INDEX_STAGE_VIEWS = "index_stage_views"
    INDEX_STAGE_FILES = "index_stage_files"
    MAX_ROWS_PER_TABLE = "max_rows_per_table"
    THREADS = "threads"
    BOT_MESSAGES = "bot_messages"
    LINKS = "links"
    COMMENTS = "comments"
    ATTACHMENTS = "attachments"
    PAGE_COMMENTS = "page_comments"
    PAGE_ATTACHMENTS = "page_attachments"
    BLOGPOST_COMMENTS = "blogpost_comments"
    BLOGPOST_ATTACHMENTS = "blogpost_attachments"
    ISSUE_COMMENTS = "issue_comments"
    ISSUE_ATTACHMENTS = "issue_attachments"
    MERGE_REQUESTS = "merge_requests"
    CODE_FILES = "code_files"
    KNOWLEDGE_BASE = "knowledge_base"
    SHARED = "shared"
    SHARED_WITH_ME = "shared_with_me"


@dataclass(frozen=True)
class FilterOption:
    id: str
    label: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "label": self.label}


@dataclass
class FilterOptionsResponse:
    """One page of options for a dynamic filter field (``BaseConnector.get_filter_options``)."""

    success: bool
    options: list[FilterOption] = field(default_factory=list)
    page: int = 1
    limit: int = 20
    has_more: bool = False
    cursor: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "success": self.success,
            "options": [o.to_dict() for o in self.options],
            "page": self.page,
            "limit": self.limit,
            "hasMore": self.has_more,
        }
        if self.cursor is not None:
            out["cursor"] = self.cursor
        if self.message is not None:
            out["message"] = self.message
        return out


class FilterValueError(ValueError):
    """A stored filter entry that does not parse; the message names the key, never the value."""


def _epoch_ms(raw: Any, key: str, what: str) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise FilterValueError(f"filter {key!r}: {what} must be epoch milliseconds or null")
    return int(raw)


@dataclass(frozen=True)
class Filter:
    """One parsed filter: key, type, operator and the typed value.

    Values: string -> str; boolean -> bool; list/multiselect -> list[str]; number -> int|float (a
    ``(low, high)`` tuple for ``is_between``); datetime -> ``(start_ms | None, end_ms | None)``, with
    ``last_N_days`` bounds computed relative to now when asked (``get_datetime_start``).
    """

    key: str
    type: FilterType
    operator: FilterOperator
    value: Any = None

    @classmethod
    def from_stored(cls, key: str, raw: Any) -> Filter | None:
        """Parse one stored entry. None when the operator is unset; FilterValueError when invalid."""
        if not isinstance(raw, Mapping):
            raise FilterValueError(f"filter {key!r}: an entry must be an object with type, operator, value")
        try:
            ftype = FilterType(str(raw.get("type", "")).lower())
        except ValueError:
            raise FilterValueError(f"filter {key!r}: unknown type {raw.get('type')!r}") from None
        op_raw = raw.get("operator")
        if op_raw is None or op_raw == "":
            return None  # "unset"
        if not isinstance(op_raw, str):
            raise FilterValueError(f"filter {key!r}: the operator must be a string")
        op_name = op_raw.strip().lower()
        legacy = _LEGACY_OPERATORS.get(op_name)
        if legacy is not None:
            if ftype not in legacy:
                raise FilterValueError(f"filter {key!r}: legacy operator {op_raw!r} has no {ftype} meaning")
            operator = legacy[ftype]
        else:
            try:
                operator = FilterOperator(op_name)
            except ValueError:
                raise FilterValueError(f"filter {key!r}: unknown operator {op_raw!r}") from None
        if operator not in OPERATORS_BY_TYPE[ftype]:
            allowed = ", ".join(OPERATORS_BY_TYPE[ftype])
            raise FilterValueError(f"filter {key!r}: operator {operator} is not one of {ftype}'s ({allowed})")
        value = cls._parse_value(key, ftype, operator, raw.get("value"))
        return cls(key=key, type=ftype, operator=operator, value=value)

    @staticmethod
    def _parse_value(key: str, ftype: FilterType, operator: FilterOperator, raw: Any) -> Any:
        if ftype is FilterType.DATETIME:
            if raw is None:
                if operator in RELATIVE_DAYS:
                    return (None, None)
                raise FilterValueError(f"filter {key!r}: {operator} needs a {{start, end}} value")
            if isinstance(raw, Mapping):
                start, end = raw.get("start"), raw.get("end")
            elif isinstance(raw, list | tuple) and len(raw) == 2:
                start, end = raw
            else:
                raise FilterValueError(f"filter {key!r}: a datetime value is {{start, end}} in epoch ms")
            bounds = (_epoch_ms(start, key, "start"), _epoch_ms(end, key, "end"))
            needs = {
                _OP.IS_AFTER: (True, False),
                _OP.IS_BEFORE: (False, True),
                _OP.IS_BETWEEN: (True, True),
            }.get(operator)
            if needs is not None:
                if needs[0] and bounds[0] is None:
                    raise FilterValueError(f"filter {key!r}: {operator} needs a start")
                if needs[1] and bounds[1] is None:
                    raise FilterValueError(f"filter {key!r}: {operator} needs an end")
            if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
                raise FilterValueError(f"filter {key!r}: start is after end")
            return bounds
        if operator in _VALUELESS:
            return None
        if ftype is FilterType.STRING:
            if raw is None:
                return ""
            if not isinstance(raw, str):
                raise FilterValueError(f"filter {key!r}: a string filter needs a string value")
            return raw
        if ftype is FilterType.BOOLEAN:
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            raise FilterValueError(f"filter {key!r}: a boolean filter needs true or false")
        if ftype in (FilterType.LIST, FilterType.MULTISELECT):
            if raw is None:
                return []
            if not isinstance(raw, list | tuple):
                raise FilterValueError(f"filter {key!r}: a {ftype} filter needs a list")
            items: list[str] = []
            for item in raw:
                if isinstance(item, Mapping):
                    item_id = item.get("id")
                    if item_id is None or item_id == "":
                        raise FilterValueError(f"filter {key!r}: a list item object needs an id")
                    items.append(str(item_id))
                elif isinstance(item, str):
                    items.append(item)  # legacy: plain strings
                elif isinstance(item, int | float) and not isinstance(item, bool):
                    items.append(str(item))
                else:
                    raise FilterValueError(f"filter {key!r}: list items are strings or {{id, label}}")
            return items
        # NUMBER
        if operator is _OP.IS_BETWEEN:
            if isinstance(raw, Mapping):
                low, high = raw.get("start", raw.get("min")), raw.get("end", raw.get("max"))
            elif isinstance(raw, list | tuple) and len(raw) == 2:
                low, high = raw
            else:
                raise FilterValueError(f"filter {key!r}: is_between needs two numbers")
            for bound in (low, high):
                if isinstance(bound, bool) or not isinstance(bound, int | float):
                    raise FilterValueError(f"filter {key!r}: is_between needs two numbers")
            return (low, high)
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise FilterValueError(f"filter {key!r}: a number filter needs a number")
        return raw

    # -- helpers --

    def is_empty(self) -> bool:
        if self.operator in _VALUELESS:
            return False
        if self.value is None or self.value == "" or self.value == []:
            return True
        return self.type is FilterType.DATETIME and self.value == (None, None)

    def as_list(self) -> list[str]:
        if isinstance(self.value, list):
            return list(self.value)
        return [] if self.value is None or self.value == "" else [str(self.value)]

    def get_value(self, default: Any = None) -> Any:
        return default if self.is_empty() else self.value

    def get_operator(self) -> FilterOperator:
        return self.operator

    @property
    def operator_value(self) -> str:
        return self.operator.value

    def get_datetime_bounds(self, now_ms: int | None = None) -> tuple[int | None, int | None]:
        """(start_ms, end_ms) of a datetime filter; ``last_N_days`` is (now - N days, None)."""
        if self.type is not FilterType.DATETIME:
            return (None, None)
        days = RELATIVE_DAYS.get(self.operator)
        if days is not None:
            now = int(time.time() * 1000) if now_ms is None else now_ms
            return (now - days * MS_PER_DAY, None)
        start, end = self.value if isinstance(self.value, tuple) else (None, None)
        if self.operator is _OP.IS_AFTER:
            return (start, None)
        if self.operator is _OP.IS_BEFORE:
            return (None, end)
        return (start, end)

    def get_datetime_start(self, now_ms: int | None = None) -> int | None:
        return self.get_datetime_bounds(now_ms)[0]

    def get_datetime_end(self, now_ms: int | None = None) -> int | None:
        return self.get_datetime_bounds(now_ms)[1]

    def get_datetime_iso(self, now_ms: int | None = None) -> tuple[str | None, str | None]:
        """The bounds as UTC ``YYYY-MM-DDTHH:MM:SS`` strings."""

        def iso(ms: int | None) -> str | None:
            if ms is None:
                return None
            return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")

        start, end = self.get_datetime_bounds(now_ms)
        return (iso(start), iso(end))


class FilterCollection:
    """The parsed filters of one category, by key."""

    def __init__(self, filters: Mapping[str, Filter] | None = None) -> None:
        self._filters: dict[str, Filter] = dict(filters or {})

    def get(self, key: str) -> Filter | None:
        return self._filters.get(str(key))

    def get_value(self, key: str, default: Any = None) -> Any:
        found = self.get(key)
        return default if found is None else found.get_value(default)

    def keys(self) -> list[str]:
        return list(self._filters)

    def is_enabled(self, key: str, default: bool = True) -> bool:
        """Whether `key` is on. ``enable_manual_sync`` explicitly true turns every other key off."""
        key = str(key)
        manual = self._filters.get(IndexingFilterKey.ENABLE_MANUAL_SYNC.value)
        if key != IndexingFilterKey.ENABLE_MANUAL_SYNC.value and manual is not None and _bool_of(manual):
            return False
        found = self._filters.get(key)
        if found is None:
            return default
        if found.type is FilterType.BOOLEAN:
            return _bool_of(found)
        return not found.is_empty()

    def __contains__(self, key: object) -> bool:
        return str(key) in self._filters

    def __iter__(self) -> Iterator[Filter]:
        return iter(self._filters.values())

    def __len__(self) -> int:
        return len(self._filters)

    def __repr__(self) -> str:
        return f"FilterCollection({sorted(self._filters)})"


def _bool_of(f: Filter) -> bool:
    if f.type is not FilterType.BOOLEAN or not isinstance(f.value, bool):
        return not f.is_empty()
    return f.value if f.operator is _OP.IS else not f.value


def parse_filter_values(values: Any, connector_name: str, category: str) -> FilterCollection:
    """Parse ``filters.<category>.values``; bad entries are logged and skipped, never raised."""
    if values is None:
        return FilterCollection()
    if not isinstance(values, Mapping):
        log.warning("connector %s: %s filter values are not an object; ignored", connector_name, category)
        return FilterCollection()
    parsed: dict[str, Filter] = {}
    for key, raw in values.items():
        try:
            f = Filter.from_stored(str(key), raw)
        except FilterValueError as exc:
            log.warning("connector %s: %s filter skipped: %s", connector_name, category, exc)
            continue
        if f is not None:
            parsed[str(key)] = f
    return FilterCollection(parsed)


async def load_connector_filters(
    config_service: Any, connector_name: str, connector_id: str
) -> tuple[FilterCollection, FilterCollection]:
    """(sync_filters, indexing_filters) of one connector instance; empty when there is no config or
    the instance is disabled (``enabled: false``)."""
    key = f"/services/connectors/{connector_id}/config"
    result = config_service.get_config(key)
    config = await result if inspect.isawaitable(result) else result
    if not isinstance(config, Mapping) or config.get("enabled") is False:
        return FilterCollection(), FilterCollection()
    filters = config.get("filters")
    if not isinstance(filters, Mapping):
        return FilterCollection(), FilterCollection()
    out: list[FilterCollection] = []
    for category in (FilterCategory.SYNC, FilterCategory.INDEXING):
        section = filters.get(category.value)
        values = section.get("values") if isinstance(section, Mapping) else None
        out.append(parse_filter_values(values, str(connector_name), category.value))
    return out[0], out[1]


# ---- applying filters to records -------------------------------------------------------------------

# record type -> the indexing keys that govern it (any one disabled turns automatic indexing off)
INDEXING_KEYS_BY_RECORD_TYPE: dict[str, tuple[str, ...]] = {
    "FILE": (IndexingFilterKey.FILES.value,),
    "CODE_FILE": (IndexingFilterKey.FILES.value, IndexingFilterKey.CODE_FILES.value),
    "MAIL": (IndexingFilterKey.MAILS.value, IndexingFilterKey.EMAILS.value),
    "GROUP_MAIL": (IndexingFilterKey.MAILS.value, IndexingFilterKey.EMAILS.value),
    "WEBPAGE": (IndexingFilterKey.PAGES.value, IndexingFilterKey.WEBPAGES.value),
    "CONFLUENCE_PAGE": (IndexingFilterKey.PAGES.value, IndexingFilterKey.WEBPAGES.value),
    "SHAREPOINT_PAGE": (IndexingFilterKey.PAGES.value, IndexingFilterKey.WEBPAGES.value),
    "CONFLUENCE_BLOGPOST": (IndexingFilterKey.BLOGPOSTS.value,),
    "DATABASE": (IndexingFilterKey.DATABASES.value,),
    "TICKET": (IndexingFilterKey.ISSUES.value, IndexingFilterKey.TICKETS.value),
    "CASE": (IndexingFilterKey.ISSUES.value, IndexingFilterKey.TICKETS.value),
    "TASK": (IndexingFilterKey.ISSUES.value, IndexingFilterKey.TICKETS.value),
    "MESSAGE": (IndexingFilterKey.MESSAGES.value,),
    "COMMENT": (IndexingFilterKey.COMMENTS.value,),
    "INLINE_COMMENT": (IndexingFilterKey.COMMENTS.value,),
    "LINK": (IndexingFilterKey.LINKS.value,),
    "PROJECT": (IndexingFilterKey.PROJECTS.value,),
    "PULL_REQUEST": (IndexingFilterKey.MERGE_REQUESTS.value,),
}


def _enum_value(v: Any) -> str:
    return str(getattr(v, "value", v))


def indexing_keys_for(record_type: Any) -> tuple[str, ...]:
    """The indexing filter keys that govern records of this type (empty: only manual sync does)."""
    return INDEXING_KEYS_BY_RECORD_TYPE.get(_enum_value(record_type), ())


def indexing_enabled_for(record: Any, indexing_filters: FilterCollection | None) -> bool:
    """Whether a record is indexed automatically: not when ``enable_manual_sync`` is on, nor when
    one of its type's keys (``indexing_keys_for``) is disabled. No filters: always."""
    if indexing_filters is None or not len(indexing_filters):
        return True
    manual = indexing_filters.get(IndexingFilterKey.ENABLE_MANUAL_SYNC.value)
    if manual is not None and _bool_of(manual):
        return False
    return all(indexing_filters.is_enabled(k) for k in indexing_keys_for(getattr(record, "record_type", "")))


def _extension_of(record: Any) -> str | None:
    ext = getattr(record, "extension", None)
    if not ext:
        name = str(getattr(record, "record_name", "") or "")
        ext = name.rsplit(".", 1)[1] if "." in name.strip(".") else None
    return str(ext).lower().lstrip(".") if ext else None


def _in_bounds(value: Any, f: Filter, now_ms: int | None) -> bool:
    if value is None:
        return True  # the source did not say: fetch it rather than drop it silently
    start, end = f.get_datetime_bounds(now_ms)
    return (start is None or value >= start) and (end is None or value <= end)


def _number_passes(value: float, f: Filter) -> bool:
    limit = f.value
    if f.operator is _OP.IS_BETWEEN and isinstance(limit, tuple):
        return bool(limit[0] <= value <= limit[1])
    checks = {
        _OP.GREATER_THAN_OR_EQUAL: value >= limit,
        _OP.GREATER_THAN: value > limit,
        _OP.LESS_THAN: value < limit,
        _OP.LESS_THAN_OR_EQUAL: value <= limit,
    }
    # `equal` (the number type's default operator) on a maximum means "at most"
    return bool(checks.get(f.operator, value <= limit))


def record_passes_sync_filters(
    record: Any, sync_filters: FilterCollection | None, now_ms: int | None = None
) -> bool:
    """Client-side sync filters for the common keys, for connectors whose source cannot filter:

      * ``file_extensions`` (list): ``in`` keeps only the listed extensions, ``not_in`` drops them
        (compared lower case, without the dot, from ``extension`` else the name); a file without
        an extension is kept by ``not_in`` and dropped by ``in``; folders (``is_file`` False) and
        records that are not files at all are kept;
      * ``modified`` / ``created`` (datetime): the record's ``source_updated_at`` /
        ``source_created_at`` must lie within the bounds (``last_N_days`` relative to now);
        a record without the timestamp is kept;
      * ``max_file_size`` (number, bytes): ``size_in_bytes`` compared with the operator
        (``equal``, the default, means "at most"); a record without a size is kept.

    Unset or empty filters pass. Filters that the source API can apply (a date clause in the query,
    a folder id) belong in the query instead: what is never fetched costs nothing.
    """
    if sync_filters is None or not len(sync_filters):
        return True
    is_file_like = hasattr(record, "extension") or hasattr(record, "is_file")
    ext_filter = sync_filters.get(SyncFilterKey.FILE_EXTENSIONS.value)
    if (
        ext_filter is not None
        and not ext_filter.is_empty()
        and is_file_like
        and getattr(record, "is_file", True)
    ):
        wanted = {v.lower().lstrip(".") for v in ext_filter.as_list()}
        ext = _extension_of(record)
        if ext_filter.operator is _OP.NOT_IN:
            if ext is not None and ext in wanted:
                return False
        elif ext is None or ext not in wanted:
            return False
    for key, attr in (
        (SyncFilterKey.MODIFIED.value, "source_updated_at"),
        (SyncFilterKey.CREATED.value, "source_created_at"),
    ):
        f = sync_filters.get(key)
        if (
            f is not None
            and f.type is FilterType.DATETIME
            and not f.is_empty()
            and not _in_bounds(getattr(record, attr, None), f, now_ms)
        ):
            return False
    size_filter = sync_filters.get(SyncFilterKey.MAX_FILE_SIZE.value)
    size = getattr(record, "size_in_bytes", None)
    if size_filter is None or size_filter.type is not FilterType.NUMBER or size_filter.value is None:
        return True
    return not isinstance(size, int | float) or _number_passes(size, size_filter)
