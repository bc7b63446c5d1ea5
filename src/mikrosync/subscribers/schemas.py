"""API schemas for subscribers. The service password is write-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from mikrosync.http.fields import NO_NUL_PATTERN, Id, Page, RequestModel
from mikrosync.packages.models import Service
from mikrosync.routeros.value_rules import (
    EMAIL_OR_BLANK_SCHEMA,
    IPV4_OR_BLANK_SCHEMA,
    IPV4_SCHEMA,
    NAME_SCHEMA,
    email_address,
    ipv4_address,
    optional,
    routeros_name,
    routeros_secret,
)
from mikrosync.subscribers.models import SyncStatus

_ABSENT: dict[str, Any] = {"enum": [None, ""]}
_SERVICE_RULES: list[Any] = [
    {
        "if": {"properties": {"service": {"const": "static"}}},
        "then": {
            "required": ["static_ip"],
            "properties": {"static_ip": {"type": "string", **IPV4_SCHEMA}},
        },
        "else": {
            "required": ["password"],
            "properties": {"password": {"type": "string"}, "static_ip": _ABSENT},
        },
    },
    {
        "if": {"properties": {"service": {"not": {"const": "pppoe"}}}},
        "then": {"properties": {"remote_address": _ABSENT}},
    },
]
"""What a subscriber of each service has (`subscribers/service.py: _check_new_fields`)."""

_SERVICE_RULES_SCHEMA: dict[str, Any] = {"allOf": _SERVICE_RULES}


class _SubscriberFields(RequestModel):
    """The fields a new subscriber and a PATCH share, with their checks (written once)."""

    _username = field_validator("username", check_fields=False)(optional(routeros_name))
    _password = field_validator("password", check_fields=False)(optional(routeros_secret))
    _ips = field_validator("remote_address", "static_ip", check_fields=False)(
        optional(ipv4_address, blank_is_absent=True)
    )
    _email = field_validator("email", check_fields=False)(
        optional(email_address, blank_is_absent=True)
    )

    password: str | None = Field(default=None, json_schema_extra=NAME_SCHEMA)
    remote_address: str | None = Field(default=None, json_schema_extra=IPV4_OR_BLANK_SCHEMA)
    static_ip: str | None = Field(default=None, json_schema_extra=IPV4_OR_BLANK_SCHEMA)
    full_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, json_schema_extra=EMAIL_OR_BLANK_SCHEMA)
    address: str | None = Field(default=None, max_length=500)
    expires_at: AwareDatetime | None = None


class _Placement(RequestModel):
    """Where a new subscriber goes and who it is: set at creation, fixed afterwards."""

    router_id: Id
    package_id: Id
    service: Service
    username: str = Field(json_schema_extra=NAME_SCHEMA)


class _PackageChange(RequestModel):
    package_id: Id | None = None


# Base order puts the placement (or the package change) first, as the API always listed them.
class SubscriberCreate(_SubscriberFields, _Placement):
    """A new subscriber. By `service`: a `static` one needs `static_ip` (a password is optional);
    `pppoe` and `hotspot` ones need a `password` and have no `static_ip`; only `pppoe` ones
    may have a `remote_address` (the JSON schema states these as if/then rules)."""

    model_config = ConfigDict(json_schema_extra=_SERVICE_RULES_SCHEMA)


class SubscriberUpdate(_SubscriberFields, _PackageChange):
    """PATCH body: only the fields given change. `package_id` asks for a package change."""


class SubscriberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    router_id: int
    package_id: int
    pending_package_id: int | None
    service: Service
    username: str = Field(json_schema_extra=NAME_SCHEMA)
    remote_address: str | None
    static_ip: str | None
    full_name: str | None
    phone: str | None
    email: str | None
    address: str | None
    expires_at: datetime | None
    is_suspended: bool
    suspend_reason: str | None
    pending_removal: bool
    sync_status: SyncStatus
    sync_error_message: str | None
    last_synced_at: datetime | None
    desired_version: int
    synced_version: int
    created_at: datetime
    updated_at: datetime


class SubscriberPage(BaseModel):
    items: list[SubscriberRead]
    total: int
    page: int
    per_page: int


class SubscriberFilters(RequestModel):
    from_query = True

    sync_status: SyncStatus | None = None
    router_id: Id | None = None
    package_id: Id | None = None
    is_suspended: bool | None = None
    expired: bool | None = None
    # Not expired yet, but expiring within this many days ("expiring soon").
    expires_within_days: int | None = Field(default=None, ge=1, le=366)
    q: str | None = Field(default=None, max_length=100, pattern=NO_NUL_PATTERN)
    page: Page = 1
    per_page: int = Field(default=50, ge=1, le=500)


class SyncEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    operation: str
    outcome: str
    desired_version: int | None
    job_id: str | None
    attempt: int | None
    message: str | None
    duration_ms: int | None
    latency_ms: int | None
    actor: str | None
    created_at: datetime


class BulkRetry(RequestModel):
    """Which subscribers to retry: by default every one in `error`, on any router."""

    router_id: Id | None = None
    sync_status: SyncStatus | None = SyncStatus.ERROR


class BulkResult(BaseModel):
    count: int
    subscriber_ids: list[int]
