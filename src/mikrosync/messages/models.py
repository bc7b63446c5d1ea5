"""A tenant's message settings (channels, templates, reminder days) and the log of messages,
whose unique key (subscriber, event, occasion, channel) is what makes a message go out once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mikrosync.clock import now
from mikrosync.db.base import Base, TenantOwnedMixin, UTCDateTime


class Event(StrEnum):
    PAYMENT_RECEIVED = "payment_received"
    RECONNECTED = "reconnected"
    EXPIRING = "expiring"
    EXPIRED = "expired"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class MessageStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # the job retries; the last error is kept
    SKIPPED = "skipped"  # renewed meanwhile, no address, channel off


class MessageSettings(Base):
    __tablename__ = "message_settings"

    tenant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    # Days before expiry a reminder goes out, e.g. [3, 1].
    reminder_days: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    # Per event, the text with {placeholders}; a missing event uses the default text.
    templates: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    email_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    smtp_host: Mapped[str | None] = mapped_column(String(200), nullable=True)
    smtp_port: Mapped[int] = mapped_column(Integer, nullable=False, default=587)
    smtp_starttls: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    smtp_username: Mapped[str | None] = mapped_column(String(200), nullable=True)
    smtp_password_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    smtp_from: Mapped[str | None] = mapped_column(String(254), nullable=True)
    sms_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # "africastalking" or "generic" (a JSON body template posted to `sms_url`).
    sms_provider: Mapped[str] = mapped_column(String(32), nullable=False, default="generic")
    sms_url: Mapped[str | None] = mapped_column(String(300), nullable=True)
    sms_username: Mapped[str | None] = mapped_column(String(100), nullable=True)
    sms_api_key_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    sms_sender: Mapped[str | None] = mapped_column(String(20), nullable=True)
    sms_body_template: Mapped[str | None] = mapped_column(Text, nullable=True)


class CustomerMessage(TenantOwnedMixin, Base):
    __tablename__ = "customer_messages"
    __table_args__ = (UniqueConstraint("subscriber_id", "event", "occasion", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), index=True, nullable=False
    )
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    # What makes two messages of one event different: "exp-<epoch>" for reminders (the expiry
    # instant they are about), "pay-<id>" for a payment's receipt.
    occasion: Mapped[str] = mapped_column(String(40), nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    recipient: Mapped[str | None] = mapped_column(String(254), nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When the current attempt took the row: a `sending` row is taken over by a retry only
    # once this is old (its sender died), never while a copy of the job is still sending.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, nullable=False)
