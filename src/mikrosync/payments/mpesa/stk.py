"""Starting an STK push for a subscriber: Daraja prompts the payer's phone; the outcome
arrives later on the STK callback, matched by CheckoutRequestID."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import Conflict, InvalidInput, StateConflict
from mikrosync.payments.models import Payment, PaymentStatus, StkRequest
from mikrosync.payments.money import parse_amount
from mikrosync.payments.mpesa.account import credentials, get_account
from mikrosync.payments.mpesa.client import DarajaClient
from mikrosync.payments.mpesa.daraja import normalize_msisdn
from mikrosync.payments.service import Recorded, assign_payment
from mikrosync.security.vault import Vault
from mikrosync.subscribers.queries import get_subscriber


async def start_stk_push(
    session: AsyncSession,
    *,
    tenant_id: int,
    subscriber_id: int,
    amount: object,
    phone: str | None,
    vault: Vault,
    actor: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> StkStartedResult:
    """Push a payment prompt to `phone` (default: the subscriber's). Raises InvalidInput for
    a bad amount or phone, DarajaError when Daraja refuses; nothing is stored then."""
    value = parse_amount(amount)
    if value != value.to_integral_value():
        raise InvalidInput("amount", "M-Pesa STK push takes whole amounts only")
    subscriber = await get_subscriber(session, tenant_id=tenant_id, subscriber_id=subscriber_id)
    msisdn = normalize_msisdn(phone or subscriber.phone)
    if msisdn is None:
        # The subscriber's stored phone is a state the request cannot fix (409 in the API).
        error = InvalidInput if phone else StateConflict
        raise error("phone", "a Kenyan phone number is needed (07XXXXXXXX or 2547XXXXXXXX)")
    account = await get_account(session, tenant_id)
    client = DarajaClient(credentials(account, vault), transport=transport)
    base_url = account.callback_base_url
    username = subscriber.username
    # No transaction is held open across Daraja's round trip.
    await session.commit()
    started = await client.stk_push(
        amount=Decimal(value), phone=msisdn, account_reference=username, callback_base_url=base_url
    )
    request = StkRequest(
        tenant_id=tenant_id,
        checkout_request_id=started.checkout_request_id,
        subscriber_id=subscriber_id,
        amount=value,
        phone=msisdn,
        status="pending",
        requested_by=actor,
    )
    session.add(request)
    try:
        await session.commit()
    except IntegrityError:
        # Daraja called back before this commit: the callback saved the row; adopt it.
        await session.rollback()
        return await _adopt(session, tenant_id, started.checkout_request_id, subscriber_id, actor)
    return StkStartedResult(request, None)


async def _adopt(
    session: AsyncSession, tenant_id: int, checkout_request_id: str, subscriber_id: int, actor: str
) -> StkStartedResult:
    """Take over the request row a fast callback created; if its payment could not be
    matched (the phone was not the subscriber's), apply it to the subscriber now."""
    query = select(StkRequest).where(
        StkRequest.tenant_id == tenant_id, StkRequest.checkout_request_id == checkout_request_id
    )
    row = (await session.scalars(query)).one()
    row.subscriber_id = row.subscriber_id or subscriber_id
    row.requested_by = actor
    payment_id = row.payment_id
    await session.commit()
    recorded = None
    if payment_id is not None:
        payment = await session.get(Payment, payment_id)
        if payment is not None and payment.status == PaymentStatus.UNMATCHED:
            with contextlib.suppress(Conflict):  # an operator assigned it meanwhile
                recorded = await assign_payment(
                    session,
                    tenant_id=tenant_id,
                    payment_id=payment_id,
                    subscriber_id=subscriber_id,
                    actor=actor,
                )
    return StkStartedResult(row, recorded)


@dataclass(frozen=True)
class StkStartedResult:
    request: StkRequest
    # Set when the push applied a payment that had arrived first (push its subscriber's job).
    recorded: Recorded | None
