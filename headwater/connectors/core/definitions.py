"""The vocabulary of a connector declaration: auth, filter and custom fields, documentation links,
OAuth settings and the enums they use (reference §2.1-2.2). `builder.py` assembles them."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from headwater.connectors.core.filters import (
    DEFAULT_OPERATOR,
    OPERATORS_BY_TYPE,
    FilterCategory,
    FilterOperator,
    FilterOption,
    FilterType,
    OptionSourceType,
    default_value_for,
)
from headwater.errors import HeadwaterError


class ConnectorDefinitionError(HeadwaterError, ValueError):
    """A connector's builder declaration is wrong; raised at import. Names the connector and field."""


class ConnectorScope(StrEnum):
    PERSONAL = "personal"
    TEAM = "team"


class SyncStrategy(StrEnum):
    MANUAL = "MANUAL"
    SCHEDULED = "SCHEDULED"
    WEBHOOK = "WEBHOOK"


class AuthType(StrEnum):
    OAUTH = "OAUTH"
    API_TOKEN = "API_TOKEN"
    BEARER_TOKEN = "BEARER_TOKEN"
    BASIC_AUTH = "BASIC_AUTH"
    ACCESS_KEY = "ACCESS_KEY"
    ACCOUNT_KEY = "ACCOUNT_KEY"
    CONNECTION_STRING = "CONNECTION_STRING"
    OAUTH_ADMIN_CONSENT = "OAUTH_ADMIN_CONSENT"
    CUSTOM = "CUSTOM"
    NONE = "NONE"


class FieldType(StrEnum):
    TEXT = "TEXT"
    PASSWORD = "PASSWORD"
    CHECKBOX = "CHECKBOX"
    SELECT = "SELECT"
    MULTISELECT = "MULTISELECT"
    TEXTAREA = "TEXTAREA"
    NUMBER = "NUMBER"
    URL = "URL"
    EMAIL = "EMAIL"
    FILE = "FILE"


class PermissionModel(StrEnum):
    APP_LEVEL = "APP_LEVEL"  # the source has no per-record ACLs: one blanket grant
    RECORD_LEVEL = "RECORD_LEVEL"  # default, safe


class OAuthScopeType(StrEnum):
    PERSONAL_SYNC = "personal_sync"
    TEAM_SYNC = "team_sync"
    AGENT = "agent"


FIELD_USAGES = ("CONFIGURE", "AUTHENTICATE", "BOTH")
CONDITION_OPERATORS = ("equals", "not_equals", "in", "not_in")
FILE_RULE_TYPES = ("json_valid", "json_has_fields", "json_field_equals", "text_contains", "text_not_contains")
CONNECTOR_CONFIG_PATH = "/services/connectors/{connector_id}/config"
OAUTH_REDIRECT_TEMPLATE = "connectors/oauth/callback/{connector_name}"
DEFAULT_ICON_PATH = "/icons/connectors/default.svg"
_OAUTH_TYPES = (AuthType.OAUTH.value,)

# The playbook writes a FilterField's type as a UI field type; these are the filter types they mean.
FILTER_FIELD_TYPE_ALIASES: dict[str, FilterType] = {
    "STRING": FilterType.STRING,
    "TEXT": FilterType.STRING,
    "BOOLEAN": FilterType.BOOLEAN,
    "CHECKBOX": FilterType.BOOLEAN,
    "DATETIME": FilterType.DATETIME,
    "DATE": FilterType.DATETIME,
    "DATERANGE": FilterType.DATETIME,
    "LIST": FilterType.LIST,
    "TAGS": FilterType.LIST,
    "MULTISELECT": FilterType.MULTISELECT,
    "NUMBER": FilterType.NUMBER,
}


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value


@dataclass
class FileContentValidationRule:
    type: str
    required_fields: list[str] | None = None
    field: str | None = None
    value: Any = None
    pattern: str | None = None
    error_message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for key, val in (
            ("requiredFields", self.required_fields),
            ("field", self.field),
            ("value", self.value),
            ("pattern", self.pattern),
            ("errorMessage", self.error_message),
        ):
            if val is not None:
                out[key] = val
        return out


