"""API schemas for packages. Duration can be given in days, hours and minutes (summed)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from mikrosync.http.fields import Price, RequestModel
from mikrosync.packages.models import Service
from mikrosync.routeros.value_rules import (
    PROFILE_NAME_SCHEMA,
    RATE_LIMIT_SCHEMA,
    optional,
    profile_name,
    rate_limit,
)

DEFAULT_DURATION_DAYS = 30
MINUTES_PER_DAY = 24 * 60


_DURATIONS = ("duration_days", "duration_hours", "duration_minutes")
_ZERO_DURATION: dict[str, Any] = {
    "not": {
        "anyOf": [{"required": [name], "properties": {name: {"const": 0}}} for name in _DURATIONS],
        "properties": {name: {"enum": [0, None]} for name in _DURATIONS},
    }
}
"""The duration fields given must not add up to zero (none given: the default, or unchanged)."""


class _PackageFields(RequestModel):
    model_config = ConfigDict(json_schema_extra=_ZERO_DURATION)

    duration_days: int | None = Field(default=None, ge=0, le=3650)
    duration_hours: int | None = Field(default=None, ge=0, le=24 * 3650)
    duration_minutes: int | None = Field(default=None, ge=0, le=MINUTES_PER_DAY * 3650)

    _rate_limit = field_validator("rate_limit", check_fields=False)(optional(rate_limit))
    _profile_name = field_validator("profile_name", check_fields=False)(optional(profile_name))

    def total_minutes(self) -> int | None:
        """The summed duration, or None when no duration field was given."""
        parts = (self.duration_days, self.duration_hours, self.duration_minutes)
        if all(part is None for part in parts):
            return None
        days, hours, minutes = (part or 0 for part in parts)
        return days * MINUTES_PER_DAY + hours * 60 + minutes


class PackageCreate(_PackageFields):
    name: str = Field(min_length=1, max_length=100)
    service: Service
    rate_limit: str = Field(json_schema_extra=RATE_LIMIT_SCHEMA)
    price: Price = Decimal("0")
    profile_name: str | None = Field(default=None, json_schema_extra=PROFILE_NAME_SCHEMA)


class PackageUpdate(_PackageFields):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    service: Service | None = None
    rate_limit: str | None = Field(default=None, json_schema_extra=RATE_LIMIT_SCHEMA)
    price: Price | None = None
    profile_name: str | None = Field(default=None, json_schema_extra=PROFILE_NAME_SCHEMA)


class PackageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    service: Service
    rate_limit: str
    duration_minutes: int
    price: Decimal
    profile_name: str
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_days(self) -> float:
        return round(self.duration_minutes / MINUTES_PER_DAY, 4)
