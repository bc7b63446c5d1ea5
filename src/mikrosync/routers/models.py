"""The Router table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mikrosync.db.base import Base, TenantOwnedMixin, TimestampMixin, UTCDateTime


class Router(TenantOwnedMixin, TimestampMixin, Base):
    __tablename__ = "routers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    port: Mapped[int] = mapped_column(Integer, nullable=False, default=8728)
    use_tls: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # TLS trust: verify the certificate (default), pin a SHA-256 fingerprint, or accept any.
    tls_fingerprint: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tls_insecure: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    username: Mapped[str] = mapped_column(String(100), nullable=False)
    password_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    # None until the first health check has run.
    is_online: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    identity: Mapped[str | None] = mapped_column(String(255), nullable=True)
    routeros_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_drift_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)


class RouterOutage(TenantOwnedMixin, Base):
    __tablename__ = "router_outages"
    __table_args__ = (Index("ix_router_outages_router_started", "router_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    router_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("routers.id", ondelete="CASCADE"), nullable=False
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # NULL while the router is still down.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
