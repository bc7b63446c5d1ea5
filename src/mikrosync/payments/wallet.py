"""Wallet arithmetic and renewal from the wallet, inside the caller's transaction.

Every function here expects the subscriber row locked by the caller (subscribers/locking.py):
the lock serialises all changes to one wallet, so `balance_after` is exact and the ledger of a
wallet always sums to its balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.packages.models import Package
from mikrosync.payments.models import EntryKind, Payment, Wallet, WalletEntry
from mikrosync.subscribers.intent import record_intent
from mikrosync.subscribers.models import Operation, Subscriber, SuspendReason


@dataclass(frozen=True)
class Renewal:
    periods: int
    expires_at: datetime | None
    cost: Decimal
    # Why no period was bought (credited only), for the caller's message.
    skipped: str | None = None


async def wallet_of(session: AsyncSession, subscriber: Subscriber) -> Wallet:
    wallet = await session.get(Wallet, subscriber.id, populate_existing=True)
    if wallet is None:
        wallet = Wallet(
            subscriber_id=subscriber.id, tenant_id=subscriber.tenant_id, balance=Decimal("0")
        )
        session.add(wallet)
    return wallet


def _entry(
    session: AsyncSession,
    wallet: Wallet,
    kind: EntryKind,
    amount: Decimal,
    reason: str,
    actor: str,
    *,
    payment: Payment | None = None,
    periods: int | None = None,
    expires_at: datetime | None = None,
) -> WalletEntry:
    entry = WalletEntry(
        tenant_id=wallet.tenant_id,
        subscriber_id=wallet.subscriber_id,
        kind=kind,
        amount=amount,
        balance_after=wallet.balance,
        reason=reason[:500],
        payment_id=payment.id if payment is not None else None,
        periods=periods,
        expires_at=expires_at,
        actor=actor,
        created_at=now(),
    )
    session.add(entry)
    return entry


def credit(session: AsyncSession, wallet: Wallet, payment: Payment, actor: str) -> WalletEntry:
    wallet.balance = (wallet.balance or Decimal("0")) + payment.amount
    reference = f" {payment.provider_reference}" if payment.provider_reference else ""
    return _entry(
        session,
        wallet,
        EntryKind.CREDIT,
        payment.amount,
        f"{payment.method} payment{reference}",
        actor,
        payment=payment,
    )


def _has_expired(subscriber: Subscriber) -> bool:
    return subscriber.expires_at is not None and subscriber.expires_at <= now()


def _why_not_renewed(subscriber: Subscriber) -> str | None:
    if subscriber.pending_removal:
        return "being removed"
    if subscriber.is_suspended and subscriber.suspend_reason != SuspendReason.EXPIRED:
        # An operator's suspension (unpaid debt, abuse...) is not lifted by money alone.
        return "suspended by an operator"
    if subscriber.expires_at is None:
        return "never expires"
    return None


def _extend(
    session: AsyncSession, subscriber: Subscriber, minutes: int, periods: int, actor: str
) -> datetime:
    """Move `expires_at` on by `periods` from now (expired) or from itself (active), and
    record the reconnect intent (lifting an expiry suspension) in the same transaction."""
    start = now() if _has_expired(subscriber) or subscriber.expires_at is None else None
    base = start or subscriber.expires_at
    assert base is not None
    subscriber.expires_at = base + timedelta(minutes=minutes * periods)
    message = f"renewed until {subscriber.expires_at:%Y-%m-%d %H:%M} UTC"
    if subscriber.is_suspended and subscriber.suspend_reason == SuspendReason.EXPIRED:
        subscriber.is_suspended = False
        subscriber.suspend_reason = None
    record_intent(session, subscriber, Operation.CONNECT_USER, actor=actor, message=message)
    return subscriber.expires_at


async def _package(session: AsyncSession, subscriber: Subscriber) -> Package:
    # The package the subscriber is moving to, if a change is pending: that is what the
    # renewed period will be served on.
    package = await session.get(Package, subscriber.pending_package_id or subscriber.package_id)
    assert package is not None
    return package


async def renew_from_wallet(
    session: AsyncSession,
    subscriber: Subscriber,
    wallet: Wallet,
    *,
    max_periods: int,
    actor: str,
) -> Renewal:
    """Buy whole periods of the subscriber's package from the wallet: at most `max_periods`,
    as many as the balance covers. A free package renews one period only when expired."""
    skipped = _why_not_renewed(subscriber)
    if skipped is not None:
        return Renewal(0, subscriber.expires_at, Decimal("0"), skipped)
    package = await _package(session, subscriber)
    price = package.price
    if price <= 0:
        periods = 1 if _has_expired(subscriber) else 0
    else:
        periods = min(max_periods, int(wallet.balance // price))
    if periods <= 0:
        return Renewal(0, subscriber.expires_at, Decimal("0"), "balance below the package price")
    cost = price * periods
    expires_at = _extend(session, subscriber, package.duration_minutes, periods, actor)
    wallet.balance -= cost
    _entry(
        session,
        wallet,
        EntryKind.DEBIT,
        cost,
        f"{periods} x {package.name} at {price}",
        actor,
        periods=periods,
        expires_at=expires_at,
    )
    return Renewal(periods, expires_at, cost)


async def renew_free(
    session: AsyncSession, subscriber: Subscriber, wallet: Wallet, *, actor: str
) -> Renewal:
    """One period without money (the old `renew` action), recorded in the ledger as such.

    Like the old action, a subscriber suspended by an operator gets the later expiry but stays
    suspended; a subscriber without an expiry gets one period from now.
    """
    package = await _package(session, subscriber)
    if subscriber.expires_at is None:
        subscriber.expires_at = now()
    expires_at = _extend(session, subscriber, package.duration_minutes, 1, actor)
    _entry(
        session,
        wallet,
        EntryKind.FREE,
        Decimal("0"),
        f"free renewal: 1 x {package.name}",
        actor,
        periods=1,
        expires_at=expires_at,
    )
    return Renewal(1, expires_at, Decimal("0"))
