"""Filters: parsing stored values, skipping bad entries, is_enabled, and loading from the config store."""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest

from headwater.config.base import ConfigStore
from headwater.config.configuration_service import ConfigurationService
from headwater.config.crypto import SecretBox
from headwater.connectors.core.filters import (
    MS_PER_DAY,
    Filter,
    FilterCollection,
    FilterOperator,
    FilterOption,
    FilterOptionsResponse,
    FilterType,
    IndexingFilterKey,
    SyncFilterKey,
    load_connector_filters,
    parse_filter_values,
)
from tests.connectors.core.helpers import run

START, END = 1_700_000_000_000, 1_700_086_400_000


def parse(raw: Any, key: str = "k") -> Filter:
    parsed = Filter.from_stored(key, raw)
    assert parsed is not None
    return parsed


def test_datetime_value_becomes_a_tuple_of_epoch_ms() -> None:
    f = parse({"type": "datetime", "operator": "is_between", "value": {"start": START, "end": END}})
    assert f.value == (START, END)
    assert f.get_datetime_start() == START
    assert f.get_datetime_end() == END
    assert f.get_datetime_iso() == ("2023-11-14T22:13:20", "2023-11-15T22:13:20")
    after = parse({"type": "datetime", "operator": "is_after", "value": {"start": START, "end": None}})
    assert (after.get_datetime_start(), after.get_datetime_end()) == (START, None)
    before = parse({"type": "datetime", "operator": "is_before", "value": {"start": None, "end": END}})
    assert before.get_datetime_bounds() == (None, END)


def test_last_n_days_is_relative_to_now() -> None:
    f = parse({"type": "datetime", "operator": "last_7_days", "value": None})
    assert f.get_datetime_bounds(now_ms=END) == (END - 7 * MS_PER_DAY, None)
    assert not f.is_empty()


def test_list_of_id_label_objects_becomes_ids_and_legacy_strings_stay() -> None:
    f = parse(
        {
            "type": "list",
            "operator": "in",
            "value": [{"id": "S1", "label": "Space 1"}, {"id": 2, "label": "x"}],
        }
    )
    assert f.value == ["S1", "2"]
    assert f.as_list() == ["S1", "2"]
    legacy = parse({"type": "multiselect", "operator": "not_in", "value": ["pdf", "docx"]})
    assert (legacy.operator, legacy.value) == (FilterOperator.NOT_IN, ["pdf", "docx"])


def test_legacy_equals_maps_per_type() -> None:
    assert parse({"type": "string", "operator": "equals", "value": "x"}).operator is FilterOperator.IS
    assert parse({"type": "boolean", "operator": "equals", "value": True}).operator is FilterOperator.IS
    assert parse({"type": "number", "operator": "equals", "value": 3}).operator is FilterOperator.EQUAL
    assert parse({"type": "string", "operator": "not_equals", "value": "x"}).operator is FilterOperator.IS_NOT


def test_unset_operator_is_skipped_not_an_error() -> None:
    assert Filter.from_stored("k", {"type": "string", "operator": "", "value": "x"}) is None
    assert Filter.from_stored("k", {"type": "list", "value": ["a"]}) is None


def test_number_values() -> None:
    assert parse({"type": "number", "operator": "greater_than", "value": 10}).value == 10
    assert parse({"type": "number", "operator": "is_between", "value": {"start": 1, "end": 5}}).value == (
        1,
        5,
    )


BAD_ENTRIES: dict[str, Any] = {
    "not_an_object": ["in"],
    "unknown_type": {"type": "colour", "operator": "is", "value": "red"},
    "unknown_operator": {"type": "string", "operator": "resembles", "value": "x"},
    "operator_not_allowed": {"type": "list", "operator": "is_after", "value": []},
    "legacy_without_meaning": {"type": "list", "operator": "equals", "value": []},
    "datetime_not_range": {"type": "datetime", "operator": "is_after", "value": "yesterday"},
    "datetime_missing_start": {
        "type": "datetime",
        "operator": "is_between",
        "value": {"start": None, "end": END},
    },
    "datetime_reversed": {
        "type": "datetime",
        "operator": "is_between",
        "value": {"start": END, "end": START},
    },
    "list_not_list": {"type": "list", "operator": "in", "value": "a,b"},
    "list_item_without_id": {"type": "list", "operator": "in", "value": [{"label": "x"}]},
    "boolean_not_bool": {"type": "boolean", "operator": "is", "value": 3},
    "number_not_number": {"type": "number", "operator": "equal", "value": "3"},
}


@pytest.mark.parametrize("key", sorted(BAD_ENTRIES))
def test_invalid_entries_raise_from_stored(key: str) -> None:
    with pytest.raises(ValueError, match=key):
        Filter.from_stored(key, BAD_ENTRIES[key])


def test_invalid_entries_are_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    values = {**BAD_ENTRIES, "good": {"type": "list", "operator": "in", "value": ["a"]}}
    with caplog.at_level(logging.WARNING, logger="headwater.connectors.core.filters"):
        collection = parse_filter_values(values, "Acme", "sync")
    assert collection.keys() == ["good"]
    skipped = [r.getMessage() for r in caplog.records]
    assert len(skipped) == len(BAD_ENTRIES)
    assert all("Acme" in m for m in skipped)
    assert "secret-ish" not in " ".join(skipped)


