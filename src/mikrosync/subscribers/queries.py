"""Read-side queries for subscribers and their timeline; every one is tenant-scoped."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.errors import NotFound
from mikrosync.subscribers.locking import locked
from mikrosync.subscribers.models import Subscriber, SyncEvent
from mikrosync.subscribers.schemas import SubscriberFilters


async def get_subscriber(
    session: AsyncSession, *, tenant_id: int, subscriber_id: int, for_update: bool = False
) -> Subscriber:
    """The tenant's subscriber; `for_update`: locked and freshly read, for a write based on it."""
    if for_update:
        query = select(Subscriber).where(Subscriber.id == subscriber_id)
        subscriber = next(iter(await locked(session, query)), None)
    else:
        subscriber = await session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.tenant_id != tenant_id:
        raise NotFound("subscriber not found")
    return subscriber


def _conditions(tenant_id: int, filters: SubscriberFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Subscriber.tenant_id == tenant_id]
    if filters.sync_status is not None:
        conditions.append(Subscriber.sync_status == filters.sync_status)
    if filters.router_id is not None:
        conditions.append(Subscriber.router_id == filters.router_id)
    if filters.package_id is not None:
        conditions.append(Subscriber.package_id == filters.package_id)
    if filters.is_suspended is not None:
        conditions.append(Subscriber.is_suspended == filters.is_suspended)
    if filters.expired is True:
        conditions.append(Subscriber.expires_at <= now())
    elif filters.expired is False:
        conditions.append(or_(Subscriber.expires_at.is_(None), Subscriber.expires_at > now()))
    if filters.expires_within_days is not None:
        conditions.append(Subscriber.expires_at > now())
        conditions.append(
            Subscriber.expires_at <= now() + timedelta(days=filters.expires_within_days)
        )
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        matches = [
            func.lower(Subscriber.username).like(pattern),
            func.lower(Subscriber.full_name).like(pattern),
            func.lower(Subscriber.phone).like(pattern),
            func.lower(Subscriber.email).like(pattern),
        ]
        digits = phone_digits(filters.q)
        if digits is not None:
            matches.append(_digits_only(Subscriber.phone).like(f"%{digits}%"))
        conditions.append(or_(*matches))
    return conditions


# What people put between a phone number's digits; search ignores them on both sides.
_PHONE_SEPARATORS = (" ", "-", "+", "(", ")", ".", "/")
_PHONE_SHAPE = re.compile(r"[\d\s+\-().\/]+")
MIN_PHONE_DIGITS = 4


def phone_digits(query: str) -> str | None:
    """The digits of a query that looks like (part of) a phone number, else None:
    "555 0014", "5550014" and "+1 (555) 0014" all search by their digits."""
    if not _PHONE_SHAPE.fullmatch(query.strip()):
        return None
    digits = re.sub(r"\D", "", query)
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


def _digits_only(column: Any) -> ColumnElement[str | None]:
    stripped: ColumnElement[str | None] = column
    for separator in _PHONE_SEPARATORS:
        stripped = func.replace(stripped, separator, "")
    return stripped


async def list_subscribers(
    session: AsyncSession, *, tenant_id: int, filters: SubscriberFilters
) -> tuple[Sequence[Subscriber], int]:
    """One page of matching subscribers and the total count of matches."""
    conditions = _conditions(tenant_id, filters)
    total = (await session.execute(select(func.count()).where(*conditions))).scalar_one()
    query = (
        select(Subscriber)
        .where(*conditions)
        .order_by(
            *(
                (Subscriber.expires_at, Subscriber.id)
                if filters.expires_within_days is not None  # soonest first
                else (Subscriber.id,)
            )
        )
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    )
    return (await session.scalars(query)).all(), total


async def list_events(
    session: AsyncSession, *, tenant_id: int, subscriber_id: int, limit: int = 100
) -> Sequence[SyncEvent]:
    """The subscriber's timeline, newest first."""
    await get_subscriber(session, tenant_id=tenant_id, subscriber_id=subscriber_id)
    query = (
        select(SyncEvent)
        .where(SyncEvent.tenant_id == tenant_id, SyncEvent.subscriber_id == subscriber_id)
        .order_by(SyncEvent.created_at.desc(), SyncEvent.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def count_on_package(session: AsyncSession, package_id: int) -> int:
    """Subscribers on the package, or asking for it (a pending package change)."""
    query = select(func.count()).where(
        or_(Subscriber.package_id == package_id, Subscriber.pending_package_id == package_id)
    )
    return (await session.execute(query)).scalar_one()


async def count_on_router(session: AsyncSession, router_id: int) -> int:
    query = select(func.count()).where(Subscriber.router_id == router_id)
    return (await session.execute(query)).scalar_one()
