"""Recording payments: payment, ledger, new expiry and the reconnect intent in ONE
transaction (DESIGN §1.2). Nothing here talks to a router or to Redis: the caller pushes the
subscriber's job after the commit (Runtime.hint), exactly like every other writer.

Exactly once: a payment is unique per (tenant, provider, provider reference). A replay finds
the recorded payment and changes nothing; two copies racing each other both try to insert and
the database refuses the second (IntegrityError), which then reads back the first. Only the
transaction that inserted the payment credits and renews, so a payment is credited once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.errors import Conflict, InvalidInput, NotFound
from mikrosync.payments import settings as payment_settings
from mikrosync.payments.models import Method, Payment, PaymentStatus
from mikrosync.payments.money import parse_amount
from mikrosync.payments.wallet import Renewal, credit, renew_free, renew_from_wallet, wallet_of
from mikrosync.subscribers.intent import ensure_not_removing
from mikrosync.subscribers.models import Subscriber
from mikrosync.subscribers.queries import get_subscriber

log = logging.getLogger(__name__)


@dataclass
class NewPayment:
    """A payment as a provider or an operator reports it (amount checked on the way in)."""

    amount: Decimal | str | int | float
    method: Method
    provider: str
    provider_reference: str | None = None
    subscriber_id: int | None = None
    account_reference: str | None = None
    payer_phone: str | None = None
    payer_name: str | None = None
    received_at: datetime | None = None
    note: str | None = None
    raw: dict[str, Any] | None = field(default=None, repr=False)


@dataclass
class Recorded:
    payment: Payment
    # True when the payment was recorded before (a replay): nothing was changed now.
    duplicate: bool
    # The subscriber whose job the caller pushes after the commit (None: unmatched/replay).
    subscriber: Subscriber | None = None
    renewal: Renewal | None = None


async def find_payment(
    session: AsyncSession, tenant_id: int, provider: str, reference: str
) -> Payment | None:
    query = select(Payment).where(
        Payment.tenant_id == tenant_id,
        Payment.provider == provider,
        Payment.provider_reference == reference,
    )
    return (await session.scalars(query.execution_options(populate_existing=True))).first()


async def record_payment(
    session: AsyncSession, *, tenant_id: int, data: NewPayment, actor: str
) -> Recorded:
    """Record a payment; credit the subscriber's wallet and renew from it when matched.

    Raises InvalidInput for a bad amount (nothing is written); a replayed reference returns the
    payment recorded first with `duplicate=True`.
    """
    amount = parse_amount(data.amount)
    reference = (data.provider_reference or "").strip() or None
    subscriber: Subscriber | None = None
    try:
        if data.subscriber_id is not None:
            # Locked first: every change to this wallet and expiry is serialised behind it.
            subscriber = await get_subscriber(
                session, tenant_id=tenant_id, subscriber_id=data.subscriber_id, for_update=True
            )
        if reference is not None:
            earlier = await find_payment(session, tenant_id, data.provider, reference)
            if earlier is not None:
                # Nothing was written; commit (not rollback) so `earlier` stays loaded.
                await session.commit()
                return Recorded(earlier, duplicate=True)
        payment = Payment(
            tenant_id=tenant_id,
            subscriber_id=subscriber.id if subscriber is not None else None,
            amount=amount,
            method=data.method,
            status=PaymentStatus.APPLIED if subscriber is not None else PaymentStatus.UNMATCHED,
            provider=data.provider,
            provider_reference=reference,
            account_reference=data.account_reference,
            payer_phone=data.payer_phone,
            payer_name=data.payer_name,
            received_at=data.received_at or now(),
            recorded_by=actor,
            note=data.note,
            raw=data.raw,
            created_at=now(),
        )
        session.add(payment)
        await session.flush()
        renewal = await _apply(session, tenant_id, subscriber, payment, actor)
        await session.commit()
    except IntegrityError:
        # Another copy of this payment committed between our check and our insert.
        await session.rollback()
        if reference is None:
            raise
        earlier = await find_payment(session, tenant_id, data.provider, reference)
        if earlier is None:
            raise
        await session.commit()
        return Recorded(earlier, duplicate=True)
    except BaseException:
        await session.rollback()
        raise
    log.info(
        "payment %s recorded: %s %s ref=%s subscriber=%s periods=%s",
        payment.id,
        payment.method,
        payment.amount,
        reference,
        payment.subscriber_id,
        renewal.periods if renewal else None,
    )
    return Recorded(payment, duplicate=False, subscriber=subscriber, renewal=renewal)


async def _apply(
    session: AsyncSession,
    tenant_id: int,
    subscriber: Subscriber | None,
    payment: Payment,
    actor: str,
) -> Renewal | None:
    """Credit the payment to the (locked) subscriber's wallet and buy what it covers."""
    if subscriber is None:
        return None
    rules = await payment_settings.load(session, tenant_id)
    wallet = await wallet_of(session, subscriber)
    credit(session, wallet, payment, actor)
    return await renew_from_wallet(
        session, subscriber, wallet, max_periods=rules.max_periods, actor=actor
    )


