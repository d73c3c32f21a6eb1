"""Playbook path of the filters module: re-exports ``headwater.connectors.core.filters``."""

from headwater.connectors.core.filters import (
    Filter,
    FilterCategory,
    FilterCollection,
    FilterOperator,
    FilterOption,
    FilterOptionsResponse,
    FilterType,
    IndexingFilterKey,
    OptionSourceType,
    SyncFilterKey,
    load_connector_filters,
)

__all__ = [
    "Filter",
    "FilterCategory",
    "FilterCollection",
    "FilterOperator",
    "FilterOption",
    "FilterOptionsResponse",
    "FilterType",
    "IndexingFilterKey",
    "OptionSourceType",
    "SyncFilterKey",
    "load_connector_filters",
]
