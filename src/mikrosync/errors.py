"""Domain errors, free of HTTP: the API maps them to status codes in `api/errors.py`."""

from __future__ import annotations


class MikrosyncError(Exception):
    """Base of every error mikrosync raises on purpose."""


class ConfigError(MikrosyncError):
    """A setting is missing or wrong; the message names the setting and says what to do."""


class NotFound(MikrosyncError):
    """The object does not exist, or belongs to another tenant (never say which)."""


class Conflict(MikrosyncError):
    """The request clashes with existing data (duplicate name, object in use)."""


class Forbidden(MikrosyncError):
    """The caller's role does not allow this action."""


class InvalidInput(MikrosyncError):
    """A value is wrong in a way only the domain can tell (e.g. a package of another service)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