async def free_renewal(
    session: AsyncSession, *, tenant_id: int, subscriber_id: int, actor: str
) -> Subscriber:
    """One period without payment (the old `renew` action), recorded in the ledger."""
    subscriber = await get_subscriber(
        session, tenant_id=tenant_id, subscriber_id=subscriber_id, for_update=True
    )
    ensure_not_removing(subscriber)
    wallet = await wallet_of(session, subscriber)
    await renew_free(session, subscriber, wallet, actor=actor)
    await session.commit()
    return subscriber


async def _claim_unmatched(
    session: AsyncSession, tenant_id: int, payment_id: int, **values: object
) -> Payment:
    """Move an unmatched payment to another status with one conditional UPDATE: of two
    operators acting at once, exactly one changes it, on every backend (409 for the other)."""
    changed = await session.execute(
        update(Payment)
        .where(
            Payment.id == payment_id,
            Payment.tenant_id == tenant_id,
            Payment.status == PaymentStatus.UNMATCHED,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    found = await session.get(Payment, payment_id, populate_existing=True)
    if found is None or found.tenant_id != tenant_id:
        raise NotFound("payment not found")
    if getattr(changed, "rowcount", 0) != 1:
        raise Conflict(f"payment {payment_id} is {found.status}, not unmatched")
    return found


async def assign_payment(
    session: AsyncSession, *, tenant_id: int, payment_id: int, subscriber_id: int, actor: str
) -> Recorded:
    """Apply an unmatched payment to a subscriber: credit and renew, as if matched on arrival.
    A payment already assigned or refunded is refused (409)."""
    try:
        subscriber = await get_subscriber(
            session, tenant_id=tenant_id, subscriber_id=subscriber_id, for_update=True
        )
        payment = await _claim_unmatched(
            session,
            tenant_id,
            payment_id,
            status=PaymentStatus.APPLIED,
            subscriber_id=subscriber.id,
        )
        payment.note = _append(payment.note, f"assigned by {actor}")
        renewal = await _apply(session, tenant_id, subscriber, payment, actor)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return Recorded(payment, duplicate=False, subscriber=subscriber, renewal=renewal)


async def mark_refunded(
    session: AsyncSession, *, tenant_id: int, payment_id: int, note: str | None, actor: str
) -> Payment:
    """Mark an unmatched payment as given back to the payer (outside mikrosync)."""
    try:
        payment = await _claim_unmatched(
            session, tenant_id, payment_id, status=PaymentStatus.REFUNDED
        )
        payment.note = _append(payment.note, f"refunded by {actor}" + (f": {note}" if note else ""))
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return payment


def _append(note: str | None, line: str) -> str:
    return f"{note}\n{line}" if note else line


def check_method(value: str) -> Method:
    try:
        return Method(value)
    except ValueError:
        raise InvalidInput(
            "method", f"method must be one of {', '.join(m.value for m in Method)}"
        ) from None
