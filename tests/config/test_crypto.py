"""The cipher and where its key comes from."""

from __future__ import annotations

import base64
import os
import socket
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from headwater.config.crypto import (
    GENERATE_HINT,
    TOKEN_PREFIX,
    SecretBox,
    key_fingerprint,
    load_or_create_key,
    secret_box_from_settings,
)
from headwater.config.registry import config_store_from_settings, open_config_store
from headwater.errors import BackendUnavailableError, ConfigurationError, SecretDecryptionError
from headwater.settings import Settings
from tests.config.helpers import run

AD = b"/services/connectors/c1/config"


def settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", **kw)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HEADWATER_SECRET_KEY", "HEADWATER_SECRET_KEY_FILE", "HEADWATER_CONFIG_URL"):
        monkeypatch.delenv(name, raising=False)


# -- the cipher --


def test_round_trip_and_token_format() -> None:
    box = SecretBox.generate()
    token = box.encrypt(b"hello \xe2\x9c\x93", AD)
    assert token.startswith(TOKEN_PREFIX)
    body = token[len(TOKEN_PREFIX) :]
    assert "=" not in body
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert len(raw) == 12 + len(b"hello \xe2\x9c\x93") + 16
    assert box.decrypt(token, AD) == b"hello \xe2\x9c\x93"
    assert box.encrypt(b"x", AD) != box.encrypt(b"x", AD)


def test_other_associated_data_fails() -> None:
    box = SecretBox.generate()
    token = box.encrypt(b"pw", AD)
    with pytest.raises(SecretDecryptionError, match="/services/connectors/c2/config"):
        box.decrypt(token, b"/services/connectors/c2/config")


def test_wrong_key_message_names_key_path_and_hint_not_secrets() -> None:
    key = os.urandom(32)
    token = SecretBox(key).encrypt(b"the-plaintext", AD)
    other = SecretBox(os.urandom(32), key_hint="check the key file /x/secret.key")
    with pytest.raises(SecretDecryptionError) as info:
        other.decrypt(token, AD)
    msg = str(info.value)
    assert AD.decode() in msg
    assert "does not match the one this value was written with, or the value was altered" in msg
    assert "/x/secret.key" in msg
    assert other.fingerprint in msg
    assert "the-plaintext" not in msg
    assert token not in msg
    assert base64.b64encode(key).decode() not in msg
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_fingerprint_and_repr_do_not_reveal_the_key() -> None:
    key = os.urandom(32)
    box = SecretBox(key)
    assert box.fingerprint == key_fingerprint(key)
    assert len(box.fingerprint) == 8
    assert base64.b64encode(key).decode() not in repr(box)
    assert key.hex() not in repr(box)


def test_key_must_be_32_bytes() -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        SecretBox(b"short")


# -- where the key comes from --


def test_key_file_created_0600_and_reused(tmp_path: Path) -> None:
    s = settings(tmp_path)
    path = s.resolved_secret_key_file
    assert not path.exists()
    key = load_or_create_key(s)
    assert len(key) == 32
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert base64.b64decode(path.read_text().strip()) == key
    assert load_or_create_key(s) == key
    assert load_or_create_key(settings(tmp_path)) == key
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temp files left behind


def test_key_file_0600_despite_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        key = load_or_create_key(settings(tmp_path))
    finally:
        os.umask(old)
    path = settings(tmp_path).resolved_secret_key_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(settings(tmp_path)) == key


