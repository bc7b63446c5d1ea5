"""API schemas for tenants, staff users and tokens."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mikrosync.http.fields import RequestModel
from mikrosync.routeros.value_rules import EMAIL_SCHEMA, email_address
from mikrosync.tenants.models import Role

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def check_slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(
            "slug must be 1-63 lowercase letters, digits or '-', starting with a letter or digit"
        )
    return value


class TenantCreate(RequestModel):
    slug: str
    name: str = Field(min_length=1, max_length=200)

    _slug = field_validator("slug")(check_slug)


class TenantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    is_active: bool
    suspension_profile: str | None
    created_at: datetime


class StaffUserCreate(RequestModel):
    email: str = Field(json_schema_extra=EMAIL_SCHEMA)
    password: str = Field(min_length=8, max_length=256)
    role: Role = Role.VIEWER

    _email = field_validator("email")(email_address)


class StaffUserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    role: Role
    tenant_id: int | None
    is_platform_admin: bool
    is_active: bool


class Token(BaseModel):
    """A bearer token (OAuth2 password flow): send it as `Authorization: Bearer <token>`."""

    access_token: str = Field(description="The token itself")
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")
