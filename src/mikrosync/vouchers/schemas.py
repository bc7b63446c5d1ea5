"""API schemas for voucher batches and vouchers.

A voucher's password is never in a JSON answer (like every service password); it leaves the
system only on what is printed or exported for sale (the PDF sheet, the CSV export), which is
the point of a voucher.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from mikrosync.http.fields import Id, Price, RequestModel
from mikrosync.routeros.value_rules import PROFILE_NAME_SCHEMA, optional
from mikrosync.routeros.value_rules import profile_name as check_profile_name
from mikrosync.vouchers.codes import DEFAULT_ALPHABET, MAX_COUNT
from mikrosync.vouchers.models import PasswordMode

DEFAULT_LOGIN_URL = "http://10.5.50.1/login"
"""RouterOS's default hotspot address; the QR code opens this with the code filled in."""
# Bounded so that the longest duration, in minutes, fits the database's INTEGER.
_DURATION = re.compile(
    r"(?:([0-9]{1,3})w)?(?:([0-9]{1,4})d)?(?:([0-9]{1,5})h)?(?:([0-9]{1,6})m)?(?:([0-9]{1,7})s)?"
)
_UNITS = (7 * 86400, 86400, 3600, 60, 1)
_PREFIX = re.compile(r"[A-Za-z0-9]{0,16}")
_BYTES = re.compile(r"0*([1-9][0-9]{0,8})([kKMG]?)")
MAX_BYTES = 10**15
"""A data limit as a JSON integer (bytes): at most a petabyte."""
_BYTE_UNITS = {"": 1, "k": 1024, "K": 1024, "M": 1024**2, "G": 1024**3}
_TEXT = re.compile(r"[\x20-\x7e]*")


def duration_seconds(value: str) -> int:
    """`1h`, `1d`, `7d`, `1d12h`, `30m` -> seconds (RouterOS's own duration words)."""
    text = value.strip().replace(" ", "")
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"{value!r} is not a duration such as 30m, 1h, 1d or 7d")
    seconds = sum(int(part or 0) * unit for part, unit in zip(match.groups(), _UNITS, strict=True))
    if seconds <= 0:
        raise ValueError("the duration must be longer than zero")
    return seconds


def routeros_duration(seconds: int) -> str:
    """Seconds -> the shortest RouterOS duration text (`1d2h`, `30m`)."""
    out = []
    for unit, suffix in zip(_UNITS, "wdhms", strict=True):
        if seconds >= unit:
            out.append(f"{seconds // unit}{suffix}")
            seconds %= unit
    return "".join(out) or "0s"


def byte_count(value: str | int) -> int:
    """`500M`, `1G`, `1048576` -> bytes."""
    if isinstance(value, int):
        if not 0 < value <= MAX_BYTES:
            raise ValueError(f"a data amount in bytes is between 1 and {MAX_BYTES}")
        return value
    match = _BYTES.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a data amount such as 500M or 2G")
    return int(match[1]) * _BYTE_UNITS[match[2]]


# What the request schema states (the checks below are the same rules, server-side).
_DURATION_SCHEMA: dict[str, Any] = {
    "pattern": f"^{_DURATION.pattern}$",
    "not": {"pattern": "^[0wdhms]+$"},
}
"""A duration such as 30m, 1d12h; blank means none (a zero one is refused)."""
_BYTES_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_BYTES},
        {"type": "string", "pattern": f"^(?:|{_BYTES.pattern})$"},
        {"type": "null"},
    ]
}
_PROFILE_OR_PACKAGE: dict[str, Any] = {
    "anyOf": [
        {"required": ["package_id"], "properties": {"package_id": {"type": "integer"}}},
        {
            "required": ["profile_name"],
            "properties": {"profile_name": {"type": "string", "minLength": 1}},
        },
    ],
    "description": "Give `package_id` (a hotspot package) or `profile_name`.",
}


