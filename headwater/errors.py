"""The errors Headwater raises on purpose. Each message says what to do about it."""

from __future__ import annotations


class HeadwaterError(Exception):
    """Base of every error Headwater raises deliberately."""


class ConfigurationError(HeadwaterError):
    """A setting is missing or wrong: the message names the setting and a valid value."""


class MissingDependencyError(ConfigurationError):
    """An optional backend was chosen but its package is not installed."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what} needs an optional package: run  pip install 'headwater[{extra}]'")
        self.extra = extra


class BackendUnavailableError(HeadwaterError):
    """A server backend could not be reached."""


class NotFoundError(HeadwaterError):
    """A document the caller named does not exist."""


class SecretDecryptionError(HeadwaterError):
    """A stored secret could not be decrypted: wrong key or tampered value."""
