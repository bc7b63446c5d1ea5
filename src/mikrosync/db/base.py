"""Declarative base with a naming convention (stable constraint names for Alembic on both
backends) and the column types and mixins every domain model shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, MetaData, Table, TypeDecorator, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from mikrosync.clock import now

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime on every backend (SQLite drops the offset; we put UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass a timezone-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@event.listens_for(Table, "after_parent_attach")
def _sqlite_autoincrement(table: Table, parent: object) -> None:
    """Every model table declares `sqlite_autoincrement=True`: on SQLite an integer key is then
    `AUTOINCREMENT`, so a deleted row's id is never given to a new row (without it SQLite reuses
    the largest id after a delete; migration 0018a rebuilt the existing tables). The dialect
    applies it only to a single integer primary key; PostgreSQL's sequences never reuse ids."""
    if parent is Base.metadata:
        table.dialect_kwargs["sqlite_autoincrement"] = True


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=now, onupdate=now, nullable=False
    )


class TenantOwnedMixin:
    """Every tenant-owned row carries an indexed tenant_id; queries always filter on it."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(
            Integer, ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False
        )
