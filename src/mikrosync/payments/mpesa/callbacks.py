"""What a Daraja callback does, once its URL's token and source were accepted.

Each handler answers in Daraja's shape and returns the subscriber whose job the caller pushes
after the commit. A payment for an unknown account is recorded unmatched and answered
"Accepted": the money has left the payer, so it must never be refused or lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import InvalidInput, NotFound
from mikrosync.payments import service
from mikrosync.payments.matching import match_subscriber
from mikrosync.payments.models import Method, MpesaAccount, StkRequest
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
    request = (
        await session.scalars(
            select(StkRequest).where(
                StkRequest.tenant_id == account.tenant_id,
                StkRequest.checkout_request_id == result.checkout_request_id,
            )
        )
    ).first()
    if not result.succeeded:
        if request is not None and request.status == "pending":
            request.status = "failed"
            request.result_code = result.result_code
            request.result_desc = result.result_desc
            await session.commit()
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
        # A callback for a push we have no record of (or sent before its request was saved):
        # the money is real, so match it like a paybill payment.
        subscriber_id = await match_subscriber(
            session, account.tenant_id, account=None, phone=result.phone
        )
    request_id = request.id if request is not None else None
    await session.commit()
    try:
        recorded = await service.record_payment(
            session,
            tenant_id=account.tenant_id,
            data=service.NewPayment(
                amount=result.amount,
                method=Method.MPESA,
                provider=PROVIDER,
                provider_reference=result.receipt,
                subscriber_id=subscriber_id,
                payer_phone=result.phone,
                received_at=result.paid_at,
                note=f"STK push {result.checkout_request_id}",
                raw=body,
            ),
            actor=ACTOR,
        )
    except NotFound:
        # The subscriber was deleted since the push: keep the money, unmatched.
        recorded = await service.record_payment(
            session,
            tenant_id=account.tenant_id,
            data=service.NewPayment(
                amount=result.amount,
                method=Method.MPESA,
                provider=PROVIDER,
                provider_reference=result.receipt,
                payer_phone=result.phone,
                received_at=result.paid_at,
                raw=body,
            ),
            actor=ACTOR,
        )
    if request_id is not None:
        stored = await session.get(StkRequest, request_id, populate_existing=True)
        if stored is not None and stored.status != "succeeded":
            stored.status = "succeeded"
            stored.result_code = 0
            stored.result_desc = result.result_desc
            stored.payment_id = recorded.payment.id
            await session.commit()
    return _accepted(recorded)
