"""API schemas for routers. The API password is write-only: no Read schema carries it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mikrosync.http.fields import RequestModel
from mikrosync.routeros.tls import normalise_fingerprint
from mikrosync.routeros.value_rules import (
    HOST_SCHEMA,
    NAME_SCHEMA,
    hostname,
    optional,
    routeros_name,
    routeros_secret,
)

FINGERPRINT_PATTERN = r"^:*(?:[0-9A-Fa-f]:*){64}$"
"""64 hex digits of a SHA-256, with any ':' between them (`routeros/tls.py`)."""
ONE_TRUST_MODE = (
    "choose either tls_fingerprint (pin the certificate) or "
    "tls_insecure (accept any certificate), not both"
)


def tls_fingerprint(value: str) -> str:
    """A SHA-256 fingerprint the connection code can use (64 hex digits, `:` allowed), kept
    as typed. The pattern alone let through 64-95 characters that are not one (fuzz, 500)."""
    normalise_fingerprint(value)
    return value


def both_trust_modes(fingerprint: str | None, insecure: bool | None) -> bool:
    return bool(fingerprint) and bool(insecure)


class _RouterFields(RequestModel):
    _host = field_validator("host", check_fields=False)(optional(hostname))
    _username = field_validator("username", check_fields=False)(optional(routeros_name))
    _password = field_validator("password", check_fields=False)(optional(routeros_secret))
    _fingerprint = field_validator("tls_fingerprint", check_fields=False)(optional(tls_fingerprint))


_ONE_TRUST_MODE_SCHEMA: dict[str, Any] = {
    "not": {
        "required": ["tls_fingerprint", "tls_insecure"],
        "properties": {"tls_fingerprint": {"type": "string"}, "tls_insecure": {"const": True}},
    },
    "description": ONE_TRUST_MODE,
}


class RouterCreate(_RouterFields):
    model_config = ConfigDict(json_schema_extra=_ONE_TRUST_MODE_SCHEMA)

    name: str = Field(min_length=1, max_length=100)
    host: str = Field(json_schema_extra=HOST_SCHEMA)
    port: int = Field(default=8728, ge=1, le=65535)
    use_tls: bool = False
    tls_fingerprint: str | None = Field(default=None, max_length=95, pattern=FINGERPRINT_PATTERN)
    tls_insecure: bool = False
    username: str = Field(json_schema_extra=NAME_SCHEMA)
    password: str = Field(json_schema_extra=NAME_SCHEMA)

    @model_validator(mode="after")
    def _one_trust_mode(self) -> RouterCreate:
        if both_trust_modes(self.tls_fingerprint, self.tls_insecure):
            raise ValueError(ONE_TRUST_MODE)
        return self


class RouterUpdate(_RouterFields):
    model_config = ConfigDict(json_schema_extra=_ONE_TRUST_MODE_SCHEMA)

    name: str | None = Field(default=None, min_length=1, max_length=100)
    host: str | None = Field(default=None, json_schema_extra=HOST_SCHEMA)
    port: int | None = Field(default=None, ge=1, le=65535)
    use_tls: bool | None = None
    tls_fingerprint: str | None = Field(default=None, max_length=95, pattern=FINGERPRINT_PATTERN)
    tls_insecure: bool | None = None
    username: str | None = Field(default=None, json_schema_extra=NAME_SCHEMA)
    password: str | None = Field(default=None, json_schema_extra=NAME_SCHEMA)

    @model_validator(mode="after")
    def _one_trust_mode(self) -> RouterUpdate:
        """Both in one PATCH; with the stored one, `service.update_router` checks."""
        if both_trust_modes(self.tls_fingerprint, self.tls_insecure):
            raise ValueError(ONE_TRUST_MODE)
        return self


class RouterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    host: str = Field(json_schema_extra=HOST_SCHEMA)
    port: int
    use_tls: bool
    tls_fingerprint: str | None
    tls_insecure: bool
    username: str
    is_online: bool | None
    last_seen_at: datetime | None
    last_error: str | None
    identity: str | None
    routeros_version: str | None
    last_reconciled_at: datetime | None
    last_drift_counts: dict[str, Any]
    created_at: datetime
    updated_at: datetime
