"""VoucherBatch and Voucher tables.

A voucher row is intent like a subscriber row (DESIGN §1): `desired_version` ahead of
`synced_version` means the router still owes it something (the add, or the removal once the
voucher expired or its batch was deleted). The batch job settles vouchers in chunks, so the
batch's `on_router` counter shows "N of M on the router" while it runs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mikrosync.db.base import Base, TenantOwnedMixin, TimestampMixin, UTCDateTime


class VoucherState(StrEnum):
    UNUSED = "unused"
    ACTIVE = "active"  # first login seen
    EXPIRED = "expired"  # validity passed or limits used up; removal from the router owed
    REMOVED = "removed"  # gone from the router (expired, or its batch deleted)


class BatchStatus(StrEnum):
    PENDING = "pending"  # vouchers still to carry (or waiting for the router)
    SYNCED = "synced"  # every live voucher is on the router
    ERROR = "error"  # the router refused (its words in `error_message`); Retry re-pushes
    DELETING = "deleting"  # deleted by an operator: its users are being removed
    DELETED = "deleted"  # its users are gone from the router; rows kept for sales history


class PasswordMode(StrEnum):
    SAME = "same"  # password = code (one thing to type)
    SEPARATE = "separate"


class VoucherBatch(TenantOwnedMixin, TimestampMixin, Base):
    __tablename__ = "voucher_batches"
    __table_args__ = (Index("ix_voucher_batches_status", "status", "last_enqueued_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A router with live batches cannot be deleted (routers.service says so); its deleted
    # batches, kept for their sales history, go with it.
    router_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("routers.id", ondelete="CASCADE"), index=True, nullable=False
    )
    # Either a package (its hotspot profile is ensured by the job) or a profile the router has.
    package_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("packages.id", ondelete="RESTRICT"), nullable=True
    )
    profile_name: Mapped[str] = mapped_column(String(64), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    code_length: Mapped[int] = mapped_column(Integer, nullable=False)
    alphabet: Mapped[str] = mapped_column(String(128), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    password_mode: Mapped[str] = mapped_column(String(16), nullable=False)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, default=Decimal("0"))
    # Validity counted from the first login; None = only the router-side limits apply.
    validity_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    limit_uptime: Mapped[str | None] = mapped_column(String(32), nullable=True)
    limit_bytes_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    comment: Mapped[str | None] = mapped_column(String(200), nullable=True)
    login_url: Mapped[str] = mapped_column(String(300), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=BatchStatus.PENDING)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Vouchers confirmed on the router (the "N" of "N of M on the router").
    on_router: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(254), nullable=True)


class Voucher(TenantOwnedMixin, Base):
    __tablename__ = "vouchers"
    __table_args__ = (
        # Codes are unique per router: the hotspot user's name is the code.
        UniqueConstraint("router_id", "code"),
        Index("ix_vouchers_batch_sync", "batch_id", "synced_version", "desired_version"),
        Index("ix_vouchers_router_state", "router_id", "state"),
        Index("ix_vouchers_tenant_sold", "tenant_id", "sold_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("voucher_batches.id", ondelete="CASCADE"), nullable=False
    )
    router_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("routers.id", ondelete="CASCADE"), nullable=False
    )
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    # Encrypted at rest like subscriber passwords: it must be sent to the router.
    password_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default=VoucherState.UNUSED)
    sold: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sold_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The router's `.id` of its hotspot user, once confirmed there.
    router_item_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    desired_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    synced_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sync_error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    @property
    def on_router(self) -> bool:
        """Confirmed on the router, and not removed since."""
        return self.router_item_id is not None and self.state != VoucherState.REMOVED

    @property
    def wants_router(self) -> bool:
        """Whether the router should hold this voucher's user (else it is owed a removal)."""
        return self.state in (VoucherState.UNUSED, VoucherState.ACTIVE)


class VoucherEvent(TenantOwnedMixin, Base):
    """A voucher's timeline: created, on the router, first login, sold, expired, removed."""

    __tablename__ = "voucher_events"
    __table_args__ = (Index("ix_voucher_events_voucher", "voucher_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voucher_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("vouchers.id", ondelete="CASCADE"), nullable=False
    )
    what: Mapped[str] = mapped_column(String(32), nullable=False)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(254), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
