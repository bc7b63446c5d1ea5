"""Payments and wallets: record a payment (operators), list with totals, the wallet ledger,
unmatched payments assigned or marked refunded, and the tenant's renewal rules (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from mikrosync.api.deps import Admin, Operator, Reader, RuntimeDep, SessionDep
from mikrosync.api.responses import OBJECTS
from mikrosync.errors import InvalidInput
from mikrosync.http.fields import Id
from mikrosync.jobs.message_push import after_payment
from mikrosync.jobs.push import push_intents
from mikrosync.payments import queries, service
from mikrosync.payments import settings as payment_settings
from mikrosync.payments.models import Method
from mikrosync.payments.schemas import (
    AssignPayment,
    PaymentCreate,
    PaymentFilters,
    PaymentPage,
    PaymentRead,
    PaymentRecorded,
    PaymentTotals,
    RefundPayment,
    RenewalRead,
    WalletEntryRead,
    WalletRead,
)

router = APIRouter(tags=["payments"], responses=OBJECTS)


def _recorded(result: service.Recorded) -> PaymentRecorded:
    renewal = result.renewal
    return PaymentRecorded(
        payment=PaymentRead.model_validate(result.payment),
        duplicate=result.duplicate,
        renewal=RenewalRead(
            periods=renewal.periods,
            expires_at=renewal.expires_at,
            cost=renewal.cost,
            skipped=renewal.skipped,
        )
        if renewal is not None
        else None,
    )


@router.post("/payments", operation_id="recordPayment", status_code=status.HTTP_201_CREATED)
async def record_payment(
    data: PaymentCreate, session: SessionDep, runtime: RuntimeDep, principal: Operator
) -> PaymentRecorded:
    """Record a payment received by staff: credited to the wallet, whole periods bought from
    it, the subscriber reconnected through the queue. The same `reference` again is a no-op
    (`duplicate: true`)."""
    method = Method(data.method)
    result = await service.record_payment(
        session,
        tenant_id=principal.tenant_id,
        data=service.NewPayment(
            amount=data.amount,
            method=method,
            provider=method.value,
            provider_reference=data.reference,
            subscriber_id=data.subscriber_id,
            payer_name=data.payer_name,
            payer_phone=data.payer_phone,
            received_at=data.received_at,
            note=data.note,
        ),
        actor=principal.email,
    )
    if result.subscriber is not None:
        await push_intents(runtime.queue, [result.subscriber])
        await after_payment(runtime.sessionmaker, runtime.queue, result)
    return _recorded(result)


@router.get("/payments", operation_id="listPayments")
async def list_payments(
    filters: Annotated[PaymentFilters, Query()], session: SessionDep, principal: Reader
) -> PaymentPage:
    """Payments matching the filters, newest first, with the count and sum of all matches."""
    items, total, amount = await queries.list_payments(
        session, tenant_id=principal.tenant_id, filters=filters
    )
    return PaymentPage(
        items=[PaymentRead.model_validate(p) for p in items],
        total=total,
        page=filters.page,
        per_page=filters.per_page,
        totals=PaymentTotals(count=total, amount=amount),
    )


@router.get("/payments/{payment_id:int}", operation_id="getPayment")
async def get_payment(payment_id: Id, session: SessionDep, principal: Reader) -> PaymentRead:
    found = await queries.get_payment(session, tenant_id=principal.tenant_id, payment_id=payment_id)
    return PaymentRead.model_validate(found)


@router.post("/payments/{payment_id:int}/assign", operation_id="assignPayment")
async def assign_payment(
    payment_id: Id,
    data: AssignPayment,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Operator,
) -> PaymentRecorded:
    """Apply an unmatched payment to a subscriber (credit, renew, reconnect); 409 if it is
    not unmatched any more."""
    await queries.get_payment(session, tenant_id=principal.tenant_id, payment_id=payment_id)
    if data.subscriber_id is None:
        raise InvalidInput("subscriber_id", "subscriber_id is required")
    result = await service.assign_payment(
        session,
        tenant_id=principal.tenant_id,
        payment_id=payment_id,
        subscriber_id=data.subscriber_id,
        actor=principal.email,
    )
    if result.subscriber is not None:
        await push_intents(runtime.queue, [result.subscriber])
        await after_payment(runtime.sessionmaker, runtime.queue, result)
    return _recorded(result)


@router.post("/payments/{payment_id:int}/refund", operation_id="refundPayment")
async def refund_payment(
    payment_id: Id, data: RefundPayment, session: SessionDep, principal: Operator
) -> PaymentRead:
    """Mark an unmatched payment as refunded to the payer (the money moves outside)."""
    payment = await service.mark_refunded(
        session,
        tenant_id=principal.tenant_id,
        payment_id=payment_id,
        note=data.note,
        actor=principal.email,
    )
    return PaymentRead.model_validate(payment)


@router.get("/subscribers/{subscriber_id:int}/wallet", operation_id="getSubscriberWallet")
async def get_wallet(
    subscriber_id: Id,
    session: SessionDep,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> WalletRead:
    """The subscriber's balance and ledger (newest first)."""
    balance, entries = await queries.wallet(
        session, tenant_id=principal.tenant_id, subscriber_id=subscriber_id, limit=limit
    )
    return WalletRead(
        subscriber_id=subscriber_id,
        balance=balance,
        entries=[WalletEntryRead.model_validate(e) for e in entries],
    )


@router.get("/payment-settings", operation_id="getPaymentSettings")
async def read_settings(
    session: SessionDep, principal: Reader
) -> payment_settings.PaymentSettingsRead:
    return await payment_settings.load(session, principal.tenant_id)


@router.patch("/payment-settings", operation_id="updatePaymentSettings")
async def update_settings(
    data: payment_settings.PaymentSettingsUpdate, session: SessionDep, principal: Admin
) -> payment_settings.PaymentSettingsRead:
    """Renewal rules: `max_periods` bought from the wallet at once; the currency shown."""
    return await payment_settings.update(session, principal.tenant_id, data)
