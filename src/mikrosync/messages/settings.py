"""A tenant's message settings through the API: secrets write-only and encrypted."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.db.session import SessionMaker
from mikrosync.http.fields import RequestModel
from mikrosync.messages.models import Event, MessageSettings
from mikrosync.messages.senders import SmsConfig, SmtpConfig
from mikrosync.security.vault import Vault

DEFAULT_REMINDER_DAYS = [3, 1]
# Fields a PATCH may empty with null (the others keep their value when null is sent).
_CLEARABLE = frozenset(
    {
        "smtp_host",
        "smtp_username",
        "smtp_from",
        "sms_url",
        "sms_username",
        "sms_sender",
        "sms_body_template",
    }
)


class MessageSettingsWrite(RequestModel):
    """PATCH body: only the fields given change; a secret left out is kept."""

    model_config = ConfigDict(extra="forbid")

    reminder_days: list[Annotated[int, Field(ge=1, le=60)]] | None = Field(
        default=None, max_length=5
    )
    templates: dict[Event, str] | None = None
    email_enabled: bool | None = None
    smtp_host: str | None = Field(default=None, max_length=200)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_starttls: bool | None = None
    smtp_username: str | None = Field(default=None, max_length=200)
    smtp_password: str | None = Field(default=None, max_length=200)
    smtp_from: str | None = Field(default=None, max_length=254)
    sms_enabled: bool | None = None
    sms_provider: Literal["generic", "africastalking"] | None = None
    sms_url: str | None = Field(default=None, max_length=300, pattern=r"^https?://\S+$")
    sms_username: str | None = Field(default=None, max_length=100)
    sms_api_key: str | None = Field(default=None, max_length=300)
    sms_sender: str | None = Field(default=None, max_length=20)
    sms_body_template: str | None = Field(default=None, max_length=2000)

    @field_validator("reminder_days", mode="before")
    @classmethod
    def _days_in_range(cls, value: object) -> object:
        # Before the items' own bounds (which the schema states), so the answer says it in words.
        if isinstance(value, list) and any(_out_of_range(day) for day in value):
            raise ValueError("reminder days are between 1 and 60")
        return value

    @field_validator("reminder_days")
    @classmethod
    def _days(cls, value: list[int] | None) -> list[int] | None:
        return sorted(set(value), reverse=True) if value is not None else None

    @field_validator("templates")
    @classmethod
    def _templates(cls, value: dict[Event, str] | None) -> dict[Event, str] | None:
        if value is not None and any(len(text) > 1000 for text in value.values()):
            raise ValueError("a template is at most 1000 characters")
        return value


class MessageSettingsRead(BaseModel):
    reminder_days: list[int]
    templates: dict[str, str]
    email_enabled: bool
    smtp_host: str | None
    smtp_port: int
    smtp_starttls: bool
    smtp_username: str | None
    smtp_password_set: bool
    smtp_from: str | None
    sms_enabled: bool
    sms_provider: str
    sms_url: str | None
    sms_username: str | None
    sms_api_key_set: bool
    sms_sender: str | None
    sms_body_template: str | None


def _blank(tenant_id: int) -> MessageSettings:
    return MessageSettings(
        tenant_id=tenant_id,
        reminder_days=list(DEFAULT_REMINDER_DAYS),
        templates={},
        email_enabled=False,
        smtp_port=587,
        smtp_starttls=True,
        sms_enabled=False,
        sms_provider="generic",
    )


async def load(session: AsyncSession, tenant_id: int) -> MessageSettings:
    """The stored settings, or the defaults (not stored) when the tenant has none."""
    return await session.get(MessageSettings, tenant_id) or _blank(tenant_id)


def read(stored: MessageSettings) -> MessageSettingsRead:
    return MessageSettingsRead(
        reminder_days=list(stored.reminder_days or []),
        templates={str(k): str(v) for k, v in (stored.templates or {}).items()},
        email_enabled=stored.email_enabled,
        smtp_host=stored.smtp_host,
        smtp_port=stored.smtp_port,
        smtp_starttls=stored.smtp_starttls,
        smtp_username=stored.smtp_username,
        smtp_password_set=stored.smtp_password_encrypted is not None,
        smtp_from=stored.smtp_from,
        sms_enabled=stored.sms_enabled,
        sms_provider=stored.sms_provider,
        sms_url=stored.sms_url,
        sms_username=stored.sms_username,
        sms_api_key_set=stored.sms_api_key_encrypted is not None,
        sms_sender=stored.sms_sender,
        sms_body_template=stored.sms_body_template,
    )


async def update(
    session: AsyncSession, tenant_id: int, data: MessageSettingsWrite, vault: Vault
) -> MessageSettingsRead:
    stored = await session.get(MessageSettings, tenant_id)
    if stored is None:
        stored = _blank(tenant_id)
        session.add(stored)
    changes = data.model_dump(exclude_unset=True)
    for secret, column in (
        ("smtp_password", "smtp_password_encrypted"),
        ("sms_api_key", "sms_api_key_encrypted"),
    ):
        if secret in changes:
            value = changes.pop(secret)
            setattr(stored, column, vault.encrypt(value) if value else None)
    if "templates" in changes:
        templates = changes.pop("templates") or {}
        stored.templates = {str(Event(k).value): v for k, v in templates.items()}
    for name, value in changes.items():
        if value is not None or name in _CLEARABLE:
            setattr(stored, name, value)
    await session.commit()
    return read(stored)


def smtp_config(stored: MessageSettings, vault: Vault) -> SmtpConfig | None:
    if not (stored.email_enabled and stored.smtp_host and stored.smtp_from):
        return None
    password = (
        vault.decrypt(stored.smtp_password_encrypted) if stored.smtp_password_encrypted else None
    )
    return SmtpConfig(
        host=stored.smtp_host,
        port=stored.smtp_port,
        starttls=stored.smtp_starttls,
        sender=stored.smtp_from,
        username=stored.smtp_username,
        password=password,
    )


def sms_config(stored: MessageSettings, vault: Vault) -> SmsConfig | None:
    if not stored.sms_enabled:
        return None
    key = vault.decrypt(stored.sms_api_key_encrypted) if stored.sms_api_key_encrypted else None
    return SmsConfig(
        provider=stored.sms_provider,
        url=stored.sms_url,
        username=stored.sms_username,
        sender=stored.sms_sender,
        body_template=stored.sms_body_template,
        api_key=key,
    )


async def rotate_message_secrets(sessionmaker: SessionMaker, vault: Vault) -> int:
    """Re-encrypt every tenant's SMTP password and SMS API key (`mikrosync rotate-secrets`)."""
    async with sessionmaker() as session:
        rows = (await session.scalars(select(MessageSettings))).all()
        for stored in rows:
            if stored.smtp_password_encrypted is not None:
                stored.smtp_password_encrypted = vault.rotate(stored.smtp_password_encrypted)
            if stored.sms_api_key_encrypted is not None:
                stored.sms_api_key_encrypted = vault.rotate(stored.sms_api_key_encrypted)
        await session.commit()
    return len(rows)


def _out_of_range(day: object) -> bool:
    """A whole number (or, from a form, its digits) outside 1-60; anything else is left to
    the field's own type check."""
    if isinstance(day, str) and day.strip().lstrip("-").isdigit():
        day = int(day)
    return isinstance(day, int) and not isinstance(day, bool) and not 0 < day <= 60