def test_value_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        parse_filter_values(
            {"k": {"type": "number", "operator": "equal", "value": "secret-ish"}}, "Acme", "sync"
        )
    assert caplog.records
    assert "secret-ish" not in caplog.text


def collection(values: dict[str, Any]) -> FilterCollection:
    return parse_filter_values(values, "Acme", "indexing")


def test_is_enabled_rules() -> None:
    off = {"type": "boolean", "operator": "is", "value": False}
    on = {"type": "boolean", "operator": "is", "value": True}
    c = collection({"files": off, "pages": on, "spaces": {"type": "list", "operator": "in", "value": ["a"]}})
    assert c.is_enabled("files") is False
    assert c.is_enabled("pages") is True
    assert c.is_enabled("spaces") is True
    assert c.is_enabled("comments") is True
    assert c.is_enabled("comments", default=False) is False
    assert c.is_enabled(IndexingFilterKey.FILES) is False

    manual = collection({"enable_manual_sync": on, "pages": on})
    assert manual.is_enabled("pages") is False
    assert manual.is_enabled("comments") is False
    assert manual.is_enabled("enable_manual_sync") is True

    not_manual = collection({"enable_manual_sync": off, "pages": on})
    assert not_manual.is_enabled("pages") is True
    assert not_manual.is_enabled("enable_manual_sync") is False

    negated = collection({"files": {"type": "boolean", "operator": "is_not", "value": True}})
    assert negated.is_enabled("files") is False


def test_collection_access() -> None:
    c = parse_filter_values(
        {
            "modified": {"type": "datetime", "operator": "is_after", "value": {"start": START}},
            "folders": {"type": "list", "operator": "in", "value": []},
        },
        "Acme",
        "sync",
    )
    assert sorted(c.keys()) == ["folders", "modified"]
    assert SyncFilterKey.MODIFIED in c
    modified = c.get(SyncFilterKey.MODIFIED)
    assert modified is not None
    assert modified.type is FilterType.DATETIME
    assert c.get_value("folders", ["default"]) == ["default"]  # empty -> default
    assert c.get_value("missing", 1) == 1
    assert c.get("missing") is None
    assert len(c) == 2


def test_filter_options_response_is_camel_case() -> None:
    response = FilterOptionsResponse(
        success=True, options=[FilterOption("S1", "Space 1")], page=2, limit=10, has_more=True, cursor="c2"
    )
    assert response.to_dict() == {
        "success": True,
        "options": [{"id": "S1", "label": "Space 1"}],
        "page": 2,
        "limit": 10,
        "hasMore": True,
        "cursor": "c2",
    }
    assert "message" not in response.to_dict()


class MemoryConfigStore(ConfigStore):
    def __init__(self) -> None:
        super().__init__("memory://", SecretBox(os.urandom(32)))
        self.data: dict[str, str] = {}

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def _raw_get(self, key: str) -> str | None:
        return self.data.get(key)

    async def _raw_put(self, key: str, token: str) -> None:
        self.data[key] = token

    async def _raw_delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None

    async def _raw_list(self, prefix: str) -> list[str]:
        return [k for k in self.data if k.startswith(prefix)]


CONFIG = {
    "auth": {},
    "filters": {
        "sync": {
            "values": {
                "modified": {
                    "type": "datetime",
                    "operator": "is_after",
                    "value": {"start": START, "end": None},
                },
                "broken": {"type": "datetime", "operator": "is_after", "value": 5},
            }
        },
        "indexing": {"values": {"enable_manual_sync": {"type": "boolean", "operator": "is", "value": True}}},
    },
}


def test_load_connector_filters_through_the_configuration_service() -> None:
    async def body() -> None:
        store = MemoryConfigStore()
        service = ConfigurationService(logging.getLogger("t"), store)
        empty_sync, empty_indexing = await load_connector_filters(service, "Acme", "c-1")
        assert (len(empty_sync), len(empty_indexing)) == (0, 0)

        await service.set_config("/services/connectors/c-1/config", CONFIG)
        sync, indexing = await load_connector_filters(service, "Acme", "c-1")
        assert sync.keys() == ["modified"]
        assert sync.get_value("modified") == (START, None)
        assert indexing.is_enabled("files") is False

        await service.update_config("/services/connectors/c-1/config", {**CONFIG, "enabled": False})
        disabled = await load_connector_filters(service, "Acme", "c-1")
        assert (len(disabled[0]), len(disabled[1])) == (0, 0)
        assert await service.delete_config("/services/connectors/c-1/config") is True
        assert await service.get_config("/services/connectors/c-1/config", {"d": 1}) == {"d": 1}

    run(body())


def test_load_connector_filters_accepts_a_sync_config_reader() -> None:
    class SyncReader:
        def get_config(self, key: str) -> dict[str, Any] | None:
            return CONFIG if key == "/services/connectors/c-2/config" else None

    sync, indexing = run(load_connector_filters(SyncReader(), "Acme", "c-2"))
    assert sync.keys() == ["modified"]
    assert indexing.keys() == ["enable_manual_sync"]
