"""Payments, wallet and renewal on both backends: exactly once under concurrency, renewal
rules, unmatched payments, refused amounts. The services run on the real databases; no router
is involved (a payment only records intent)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from mikrosync.errors import Conflict, InvalidInput
from mikrosync.payments import service
from mikrosync.payments import settings as payment_settings
from mikrosync.payments.models import (
    EntryKind,
    Method,
    Payment,
    PaymentStatus,
    Wallet,
    WalletEntry,
)
from mikrosync.runtime import Runtime
from mikrosync.subscribers.models import Subscriber, SuspendReason
from tests.helpers import make_package, make_subscriber, unique
from tests.plugins.core import Staff

DAY = timedelta(days=1)


async def _subscriber(
    client: httpx.AsyncClient, owner: Staff, *, price: str = "20.00", **fields: Any
) -> dict[str, Any]:
    package = await make_package(client, owner, price=price, duration_days=30)
    return await make_subscriber(client, owner, package_id=package["id"], **fields)


async def _pay(
    runtime: Runtime,
    tenant_id: int,
    subscriber_id: int | None,
    amount: str,
    reference: str | None = None,
) -> service.Recorded:
    async with runtime.sessionmaker() as session:
        return await service.record_payment(
            session,
            tenant_id=tenant_id,
            data=service.NewPayment(
                amount=amount,
                method=Method.MPESA,
                provider="mpesa",
                provider_reference=reference or unique("REF"),
                subscriber_id=subscriber_id,
            ),
            actor="test",
        )


async def _row(runtime: Runtime, subscriber_id: int) -> Subscriber:
    async with runtime.sessionmaker() as session:
        found = await session.get(Subscriber, subscriber_id)
        assert found is not None
        return found


async def _ledger(runtime: Runtime, subscriber_id: int) -> tuple[Decimal, list[WalletEntry]]:
    async with runtime.sessionmaker() as session:
        wallet = await session.get(Wallet, subscriber_id)
        entries = (
            await session.scalars(
                select(WalletEntry)
                .where(WalletEntry.subscriber_id == subscriber_id)
                .order_by(WalletEntry.id)
            )
        ).all()
    return (wallet.balance if wallet else Decimal("0")), list(entries)


def _sums(entries: list[WalletEntry]) -> Decimal:
    signed = {EntryKind.CREDIT: 1, EntryKind.DEBIT: -1, EntryKind.FREE: 0}
    return sum((e.amount * signed[EntryKind(e.kind)] for e in entries), Decimal("0"))


async def _set_expiry(
    runtime: Runtime, subscriber_id: int, expires_at: datetime, reason: str | None = None
) -> None:
    async with runtime.sessionmaker() as session:
        row = await session.get(Subscriber, subscriber_id)
        assert row is not None
        row.expires_at = expires_at
        row.is_suspended = reason is not None
        row.suspend_reason = reason
        await session.commit()


async def test_same_reference_20_times_in_parallel_is_one_payment_one_credit_one_renewal(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff
) -> None:
    assert owner.tenant_id is not None
    created = await _subscriber(client, owner)
    await _set_expiry(runtime, created["id"], datetime.now(UTC) - DAY, SuspendReason.EXPIRED)
    before = await _row(runtime, created["id"])

    results = await asyncio.gather(
        *(_pay(runtime, owner.tenant_id, created["id"], "50", "QKX1DUP") for _ in range(20))
    )

    assert sum(not r.duplicate for r in results) == 1
    assert len({r.payment.id for r in results}) == 1
    async with runtime.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).where(
                Payment.tenant_id == owner.tenant_id, Payment.provider_reference == "QKX1DUP"
            )
        )
    assert count == 1
    balance, entries = await _ledger(runtime, created["id"])
    assert [e.kind for e in entries] == [EntryKind.CREDIT, EntryKind.DEBIT]
    assert balance == Decimal("30.00") == _sums(entries)
    after = await _row(runtime, created["id"])
    # One renewal: one new desired version, one period from now, reconnected.
    assert after.desired_version == before.desired_version + 1
    assert not after.is_suspended and after.sync_status == "pending"
    assert after.expires_at is not None
    assert abs(after.expires_at - (datetime.now(UTC) + 30 * DAY)) < timedelta(minutes=5)


async def test_active_subscriber_renews_from_expiry_up_to_max_periods(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff
) -> None:
    assert owner.tenant_id is not None
    async with runtime.sessionmaker() as session:
        await payment_settings.update(
            session, owner.tenant_id, payment_settings.PaymentSettingsUpdate(max_periods=2)
        )
    created = await _subscriber(client, owner)
    expiry = datetime.now(UTC) + 5 * DAY
    await _set_expiry(runtime, created["id"], expiry)

    recorded = await _pay(runtime, owner.tenant_id, created["id"], "70.00")

    assert recorded.renewal is not None and recorded.renewal.periods == 2
    after = await _row(runtime, created["id"])
    assert after.expires_at == expiry + 60 * DAY
    balance, entries = await _ledger(runtime, created["id"])
    assert balance == Decimal("30.00") == _sums(entries)
    # The rest buys one more period with the next payment (30 + 10 = 40: two periods, max 2).
    recorded = await _pay(runtime, owner.tenant_id, created["id"], "10")
    assert recorded.renewal is not None and recorded.renewal.periods == 2
    balance, entries = await _ledger(runtime, created["id"])
    assert balance == Decimal("0.00") == _sums(entries)


async def test_balance_below_price_is_kept_without_renewal(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff
) -> None:
    assert owner.tenant_id is not None
    created = await _subscriber(client, owner)
    await _set_expiry(runtime, created["id"], datetime.now(UTC) - DAY, SuspendReason.EXPIRED)
    before = await _row(runtime, created["id"])

    recorded = await _pay(runtime, owner.tenant_id, created["id"], "15.50")

    assert recorded.renewal is not None and recorded.renewal.periods == 0
    after = await _row(runtime, created["id"])
    assert after.is_suspended and after.desired_version == before.desired_version
    balance, _ = await _ledger(runtime, created["id"])
    assert balance == Decimal("15.50")
    # The second payment completes the price: renewed, 1.50 left.
    recorded = await _pay(runtime, owner.tenant_id, created["id"], "6")
    assert recorded.renewal is not None and recorded.renewal.periods == 1
    assert not (await _row(runtime, created["id"])).is_suspended
    assert (await _ledger(runtime, created["id"]))[0] == Decimal("1.50")


async def test_operator_suspension_is_credited_but_not_reconnected(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff
) -> None:
    assert owner.tenant_id is not None
    created = await _subscriber(client, owner)
    await _set_expiry(runtime, created["id"], datetime.now(UTC) - DAY, SuspendReason.MANUAL)
    before = await _row(runtime, created["id"])

    recorded = await _pay(runtime, owner.tenant_id, created["id"], "40")

    assert recorded.renewal is not None and recorded.renewal.periods == 0
    assert recorded.renewal.skipped == "suspended by an operator"
    after = await _row(runtime, created["id"])
    assert after.is_suspended and after.desired_version == before.desired_version
    assert (await _ledger(runtime, created["id"]))[0] == Decimal("40.00")


async def test_unmatched_payment_is_kept_then_assigned_once(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff
) -> None:
    assert owner.tenant_id is not None
    created = await _subscriber(client, owner)
    await _set_expiry(runtime, created["id"], datetime.now(UTC) - DAY, SuspendReason.EXPIRED)
    recorded = await _pay(runtime, owner.tenant_id, None, "20")
    assert recorded.payment.status == PaymentStatus.UNMATCHED

    async def assign() -> service.Recorded:
        async with runtime.sessionmaker() as session:
            return await service.assign_payment(
                session,
                tenant_id=owner.tenant_id or 0,
                payment_id=recorded.payment.id,
                subscriber_id=created["id"],
                actor="op",
            )

    outcomes = await asyncio.gather(*(assign() for _ in range(5)), return_exceptions=True)
    assert sum(isinstance(o, service.Recorded) for o in outcomes) == 1
    assert all(isinstance(o, (service.Recorded, Conflict)) for o in outcomes), outcomes
    after = await _row(runtime, created["id"])
    assert not after.is_suspended
    balance, entries = await _ledger(runtime, created["id"])
    assert balance == Decimal("0.00") == _sums(entries) and len(entries) == 2
    with pytest.raises(Conflict):
        async with runtime.sessionmaker() as session:
            await service.mark_refunded(
                session,
                tenant_id=owner.tenant_id,
                payment_id=recorded.payment.id,
                note=None,
                actor="op",
            )


@pytest.mark.parametrize("amount", ["0", "-5", "1.001", "abc", "NaN", "Infinity", "1e15"])
async def test_bad_amounts_are_refused_and_nothing_is_written(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff, amount: str
) -> None:
    assert owner.tenant_id is not None
    created = await _subscriber(client, owner)
    with pytest.raises(InvalidInput) as refused:
        await _pay(runtime, owner.tenant_id, created["id"], amount, "BADAMT")
    assert refused.value.field == "amount"
    async with runtime.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).where(
                Payment.tenant_id == owner.tenant_id, Payment.provider_reference == "BADAMT"
            )
        )
    assert count == 0


async def test_free_renewal_is_in_the_ledger(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff
) -> None:
    created = await _subscriber(client, owner)
    response = await client.post(
        f"/api/v1/subscribers/{created['id']}/renew", headers=owner.headers
    )
    assert response.status_code == 200, response.text
    balance, entries = await _ledger(runtime, created["id"])
    assert balance == Decimal("0") and [e.kind for e in entries] == [EntryKind.FREE]
    assert entries[0].periods == 1 and entries[0].actor == owner.email