@dataclass
class AuthField:
    """A field of the auth form. ``display_name`` defaults to ``name``."""

    name: str
    display_name: str | None = None
    field_type: str = "TEXT"
    placeholder: str = ""
    description: str = ""
    required: bool = True
    default_value: Any = ""
    min_length: int = 1
    max_length: int = 1000
    is_secret: bool = False
    usage: str = "BOTH"
    accepted_file_types: list[str] = field(default_factory=list)
    validation_rules: list[FileContentValidationRule] = field(default_factory=list)
    options: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        ftype = str(_enum_value(self.field_type)).upper()
        validation: dict[str, Any] = {
            "minLength": 0 if ftype == FieldType.CHECKBOX else self.min_length,
            "maxLength": self.max_length,
        }
        if ftype == FieldType.FILE:
            validation["acceptedFileTypes"] = list(self.accepted_file_types)
            validation["validationRules"] = [r.to_dict() for r in self.validation_rules]
        out: dict[str, Any] = {
            "name": self.name,
            "displayName": self.display_name if self.display_name is not None else self.name,
            "placeholder": self.placeholder,
            "description": self.description,
            "fieldType": ftype,
            "required": self.required,
            "usage": self.usage,
            "defaultValue": self.default_value,
            "validation": validation,
            "isSecret": self.is_secret,
        }
        if self.options:
            out["options"] = list(self.options)
        return out


@dataclass
class CustomField:
    """A field of the sync section (e.g. ``batchSize``)."""

    name: str
    display_name: str | None = None
    field_type: str = "TEXT"
    description: str = ""
    required: bool = False
    default_value: Any = None
    options: list[Any] = field(default_factory=list)
    min_length: int | None = None
    max_length: int | None = None
    is_secret: bool = False
    non_editable: bool = False

    def to_dict(self) -> dict[str, Any]:
        validation: dict[str, Any] = {}
        if self.min_length is not None:
            validation["minLength"] = self.min_length
        if self.max_length is not None:
            validation["maxLength"] = self.max_length
        out: dict[str, Any] = {
            "name": self.name,
            "displayName": self.display_name if self.display_name is not None else self.name,
            "description": self.description,
            "fieldType": str(_enum_value(self.field_type)).upper(),
            "required": self.required,
            "defaultValue": self.default_value,
            "validation": validation,
            "isSecret": self.is_secret,
            "nonEditable": self.non_editable,
        }
        if self.options:
            out["options"] = list(self.options)
        return out


@dataclass
class DocumentationLink:
    title: str
    url: str
    doc_type: str = "setup"

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url, "type": self.doc_type}


