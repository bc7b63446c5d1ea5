"""Read side of payments and wallets; every query is tenant-scoped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from decimal import Decimal

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import NotFound
from mikrosync.payments.models import Payment, PaymentStatus, Wallet, WalletEntry
from mikrosync.payments.schemas import PaymentFilters
from mikrosync.subscribers.queries import get_subscriber


def _conditions(tenant_id: int, filters: PaymentFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Payment.tenant_id == tenant_id]
    if filters.date_from is not None:
        conditions.append(Payment.received_at >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(Payment.received_at < filters.date_to)
    if filters.method is not None:
        conditions.append(Payment.method == filters.method)
    if filters.status is not None:
        conditions.append(Payment.status == filters.status)
    if filters.matched is True:
        conditions.append(Payment.subscriber_id.is_not(None))
    elif filters.matched is False:
        conditions.append(Payment.subscriber_id.is_(None))
    if filters.subscriber_id is not None:
        conditions.append(Payment.subscriber_id == filters.subscriber_id)
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        conditions.append(
            or_(
                func.lower(Payment.provider_reference).like(pattern),
                func.lower(Payment.account_reference).like(pattern),
                func.lower(Payment.payer_phone).like(pattern),
                func.lower(Payment.payer_name).like(pattern),
            )
        )
    return conditions


async def list_payments(
    session: AsyncSession, *, tenant_id: int, filters: PaymentFilters
) -> tuple[Sequence[Payment], int, Decimal]:
    """One page of matching payments (newest first), their count and their total amount."""
    conditions = _conditions(tenant_id, filters)
    count, amount = (
        await session.execute(
            select(func.count(Payment.id), func.coalesce(func.sum(Payment.amount), 0)).where(
                *conditions
            )
        )
    ).one()
    query = (
        select(Payment)
        .where(*conditions)
        .order_by(Payment.received_at.desc(), Payment.id.desc())
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    )
    return (await session.scalars(query)).all(), int(count), Decimal(str(amount))


async def all_payments(
    session: AsyncSession, *, tenant_id: int, filters: PaymentFilters
) -> Sequence[Payment]:
    """Every matching payment, oldest first (the CSV export)."""
    query = (
        select(Payment)
        .where(*_conditions(tenant_id, filters))
        .order_by(Payment.received_at, Payment.id)
    )
    return (await session.scalars(query)).all()


async def get_payment(session: AsyncSession, *, tenant_id: int, payment_id: int) -> Payment:
    found = await session.get(Payment, payment_id)
    if found is None or found.tenant_id != tenant_id:
        raise NotFound("payment not found")
    return found


async def wallet(
    session: AsyncSession, *, tenant_id: int, subscriber_id: int, limit: int = 200
) -> tuple[Decimal, Sequence[WalletEntry]]:
    """The balance and the ledger (newest first) of the tenant's subscriber."""
    await get_subscriber(session, tenant_id=tenant_id, subscriber_id=subscriber_id)
    stored = await session.get(Wallet, subscriber_id)
    entries = await session.scalars(
        select(WalletEntry)
        .where(WalletEntry.tenant_id == tenant_id, WalletEntry.subscriber_id == subscriber_id)
        .order_by(WalletEntry.id.desc())
        .limit(limit)
    )
    return (stored.balance if stored else Decimal("0")), entries.all()


async def revenue(
    session: AsyncSession, *, tenant_id: int, since: datetime, tz: tzinfo
) -> tuple[list[tuple[str, Decimal]], list[tuple[str, Decimal]]]:
    """Payments received since `since` (refunded ones excluded) summed per day and per month
    of the tenant's time zone, oldest first."""
    rows = await session.execute(
        select(Payment.received_at, Payment.amount).where(
            Payment.tenant_id == tenant_id,
            Payment.received_at >= since,
            Payment.status != PaymentStatus.REFUNDED,
        )
    )
    days: dict[str, Decimal] = {}
    months: dict[str, Decimal] = {}
    for received_at, amount in rows:
        local = received_at.astimezone(tz)
        day, month = local.strftime("%Y-%m-%d"), local.strftime("%Y-%m")
        days[day] = days.get(day, Decimal("0")) + amount
        months[month] = months.get(month, Decimal("0")) + amount
    return sorted(days.items()), sorted(months.items())
