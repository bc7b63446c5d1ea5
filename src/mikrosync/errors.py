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


class UnknownReference(InvalidInput):
    """A field names an object that does not exist in the caller's tenant (e.g. `router_id`).

    An InvalidInput for the console and CSV import, which show it beside the field; the API
    answers 404, because no request schema can say which ids exist: a 422 there would call
    a request the schema allows malformed (schemathesis' positive-data check)."""


class StateConflict(InvalidInput):
    """A well-formed value that the current state of the data refuses (a package of another
    service, a static IP for a subscriber that is not static). An InvalidInput for the console
    and CSV import; the API answers 409, as for any other clash with existing data."""
