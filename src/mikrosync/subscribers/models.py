"""Subscriber and SyncEvent tables.

A Subscriber row is the outbox of DESIGN §1: every change bumps `desired_version` and sets
`sync_status = pending` in the same transaction; the worker sets `synced_version` with a
compare-and-set once the router holds that version.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mikrosync.db.base import Base, TenantOwnedMixin, TimestampMixin, UTCDateTime


class SyncStatus(StrEnum):
    PENDING = "pending"
    SYNCING = "syncing"
    SYNCED = "synced"
    ERROR = "error"


class SuspendReason(StrEnum):
    MANUAL = "manual"
    EXPIRED = "expired"


class Operation(StrEnum):
    """The seed's job names; each user-facing change records one of them in the timeline."""

    ADD_USER = "addUser"
    UPDATE_USER_PACKAGE = "updateUserPackage"
    DISCONNECT_USER = "disconnectUser"
    CONNECT_USER = "connectUser"
    REMOVE_USER = "removeUser"
    UPDATE_USER = "updateUser"
    RETRY = "retry"


class Subscriber(TenantOwnedMixin, TimestampMixin, Base):
    __tablename__ = "subscribers"
    __table_args__ = (
        UniqueConstraint("router_id", "username"),
        # The sweeper and the "router came back" push: unsynced rows per router.
        Index("ix_subscribers_router_status", "router_id", "sync_status"),
        # The expiry scan: a tenant's rows due to expire that are not yet suspended.
        Index("ix_subscribers_tenant_expiry", "tenant_id", "is_suspended", "expires_at"),
        # The sweeper's "desired ahead of synced" scan, oldest hint first.
        Index("ix_subscribers_status_enqueued", "sync_status", "last_enqueued_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    router_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("routers.id", ondelete="RESTRICT"), nullable=False
    )
    package_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("packages.id", ondelete="RESTRICT"), index=True, nullable=False
    )
    # The package asked for; it becomes `package_id` only once the router has it.
    pending_package_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("packages.id", ondelete="SET NULL"), nullable=True
    )
    service: Mapped[str] = mapped_column(String(16), nullable=False)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    # NULL for static-IP subscribers, who have no login on the router.
    password_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    remote_address: Mapped[str | None] = mapped_column(String(45), nullable=True)
    static_ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    full_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    address: Mapped[str | None] = mapped_column(String(500), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    is_suspended: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    suspend_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Set by delete: the row goes once the router confirms its objects are removed.
    pending_removal: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    sync_status: Mapped[str] = mapped_column(String(16), default=SyncStatus.PENDING, nullable=False)
    sync_error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    desired_version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    synced_version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # When a job was last pushed for this row: the sweeper re-pushes only stale hints.
    last_enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the intent still waiting for the router was committed (set by record_intent, creation
    # included; cleared once synced): the change-latency metric reads it, not the timeline.
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The operation of the latest intent still waiting for the router (the name its timeline
    # row says was requested): the job pushed for the row carries this name. Cleared once synced.
    requested_operation: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The converge lease (sync/converge.py): the run that may talk to the router for this
    # subscriber, and until when. Taken by a conditional UPDATE, released by the run's last write.
    sync_claim: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sync_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SyncEvent(TenantOwnedMixin, Base):
    """One line of a subscriber's sync timeline: an intent recorded, or a job attempt."""

    __tablename__ = "sync_events"
    __table_args__ = (Index("ix_sync_events_subscriber_created", "subscriber_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    )
    operation: Mapped[str] = mapped_column(String(64), nullable=False)
    # "requested" for a recorded intent; then "started", "succeeded", "retrying", "failed".
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    desired_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    attempt: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # On success: from the commit of the change to the router's confirmation (a metric).
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(254), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    subscriber: Mapped[Subscriber] = relationship(lazy="raise")
