"""The tenant-wide audit log: who did what, when, and from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mikrosync.db.base import Base, TenantOwnedMixin, UTCDateTime


class AuditEntry(TenantOwnedMixin, Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # The staff user's email (kept as text: the entry outlives a removed user).
    actor: Mapped[str] = mapped_column(String(254), nullable=False)
    # What was done, a dotted verb such as "subscriber.suspend" or "staff.invite".
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    # What it was done to, as people name it ("alice", "tower-1", "bob@isp.test").
    target: Mapped[str | None] = mapped_column(String(254), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The client's address (`mikrosync.http.client`: behind a proxy listed in
    # MIKROSYNC_TRUSTED_PROXIES, the rightmost untrusted X-Forwarded-For hop).
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
