"""API schemas for voucher batches and vouchers.

A voucher's password is never in a JSON answer (like every service password); it leaves the
system only on what is printed or exported for sale (the PDF sheet, the CSV export), which is
the point of a voucher.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mikrosync.http.fields import Id, RequestModel
from mikrosync.routeros.value_rules import optional
from mikrosync.routeros.value_rules import profile_name as check_profile_name
from mikrosync.vouchers.codes import DEFAULT_ALPHABET, MAX_COUNT
from mikrosync.vouchers.models import PasswordMode

DEFAULT_LOGIN_URL = "http://10.5.50.1/login"
"""RouterOS's default hotspot address; the QR code opens this with the code filled in."""
_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS = (7 * 86400, 86400, 3600, 60, 1)
_PREFIX = re.compile(r"[A-Za-z0-9]{0,16}")
_BYTES = re.compile(r"(\d+)([kKMG]?)")
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
    match = _BYTES.fullmatch(str(value).strip())
    if match is None or int(match[1]) <= 0:
        raise ValueError(f"{value!r} is not a data amount such as 500M or 2G")
    return int(match[1]) * _BYTE_UNITS[match[2]]


class VoucherBatchCreate(RequestModel):
    router_id: Id
    package_id: Id | None = None
    profile_name: str | None = Field(
        default=None, description="A hotspot user profile the router already has (no package)."
    )
    count: int = Field(ge=1, le=MAX_COUNT)
    code_length: int = Field(default=8, ge=3, le=32)
    alphabet: str = Field(default=DEFAULT_ALPHABET, max_length=128)
    prefix: str = ""
    password_mode: PasswordMode = PasswordMode.SAME
    price: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    validity: str | None = Field(
        default=None, description="Counted from the first login: 30m, 1h, 1d, 7d..."
    )
    limit_uptime: str | None = Field(default=None, description="Router-side uptime limit (1h).")
    limit_bytes_total: int | str | None = Field(
        default=None, description="Router-side data limit, in bytes or as 500M / 2G."
    )
    comment: str | None = Field(default=None, max_length=200)
    login_url: str = Field(default=DEFAULT_LOGIN_URL, max_length=300)

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
        if value is None or not value.strip():
            return None
        return routeros_duration(duration_seconds(value))

    @field_validator("limit_bytes_total")
    @classmethod
    def _bytes(cls, value: int | str | None) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
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
