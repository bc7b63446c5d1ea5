"""Package table and the service types packages and subscribers share."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mikrosync.db.base import Base, TenantOwnedMixin, TimestampMixin


class Service(StrEnum):
    PPPOE = "pppoe"
    HOTSPOT = "hotspot"
    STATIC = "static"


class Package(TenantOwnedMixin, TimestampMixin, Base):
    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    service: Mapped[str] = mapped_column(String(16), nullable=False)
    rate_limit: Mapped[str] = mapped_column(String(200), nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, default=Decimal("0"))
    profile_name: Mapped[str] = mapped_column(String(64), nullable=False)
