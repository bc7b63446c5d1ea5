"""Writing and reading the audit log. Every function is tenant-scoped.

An entry is written by the delivery layer right after the change it describes committed (the
domain services commit their own transactions), in a short transaction of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.audit.models import AuditEntry
from mikrosync.clock import now

MAX_TEXT = 254


async def record(
    session: AsyncSession,
    *,
    tenant_id: int,
    actor: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
    ip: str | None = None,
) -> None:
    """Add one entry and commit. Never pass a secret in `detail`."""
    session.add(
        AuditEntry(
            tenant_id=tenant_id,
            created_at=now(),
            actor=actor[:MAX_TEXT],
            action=action[:64],
            target=target[:MAX_TEXT] if target else None,
            detail=detail,
            ip=ip[:45] if ip else None,
        )
    )
    await session.commit()


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _conditions(tenant_id: int, filters: AuditFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [AuditEntry.tenant_id == tenant_id]
    if filters.actor:
        conditions.append(AuditEntry.actor == filters.actor)
    if filters.action:
        # "subscriber" matches every subscriber.* action.
        conditions.append(
            or_(AuditEntry.action == filters.action, AuditEntry.action.like(f"{filters.action}.%"))
        )
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        conditions.append(
            or_(
                func.lower(AuditEntry.target).like(pattern),
                func.lower(AuditEntry.detail).like(pattern),
                func.lower(AuditEntry.ip).like(pattern),
            )
        )
    if filters.since is not None:
        conditions.append(AuditEntry.created_at >= filters.since)
    if filters.until is not None:
        conditions.append(AuditEntry.created_at < filters.until)
    return conditions


async def list_entries(
    session: AsyncSession,
    *,
    tenant_id: int,
    filters: AuditFilters,
    page: int = 1,
    per_page: int = 100,
) -> tuple[Sequence[AuditEntry], int]:
    """One page of matching entries, newest first, and how many match."""
    conditions = _conditions(tenant_id, filters)
    total = (await session.execute(select(func.count()).where(*conditions))).scalar_one()
    query = (
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return (await session.scalars(query)).all(), total


async def all_entries(
    session: AsyncSession, *, tenant_id: int, filters: AuditFilters, limit: int = 100_000
) -> Sequence[AuditEntry]:
    query = (
        select(AuditEntry)
        .where(*_conditions(tenant_id, filters))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def actors(session: AsyncSession, *, tenant_id: int) -> list[str]:
    query = (
        select(AuditEntry.actor)
        .where(AuditEntry.tenant_id == tenant_id)
        .distinct()
        .order_by(AuditEntry.actor)
    )
    return list((await session.scalars(query)).all())
