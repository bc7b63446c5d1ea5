"""What a Daraja callback does, once its URL's token and source were accepted.

Each handler answers in Daraja's shape and returns the subscriber whose job the caller pushes
after the commit. A payment for an unknown account is recorded unmatched and answered
"Accepted": the money has left the payer, so it must never be refused or lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import InvalidInput, NotFound
from mikrosync.payments import service
from mikrosync.payments.matching import match_subscriber
from mikrosync.payments.models import Method, MpesaAccount, Payment, StkRequest
from mikrosync.payments.mpesa import daraja
from mikrosync.subscribers.models import Subscriber

log = logging.getLogger(__name__)

PROVIDER = "mpesa"
ACTOR = "mpesa"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    subscriber: Subscriber | None = None
    recorded: service.Recorded | None = None


def _accepted(recorded: service.Recorded | None = None) -> Answer:
    subscriber = recorded.subscriber if recorded is not None else None
    return Answer(200, dict(daraja.ACCEPTED), subscriber, recorded)


def _wrong_shortcode(account: MpesaAccount, payment: daraja.C2BPayment) -> bool:
    return payment.shortcode is not None and payment.shortcode != account.shortcode


async def c2b_validation(account: MpesaAccount, body: dict[str, Any]) -> Answer:
    """Daraja asks before completing a paybill payment. Bad amounts and another business's
    shortcode are rejected; unknown accounts are accepted (they become unmatched payments)."""
    try:
        payment = daraja.read_c2b(body)
    except InvalidInput as exc:
        log.warning("M-Pesa validation rejected for tenant %s: %s", account.tenant_id, exc)
        code = daraja.REJECT_INVALID_AMOUNT if exc.field == "TransAmount" else daraja.REJECT_OTHER
        return Answer(200, daraja.rejected(code, exc.message))
    if _wrong_shortcode(account, payment):
        log.warning(
            "M-Pesa validation for shortcode %s on tenant %s (expects %s)",
            payment.shortcode,
            account.tenant_id,
            account.shortcode,
        )
        return Answer(200, daraja.rejected(daraja.REJECT_INVALID_SHORTCODE, "unknown shortcode"))
    return _accepted()


async def c2b_confirmation(
    session: AsyncSession, account: MpesaAccount, body: dict[str, Any]
) -> Answer:
    """A completed paybill payment: recorded once per TransID, matched, credited, renewed."""
    try:
        payment = daraja.read_c2b(body)
    except InvalidInput as exc:
        log.warning(
            "M-Pesa confirmation refused for tenant %s: %s (TransID %r)",
            account.tenant_id,
            exc,
            str(body.get("TransID"))[:64],
        )
        return Answer(400, daraja.rejected(1, exc.message))
    if _wrong_shortcode(account, payment):
        log.warning(
            "M-Pesa confirmation %s for shortcode %s refused on tenant %s (expects %s)",
            payment.trans_id,
            payment.shortcode,
            account.tenant_id,
            account.shortcode,
        )
        return Answer(400, daraja.rejected(1, "unknown shortcode"))
    subscriber_id = await match_subscriber(
        session, account.tenant_id, account=payment.account, phone=payment.msisdn
    )
    data = service.NewPayment(
        amount=payment.amount,
        method=Method.MPESA,
        provider=PROVIDER,
        provider_reference=payment.trans_id,
        subscriber_id=subscriber_id,
        account_reference=payment.account,
        payer_phone=payment.msisdn,
        payer_name=payment.payer_name,
        received_at=payment.received_at,
        raw=body,
    )
    try:
        recorded = await service.record_payment(
            session, tenant_id=account.tenant_id, data=data, actor=ACTOR
        )
    except NotFound:
        # The matched subscriber was deleted meanwhile: keep the money, unmatched.
        data.subscriber_id = None
        recorded = await service.record_payment(
            session, tenant_id=account.tenant_id, data=data, actor=ACTOR
        )
    if recorded.duplicate:
        log.info("M-Pesa confirmation %s replayed: already recorded", payment.trans_id)
    return _accepted(recorded)


async def stk_callback(
    session: AsyncSession, account: MpesaAccount, body: dict[str, Any]
) -> Answer:
    """The outcome of an STK push: a success is a payment (its receipt is a TransID like any
    other, so a C2B copy of it is a duplicate); a failure is noted on the request."""
    try:
        result = daraja.read_stk_callback(body)
    except InvalidInput as exc:
        log.warning("M-Pesa STK callback refused for tenant %s: %s", account.tenant_id, exc)
        return Answer(400, daraja.rejected(1, exc.message))
    request = await _request_row(session, account.tenant_id, result.checkout_request_id)
    if not result.succeeded:
        await _note_outcome(session, account.tenant_id, result, None)
        log.info(
            "M-Pesa STK %s failed: %s %s",
            result.checkout_request_id,
            result.result_code,
            result.result_desc,
        )
        return _accepted()
    assert result.amount is not None and result.receipt is not None
    subscriber_id = request.subscriber_id if request is not None else None
    if subscriber_id is None:
        # A callback for a push we have no record of yet (Daraja answered before the push's
        # own commit) or at all: the money is real, so match it like a paybill payment.
        subscriber_id = await match_subscriber(
            session, account.tenant_id, account=None, phone=result.phone
        )
    await session.commit()
    data = service.NewPayment(
        amount=result.amount,
        method=Method.MPESA,
        provider=PROVIDER,
        provider_reference=result.receipt,
        subscriber_id=subscriber_id,
        payer_phone=result.phone,
        received_at=result.paid_at,
        note=f"STK push {result.checkout_request_id}",
        raw=body,
    )
    try:
        recorded = await service.record_payment(
            session, tenant_id=account.tenant_id, data=data, actor=ACTOR
        )
    except NotFound:
        # The subscriber was deleted since the push: keep the money, unmatched.
        data.subscriber_id = None
        recorded = await service.record_payment(
            session, tenant_id=account.tenant_id, data=data, actor=ACTOR
        )
    await _note_outcome(session, account.tenant_id, result, recorded.payment)
    return _accepted(recorded)


async def _request_row(
    session: AsyncSession, tenant_id: int, checkout_request_id: str
) -> StkRequest | None:
    query = select(StkRequest).where(
        StkRequest.tenant_id == tenant_id,
        StkRequest.checkout_request_id == checkout_request_id,
    )
    return (await session.scalars(query.execution_options(populate_existing=True))).first()


async def _note_outcome(
    session: AsyncSession, tenant_id: int, result: daraja.StkResult, payment: Payment | None
) -> None:
    """Put the push's outcome on its request row. Daraja may call back before the push's own
    commit saved that row: then the row is created here, and the push adopts it (stk.py). A
    success wins over a failure that came first (the money is real); a late failure never
    undoes a success."""
    for _ in range(2):
        row = await _request_row(session, tenant_id, result.checkout_request_id)
        if row is None:
            session.add(
                StkRequest(
                    tenant_id=tenant_id,
                    checkout_request_id=result.checkout_request_id,
                    subscriber_id=payment.subscriber_id if payment is not None else None,
                    amount=result.amount or Decimal("0"),
                    phone=result.phone or "",
                    status="succeeded" if payment is not None else "failed",
                    result_code=result.result_code,
                    result_desc=result.result_desc,
                    payment_id=payment.id if payment is not None else None,
                    requested_by="daraja callback",
                )
            )
            try:
                await session.commit()
                return
            except IntegrityError:
                await session.rollback()  # the push saved its row meanwhile: update that
                continue
        if payment is not None and row.status != "succeeded":
            row.status, row.payment_id = "succeeded", payment.id
        elif payment is None and row.status == "pending":
            row.status = "failed"
        else:
            return
        row.result_code, row.result_desc = result.result_code, result.result_desc
        await session.commit()
        return
