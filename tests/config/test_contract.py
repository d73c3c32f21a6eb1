"""One contract for every config store backend: sqlite, postgres, etcd (see conftest.py)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from headwater.config.base import ConfigStore
from headwater.config.crypto import TOKEN_PREFIX, SecretBox
from headwater.errors import SecretDecryptionError
from tests.config.helpers import run

SECRET = "s3cr3t-Ünïcødé-🔑-client-secret"
DOC: dict[str, Any] = {
    "auth": {
        "authType": "OAUTH",
        "clientId": "app-123",
        "clientSecret": SECRET,
        "scopes": ["Files.Read.All", "Sites.Read.All"],
    },
    "sync": {"selectedStrategy": "SCHEDULED", "scheduledConfig": {"intervalMinutes": 60}, "batchSize": 50},
    "filters": {"sync": {"values": {}}, "indexing": {"values": {}}},
    "credentials": None,
    "enabled": True,
    "ratio": 0.25,
    "name": "Ålesund — 東京 ✓",
}

MakeStore = Callable[..., ConfigStore]


def connector_key(cid: str) -> str:
    return f"/services/connectors/{cid}/config"


def test_round_trip_nested_unicode(config_store: ConfigStore) -> None:
    async def body() -> None:
        async with config_store as s:
            assert await s.get(connector_key("c1")) is None
            await s.put(connector_key("c1"), DOC)
            assert await s.get(connector_key("c1")) == DOC
            assert await s.get_config(connector_key("c1")) == DOC
            assert await s.get_config(connector_key("nope"), {"d": 1}) == {"d": 1}
            await s.set_config("/services/kafka", {"brokers": ["a:9092"]})
            assert await s.get("/services/kafka") == {"brokers": ["a:9092"]}

    run(body())


def test_values_survive_reconnect(make_store: MakeStore) -> None:
    async def body() -> None:
        async with make_store() as s:
            await s.put(connector_key("c1"), DOC)
        async with make_store() as s:
            assert await s.get(connector_key("c1")) == DOC

    run(body())


def test_overwrite(config_store: ConfigStore) -> None:
    async def body() -> None:
        async with config_store as s:
            await s.put(connector_key("c1"), {"v": 1})
            await s.put(connector_key("c1"), {"v": 2, "more": [1, 2]})
            assert await s.get(connector_key("c1")) == {"v": 2, "more": [1, 2]}
            assert await s.list_keys("/services/") == [connector_key("c1")]

    run(body())


def test_delete(config_store: ConfigStore) -> None:
    async def body() -> None:
        async with config_store as s:
            await s.put(connector_key("c1"), DOC)
            assert await s.delete(connector_key("c1")) is True
            assert await s.get(connector_key("c1")) is None
            assert await s.delete(connector_key("c1")) is False
            assert await s.delete_config(connector_key("never")) is False

    run(body())


def test_list_keys_by_prefix(config_store: ConfigStore) -> None:
    async def body() -> None:
        async with config_store as s:
            for cid in ("b", "a", "c"):
                await s.put(connector_key(cid), {"id": cid})
            await s.put("/services/kafka", {"brokers": []})
            await s.put("/services/connectorsx/other", {"x": 1})
            await s.put("/other/thing", {"y": 2})
            expected = [connector_key(c) for c in ("a", "b", "c")]
            assert await s.list_keys("/services/connectors/") == expected
            assert await s.list_keys("/services/connectors") == [
                *expected,
                "/services/connectorsx/other",
            ]
            assert await s.list_keys("/services/connectors/b/") == [connector_key("b")]
            assert await s.list_keys("/nothing/") == []
            assert await s.list_keys("/") == sorted(
                [*expected, "/services/kafka", "/services/connectorsx/other", "/other/thing"]
            )
            assert await s.list_keys() == await s.list_keys("/")

    run(body())


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "services/x",
        "/",
        "//x",
        "/a//b",
        "/a/",
        "/a/../b",
        "/..",
        "/a/./b",
        "/a\x00b",
        "/a\nb",
        "/" + "x" * 1024,
    ],
)
def test_invalid_keys_rejected(config_store: ConfigStore, bad: str) -> None:
    async def body() -> None:
        async with config_store as s:
            with pytest.raises(ValueError, match="starts with '/'"):
                await s.put(bad, {"a": 1})
            with pytest.raises(ValueError, match="starts with '/'"):
                await s.get(bad)
            with pytest.raises(ValueError, match="starts with '/'"):
                await s.delete(bad)

    run(body())


@pytest.mark.parametrize("bad", ["", "services/", "/a//", "/../", "/a/../"])
def test_invalid_prefixes_rejected(config_store: ConfigStore, bad: str) -> None:
    async def body() -> None:
        async with config_store as s:
            with pytest.raises(ValueError, match="starts with '/'"):
                await s.list_keys(bad)

    run(body())


@pytest.mark.parametrize("value", [["a list"], "text", 3, None])
def test_value_must_be_a_dict(config_store: ConfigStore, value: Any) -> None:
    async def body() -> None:
        async with config_store as s:
            with pytest.raises(TypeError, match="must be a dict"):
                await s.put("/services/x", value)

    run(body())


def test_unserialisable_value_rejected_without_echoing_it(config_store: ConfigStore) -> None:
    async def body() -> None:
        async with config_store as s:
            with pytest.raises(TypeError, match="not JSON-serialisable") as info:
                await s.put("/services/x", {"secret": SECRET, "bad": {1, 2}})
            assert SECRET not in str(info.value)
            assert await s.get("/services/x") is None

    run(body())


def test_stored_value_is_ciphertext(config_store: ConfigStore) -> None:
    async def body() -> None:
        async with config_store as s:
            await s.put(connector_key("c1"), DOC)
            raw = await s._raw_get(connector_key("c1"))
            assert raw is not None
            assert raw.startswith(TOKEN_PREFIX)
            for needle in (SECRET, "clientSecret", "app-123", "Files.Read.All"):
                assert needle not in raw
            # two writes of the same value differ (random nonce)
            await s.put(connector_key("c1"), DOC)
            assert await s._raw_get(connector_key("c1")) != raw

    run(body())


def test_wrong_key_gives_clear_error(make_store: MakeStore) -> None:
    async def body() -> None:
        async with make_store() as s:
            await s.put(connector_key("c1"), DOC)
        other = SecretBox.generate()
        async with make_store(other) as s:
            assert await s.list_keys("/services/") == [connector_key("c1")]
            with pytest.raises(SecretDecryptionError) as info:
                await s.get(connector_key("c1"))
        message = str(info.value)
        assert connector_key("c1") in message
        assert "does not match" in message
        assert other.fingerprint in message
        assert SECRET not in message
        assert "clientSecret" not in message

    run(body())


def test_tampered_value_gives_clear_error(config_store: ConfigStore) -> None:
    async def body() -> None:
        async with config_store as s:
            await s.put(connector_key("c1"), DOC)
            raw = await s._raw_get(connector_key("c1"))
            assert raw is not None
            body_b64 = raw[len(TOKEN_PREFIX) :]
            data = bytearray(base64.urlsafe_b64decode(body_b64 + "=" * (-len(body_b64) % 4)))
            data[20] ^= 0x01  # one bit of the ciphertext
            tampered = TOKEN_PREFIX + base64.urlsafe_b64encode(bytes(data)).decode().rstrip("=")
            await s._raw_put(connector_key("c1"), tampered)
            with pytest.raises(SecretDecryptionError, match="altered") as info:
                await s.get(connector_key("c1"))
            assert SECRET not in str(info.value)
            for garbage in ("plain text", TOKEN_PREFIX + "AAAA", TOKEN_PREFIX + "!!not base64!!", raw[:-10]):
                await s._raw_put(connector_key("c1"), garbage)
                with pytest.raises(SecretDecryptionError, match=connector_key("c1")):
                    await s.get(connector_key("c1"))

    run(body())


def test_value_moved_to_another_key_fails(config_store: ConfigStore) -> None:
    async def body() -> None:
        async with config_store as s:
            await s.put(connector_key("c1"), DOC)
            raw = await s._raw_get(connector_key("c1"))
            assert raw is not None
            await s._raw_put(connector_key("c2"), raw)
            with pytest.raises(SecretDecryptionError) as info:
                await s.get(connector_key("c2"))
            assert connector_key("c2") in str(info.value)
            assert SECRET not in str(info.value)
            assert await s.get(connector_key("c1")) == DOC

    run(body())