def test_explicit_key_file_path(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "hw.key"
    s = settings(tmp_path, secret_key_file=path)
    key = load_or_create_key(s)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(s) == key
    assert not (tmp_path / "data" / "secret.key").exists()


def test_env_key_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file_key = load_or_create_key(settings(tmp_path))
    env_key = os.urandom(32)
    monkeypatch.setenv("HEADWATER_SECRET_KEY", base64.b64encode(env_key).decode())
    s = Settings(data_dir=tmp_path / "data")
    assert load_or_create_key(s) == env_key != file_key
    # URL-safe base64 is accepted as well
    s2 = settings(tmp_path, secret_key=SecretStr(base64.urlsafe_b64encode(env_key).decode()))
    assert load_or_create_key(s2) == env_key


def test_env_key_does_not_create_a_key_file(tmp_path: Path) -> None:
    s = settings(tmp_path, secret_key=SecretStr(base64.b64encode(os.urandom(32)).decode()))
    load_or_create_key(s)
    assert not s.resolved_secret_key_file.exists()


@pytest.mark.parametrize(
    "bad",
    [
        base64.b64encode(os.urandom(16)).decode(),
        base64.b64encode(os.urandom(33)).decode(),
        "not base64 at all!",
        "",
    ],
)
def test_bad_env_key(tmp_path: Path, bad: str) -> None:
    s = settings(tmp_path, secret_key=SecretStr(bad))
    with pytest.raises(ConfigurationError) as info:
        load_or_create_key(s)
    msg = str(info.value)
    assert "HEADWATER_SECRET_KEY" in msg
    assert GENERATE_HINT in msg
    if bad:
        assert bad not in msg


@pytest.mark.parametrize(
    "content", [b"", b"garbage\n", base64.b64encode(os.urandom(16)) + b"\n", b"\xff\xfe"]
)
def test_malformed_key_file_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "data" / "secret.key"
    path.parent.mkdir()
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="malformed") as info:
        load_or_create_key(settings(tmp_path))
    assert str(path) in str(info.value)
    assert path.read_bytes() == content  # never overwritten


def test_key_file_readable_by_others_refused(tmp_path: Path) -> None:
    s = settings(tmp_path)
    load_or_create_key(s)
    path = s.resolved_secret_key_file
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600") as info:
        load_or_create_key(s)
    assert path.read_text().strip() not in str(info.value)


def test_box_from_settings_hint_names_the_key_file(tmp_path: Path) -> None:
    s = settings(tmp_path)
    token = SecretBox.generate().encrypt(b"x", AD)
    with pytest.raises(SecretDecryptionError) as info:
        secret_box_from_settings(s).decrypt(token, AD)
    assert "HEADWATER_SECRET_KEY" in str(info.value)
    assert str(s.resolved_secret_key_file) in str(info.value)


# -- wiring from settings --


def test_default_settings_give_the_embedded_store(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store = config_store_from_settings(s)
    assert type(store).__name__ == "SqliteConfigStore"

    async def body() -> None:
        store = await open_config_store(s)
        try:
            await store.put("/services/connectors/c1/config", {"auth": {"clientSecret": "pw"}})
        finally:
            await store.close()
        store = await open_config_store(settings(tmp_path))
        try:
            assert await store.get("/services/connectors/c1/config") == {"auth": {"clientSecret": "pw"}}
        finally:
            await store.close()

    run(body())
    assert (tmp_path / "data" / "headwater.db").exists()
    assert stat.S_IMODE((tmp_path / "data" / "secret.key").stat().st_mode) == 0o600


def test_unknown_scheme(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="etcd://"):
        config_store_from_settings(settings(tmp_path, config_url="redis://localhost"))


def test_unreachable_etcd_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        s = settings(tmp_path, config_url=f"etcd://127.0.0.1:{port}")

        async def body() -> None:
            with pytest.raises(BackendUnavailableError) as info:
                await open_config_store(s)
            msg = str(info.value)
            assert f"127.0.0.1:{port}" in msg
            assert "\n" not in msg
            assert "start etcd" in msg

        run(body())


def test_unreachable_postgres(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        s = settings(tmp_path, config_url=f"postgresql://user:hunter2@127.0.0.1:{port}/db?schema=x")

        async def body() -> None:
            with pytest.raises(BackendUnavailableError) as info:
                await open_config_store(s)
            assert f"127.0.0.1:{port}" in str(info.value)
            assert "hunter2" not in str(info.value)

        run(body())