class VoucherBatchCreate(RequestModel):
    model_config = ConfigDict(json_schema_extra=_PROFILE_OR_PACKAGE)

    router_id: Id
    package_id: Id | None = None
    profile_name: str | None = Field(
        default=None,
        description="A hotspot user profile the router already has (no package).",
        json_schema_extra={"pattern": f"^$|{PROFILE_NAME_SCHEMA['pattern']}"},
    )
    count: int = Field(ge=1, le=MAX_COUNT)
    code_length: int = Field(default=8, ge=3, le=32)
    alphabet: str = Field(
        default=DEFAULT_ALPHABET,
        max_length=128,
        pattern=r"^[A-Za-z0-9]+$",
        description="Letters and digits; with `code_length`, enough codes for `count` (else 409)",
    )
    prefix: str = Field(default="", pattern=f"^{_PREFIX.pattern}$")
    password_mode: PasswordMode = PasswordMode.SAME
    price: Price | None = None
    validity: str | None = Field(
        default=None,
        description="Counted from the first login: 30m, 1h, 1d, 7d...",
        json_schema_extra=_DURATION_SCHEMA,
    )
    limit_uptime: str | None = Field(
        default=None,
        description="Router-side uptime limit (1h).",
        json_schema_extra=_DURATION_SCHEMA,
    )
    limit_bytes_total: Annotated[
        int | str | None,
        WithJsonSchema(_BYTES_SCHEMA),
        Field(description="Router-side data limit, in bytes or as 500M / 2G."),
    ] = None
    comment: str | None = Field(default=None, max_length=200, pattern=f"^{_TEXT.pattern}$")
    login_url: str = Field(
        default=DEFAULT_LOGIN_URL,
        max_length=300,
        json_schema_extra={"pattern": "^https?://[!-~]+$"},
    )

    _profile = field_validator("profile_name")(optional(check_profile_name, blank_is_absent=True))

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _PREFIX.fullmatch(value):
            raise ValueError("the prefix may hold up to 16 letters and digits")
        return value

    @field_validator("validity", "limit_uptime")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not _DURATION.fullmatch(value):
            raise ValueError(f"{value!r} is not a duration such as 30m, 1h, 1d or 7d")
        return routeros_duration(duration_seconds(value))

    @field_validator("limit_bytes_total")
    @classmethod
    def _bytes(cls, value: int | str | None) -> int | None:
        if value is None or value == "":
            return None
        return byte_count(value)

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str | None) -> str | None:
        if value is not None and not _TEXT.fullmatch(value):
            raise ValueError("the comment may hold printable ASCII characters only")
        return value or None

    @field_validator("login_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[\x21-\x7e]+", value):
            raise ValueError("the login URL must start with http:// or https://")
        return value

    @property
    def validity_minutes(self) -> int | None:
        return None if self.validity is None else max(1, duration_seconds(self.validity) // 60)


class VoucherBatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    router_id: int
    package_id: int | None
    profile_name: str
    count: int
    code_length: int
    prefix: str
    password_mode: str
    price: Decimal
    validity_minutes: int | None
    limit_uptime: str | None
    limit_bytes_total: int | None
    comment: str | None
    login_url: str
    status: str
    error_message: str | None
    on_router: int
    created_at: datetime
    synced_at: datetime | None
    created_by: str | None


class VoucherRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    batch_id: int
    router_id: int
    code: str
    state: str
    sold: bool
    sold_at: datetime | None
    first_login_at: datetime | None
    expires_at: datetime | None
    on_router: bool
    sync_error_message: str | None


class VoucherEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    what: str
    message: str | None
    actor: str | None
    created_at: datetime


class VoucherDetail(VoucherRead):
    events: list[VoucherEventRead]


class SalesDay(BaseModel):
    day: str
    sold: int
    total: Decimal


class BatchSales(BaseModel):
    batch_id: int
    sold: int
    total: Decimal


class SoldUpdate(RequestModel):
    sold: bool = True