@dataclass
class FilterField:
    """A filter the user can set. Two spellings are accepted:

    * reference: ``FilterField(name, display_name, filter_type=FilterType.LIST,
      category=FilterCategory.SYNC, ...)``
    * playbook: ``FilterField(name=..., display_name=..., field_type="MULTISELECT" | "DATERANGE" | ...)``
      (``field_type`` is mapped by ``FILTER_FIELD_TYPE_ALIASES``; DATERANGE is a datetime filter).

    ``option_source_type`` defaults to the hint given to ``add_filter_field`` (``"static"``, ``"dynamic"``,
    ``"manual"`` or an options endpoint URL, which means dynamic), else static when ``options`` are
    given, else manual.
    """

    name: str
    display_name: str | None = None
    filter_type: FilterType | str | None = None
    category: FilterCategory | str = FilterCategory.SYNC
    description: str = ""
    required: bool = False
    default_value: Any = None
    default_operator: FilterOperator | str | None = None
    no_implicit_operator_default: bool = False
    options: list[Any] = field(default_factory=list)
    option_source_type: OptionSourceType | str | None = None
    allowed_operators: list[FilterOperator | str] | None = None
    field_type: str | None = None
    options_endpoint: str | None = None

    def resolved_type(self) -> FilterType:
        """The filter type; ValueError (with the reason) when it is missing, unknown or contradictory."""
        declared: FilterType | None = None
        if self.filter_type is not None:
            try:
                declared = FilterType(str(_enum_value(self.filter_type)).lower())
            except ValueError:
                raise ValueError(f"unknown filter_type {self.filter_type!r}") from None
        if self.field_type is not None:
            alias = FILTER_FIELD_TYPE_ALIASES.get(str(_enum_value(self.field_type)).upper())
            if alias is None:
                known = ", ".join(FILTER_FIELD_TYPE_ALIASES)
                raise ValueError(f"unknown field_type {self.field_type!r} (one of {known})")
            if declared is not None and declared is not alias:
                raise ValueError(f"filter_type {declared} contradicts field_type {self.field_type!r}")
            declared = alias
        if declared is None:
            raise ValueError("no filter_type (or field_type) given")
        return declared

    def resolved_category(self) -> FilterCategory:
        try:
            return FilterCategory(str(_enum_value(self.category)).lower())
        except ValueError:
            raise ValueError(f"unknown category {self.category!r} (sync or indexing)") from None

    def to_dict(self, source_hint: str | None = None) -> dict[str, Any]:
        """The FilterFieldDict of §2.4; ValueError with the reason when the field is inconsistent."""
        ftype = self.resolved_type()
        type_ops = OPERATORS_BY_TYPE[ftype]
        operators: list[FilterOperator] = []
        for op in self.allowed_operators if self.allowed_operators is not None else type_ops:
            try:
                parsed = FilterOperator(str(_enum_value(op)).lower())
            except ValueError:
                raise ValueError(f"unknown operator {op!r}") from None
            if parsed not in type_ops:
                raise ValueError(
                    f"operator {parsed} is not allowed for a {ftype} filter ({', '.join(type_ops)})"
                )
            operators.append(parsed)
        if not operators:
            raise ValueError("allowed_operators is empty")
        default_op: FilterOperator | None
        if self.default_operator is not None:
            try:
                default_op = FilterOperator(str(_enum_value(self.default_operator)).lower())
            except ValueError:
                raise ValueError(f"unknown default_operator {self.default_operator!r}") from None
            if default_op not in operators:
                raise ValueError(f"default_operator {default_op} is not among its operators")
        elif self.no_implicit_operator_default:
            default_op = None
        else:
            default_op = DEFAULT_OPERATOR[ftype] if DEFAULT_OPERATOR[ftype] in operators else operators[0]
        source = self._option_source(ftype, source_hint)
        out: dict[str, Any] = {
            "name": self.name,
            "displayName": self.display_name if self.display_name is not None else self.name,
            "description": self.description,
            "filterType": ftype.value,
            "category": self.resolved_category().value,
            "required": self.required,
            "defaultValue": default_value_for(ftype) if self.default_value is None else self.default_value,
            "defaultOperator": None if default_op is None else default_op.value,
            "operators": [op.value for op in operators],
            "optionSourceType": source.value,
        }
        if self.options:
            out["options"] = [o.to_dict() if isinstance(o, FilterOption) else o for o in self.options]
        if self.no_implicit_operator_default:
            out["noImplicitOperatorDefault"] = True
        return out

    def _option_source(self, ftype: FilterType, hint: str | None) -> OptionSourceType:
        explicit = self.option_source_type
        if explicit is None and hint is not None:
            text = hint.strip()
            if text.lower() in {s.value for s in OptionSourceType}:
                explicit = text.lower()
            elif text.startswith(("http://", "https://", "/")):
                explicit = OptionSourceType.DYNAMIC
            else:
                raise ValueError(f"option source {hint!r} is not static, dynamic, manual or an endpoint URL")
        if explicit is None and self.options_endpoint:
            explicit = OptionSourceType.DYNAMIC
        if explicit is None:
            return OptionSourceType.STATIC if self.options else OptionSourceType.MANUAL
        try:
            source = OptionSourceType(str(_enum_value(explicit)).lower())
        except ValueError:
            raise ValueError(f"unknown option_source_type {explicit!r}") from None
        if source is OptionSourceType.DYNAMIC and ftype not in (FilterType.LIST, FilterType.MULTISELECT):
            raise ValueError(f"dynamic options are only for list and multiselect filters, not {ftype}")
        return source


@dataclass
class OAuthScopeConfig:
    personal_sync: list[str] = field(default_factory=list)
    team_sync: list[str] = field(default_factory=list)
    agent: list[str] = field(default_factory=list)

    def get_all_scopes(self) -> list[str]:
        return sorted({*self.personal_sync, *self.team_sync, *self.agent})


@dataclass
class OAuthConfig:
    """How to run the OAuth flow of one auth type (declared with ``with_oauth_config``)."""

    authorize_url: str
    token_url: str
    scopes: list[str] | OAuthScopeConfig = field(default_factory=list)
    redirect_uri: str = ""
    connector_name: str = ""
    token_access_type: str | None = None
    additional_params: dict[str, Any] = field(default_factory=dict)
    scope_parameter_name: str = "scope"
    token_response_path: str | None = None
    auth_fields: list[AuthField] = field(default_factory=list)

    def all_scopes(self) -> list[str]:
        return (
            self.scopes.get_all_scopes() if isinstance(self.scopes, OAuthScopeConfig) else list(self.scopes)
        )
