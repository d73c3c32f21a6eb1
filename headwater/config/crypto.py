"""AES-256-GCM for stored config values, and where the key comes from.

Token format (what the backends store): ``hw1:`` + base64url, unpadded, of ``nonce (12 bytes) +
ciphertext + GCM tag (16 bytes)``. The associated data is the config key path, so a value copied
under another key does not decrypt. A wrong key, a tampered value or a value that is not a token at
all raises `SecretDecryptionError`; no plaintext, key or token ever goes into a message.

The key: ``HEADWATER_SECRET_KEY`` (base64 of 32 bytes) if set, else the key file
(``<data_dir>/secret.key`` unless ``HEADWATER_SECRET_KEY_FILE`` names another), which holds the same
base64 text and is created on first run with mode 0600. A key file readable by group or others,
or one that does not hold base64 of 32 bytes, is refused with a `ConfigurationError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from headwater.errors import ConfigurationError, SecretDecryptionError
from headwater.settings import Settings

TOKEN_PREFIX = "hw1:"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
ENV_VAR = "HEADWATER_SECRET_KEY"
GENERATE_HINT = 'python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"'


def key_fingerprint(key: bytes) -> str:
    """First 8 hex digits of SHA-256(key): names a key in messages without revealing it."""
    return hashlib.sha256(key).hexdigest()[:8]


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


class SecretBox:
    """Encrypts and decrypts config values with one AES-256-GCM key."""

    def __init__(self, key: bytes, *, key_hint: str = f"check {ENV_VAR} / the key file") -> None:
        if len(key) != KEY_BYTES:
            raise ConfigurationError(
                f"the encryption key must be {KEY_BYTES} bytes, not {len(key)}; generate one with: "
                f"{GENERATE_HINT}"
            )
        self._aead = AESGCM(key)
        self.fingerprint = key_fingerprint(key)
        self.key_hint = key_hint

    def __repr__(self) -> str:
        return f"SecretBox(fingerprint={self.fingerprint!r})"

    @classmethod
    def generate(cls) -> SecretBox:
        """A box with a fresh random key (tests, tools)."""
        return cls(AESGCM.generate_key(bit_length=KEY_BYTES * 8))

    def encrypt(self, plaintext: bytes, associated: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, associated)
        return TOKEN_PREFIX + _b64url_encode(nonce + sealed)

    def decrypt(self, token: str, associated: bytes) -> bytes:
        where = associated.decode("utf-8", errors="replace")
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            raise SecretDecryptionError(
                f"cannot decrypt the config value at {where!r}: it is not an encrypted Headwater value "
                f"(expected the {TOKEN_PREFIX!r} prefix); it was written by something else or altered"
            )
        try:
            raw = _b64url_decode(token[len(TOKEN_PREFIX) :])
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise SecretDecryptionError(
                f"cannot decrypt the config value at {where!r}: the stored value is malformed "
                "(truncated or altered)"
            )
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
        except InvalidTag:
            raise SecretDecryptionError(
                f"cannot decrypt the config value at {where!r}: the encryption key "
                f"(fingerprint {self.fingerprint}) does not match the one this value was written with, "
                f"or the value was altered or copied from another key; {self.key_hint}"
            ) from None


# -- where the key comes from --


def _decode_key(text: str) -> bytes | None:
    """32 bytes from base64 (standard or URL-safe alphabet), or None when it is not that."""
    cleaned = "".join(text.split())
    try:
        key = base64.b64decode(cleaned.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == KEY_BYTES else None


def _read_key_file(path: Path) -> bytes:
    try:
        st = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the key file {path}: {exc.strerror or exc}; check its owner and permissions "
            f"(or set {ENV_VAR})"
        ) from None
    if os.name == "posix" and st.st_mode & 0o077:
        raise ConfigurationError(
            f"the key file {path} is readable by other users (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {path}"
        )
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        key = None
    else:
        key = _decode_key(text)
    if key is None:
        raise ConfigurationError(
            f"the key file {path} is malformed: it must hold base64 of {KEY_BYTES} bytes on one line. "
            "If values were stored with it, restore it from a backup; a new key cannot decrypt them. "
            f"For a fresh install, delete it (a new one is created) or write one with: {GENERATE_HINT}"
        )
    return key


def _create_key_file(path: Path) -> bytes:
    """Write a fresh key to `path` atomically with mode 0600; if another process won the race, use its key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    content = base64.b64encode(key) + b"\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic, and fails if the key file appeared meanwhile
        except FileExistsError:
            return _read_key_file(path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return key
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return key


def load_or_create_key(settings: Settings) -> bytes:
    """The 32-byte key: HEADWATER_SECRET_KEY, else the key file, created with mode 0600 if missing."""
    if settings.secret_key is not None:
        key = _decode_key(settings.secret_key.get_secret_value())
        if key is None:
            raise ConfigurationError(
                f"{ENV_VAR} must be base64 of exactly {KEY_BYTES} random bytes; generate one with: "
                f"{GENERATE_HINT}"
            )
        return key
    path = settings.resolved_secret_key_file
    try:
        return _read_key_file(path) if path.exists() else _create_key_file(path)
    except ConfigurationError:
        raise
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create the key file {path}: {exc.strerror or exc}; make its directory writable, "
            f"set HEADWATER_SECRET_KEY_FILE to a writable path, or set {ENV_VAR}"
        ) from None


def key_hint(settings: Settings) -> str:
    """What to check when a value does not decrypt, for the key source `settings` selects."""
    if settings.secret_key is not None:
        return f"check {ENV_VAR} (it must be the key the values were written with)"
    return (
        f"check {ENV_VAR} / the key file {settings.resolved_secret_key_file} "
        "(it must be the key the values were written with)"
    )


def secret_box_from_settings(settings: Settings) -> SecretBox:
    """A `SecretBox` holding the key `settings` select."""
    return SecretBox(load_or_create_key(settings), key_hint=key_hint(settings))
