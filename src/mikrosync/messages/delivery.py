"""Running one message job: at most one message per (subscriber, event, occasion, channel).

The log row is claimed before sending (insert, or a conditional UPDATE of a failed attempt), so
two copies of a job never both send; a reminder whose subscriber renewed meanwhile (its expiry
is no longer the one the reminder is about) is skipped, not sent. If the process dies between
the provider's acceptance and the "sent" mark, the retry sends again: SMTP and SMS APIs offer
no idempotency key, so that one window stays at-least-once.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.db.session import SessionMaker
from mikrosync.messages import settings as message_settings
from mikrosync.messages.jobs import MessageJob, occasion_epoch
from mikrosync.messages.models import Channel, CustomerMessage, Event, MessageStatus
from mikrosync.messages.senders import SendFailed, send_email, send_sms
from mikrosync.messages.templates import text_for
from mikrosync.packages.models import Package
from mikrosync.payments.models import Payment, Wallet
from mikrosync.payments.mpesa.daraja import normalize_msisdn
from mikrosync.payments.settings import load as load_payment_settings
from mikrosync.security.vault import Vault
from mikrosync.subscribers.models import Subscriber
from mikrosync.tenants.models import Tenant

log = logging.getLogger(__name__)

# A `sending` row older than this belongs to a sender that died (a send times out after 20 s):
# a retry takes it over. A younger one may still be sending: the retry waits (MessageBusy).
STALE_SENDING = timedelta(seconds=90)


class MessageBusy(SendFailed):
    """Another attempt holds this message and may still be sending it: retry later."""


SUBJECTS = {
    Event.PAYMENT_RECEIVED: "Payment received",
    Event.RECONNECTED: "You are back online",
    Event.EXPIRING: "Your internet expires soon",
    Event.EXPIRED: "Your internet has expired",
}


def _zone(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _still_due(job: MessageJob, subscriber: Subscriber) -> bool:
    """A reminder is about one expiry instant: a renewal since makes it moot."""
    if job.event not in (Event.EXPIRING, Event.EXPIRED):
        return True
    wanted = occasion_epoch(job.occasion)
    if subscriber.expires_at is None or wanted is None:
        return False
    same = abs(subscriber.expires_at.timestamp() - wanted) < 1
    if job.event == Event.EXPIRING:
        return same and subscriber.expires_at > now()
    return same and subscriber.is_suspended


async def _values(session: AsyncSession, job: MessageJob, subscriber: Subscriber) -> dict[str, str]:
    tenant = await session.get(Tenant, job.tenant_id)
    tz = _zone(tenant.timezone if tenant else None)
    rules = await load_payment_settings(session, job.tenant_id)
    package = await session.get(Package, subscriber.package_id)
    wallet = await session.get(Wallet, subscriber.id)
    values = {
        "name": subscriber.full_name or subscriber.username,
        "username": subscriber.username,
        "currency": rules.currency,
        "price": f"{package.price:.2f}" if package else "",
        "balance": f"{(wallet.balance if wallet else Decimal('0')):.2f}",
        "expiry": (
            subscriber.expires_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            if subscriber.expires_at
            else "-"
        ),
        "amount": "",
        "days": job.occasion.rsplit("-", 1)[-1].removesuffix("d")
        if job.occasion.endswith("d")
        else "",
    }
    if job.occasion.startswith("pay-") and job.occasion[4:].isdigit():
        payment = await session.get(Payment, int(job.occasion[4:]))
        if payment is not None:
            values["amount"] = f"{payment.amount:.2f}"
    return values


async def _claim(
    session: AsyncSession, job: MessageJob, recipient: str | None, body: str | None, status: str
) -> CustomerMessage | None:
    """The log row, now ours to send (attempts + 1); None if it is done (sent or skipped);
    MessageBusy if another attempt holds it and may still be sending."""
    key = (
        CustomerMessage.subscriber_id == job.subscriber_id,
        CustomerMessage.event == job.event,
        CustomerMessage.occasion == job.occasion,
        CustomerMessage.channel == job.channel,
    )
    existing = (await session.scalars(select(CustomerMessage).where(*key))).first()
    if existing is None:
        row = CustomerMessage(
            tenant_id=job.tenant_id,
            subscriber_id=job.subscriber_id,
            event=job.event,
            occasion=job.occasion,
            channel=job.channel,
            status=status,
            attempts=1 if status == MessageStatus.SENDING else 0,
            claimed_at=now(),
            recipient=recipient,
            body=body,
            created_at=now(),
        )
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            if status != MessageStatus.SENDING:
                return None
            raise MessageBusy("another attempt took this message; retrying later") from None
        return row if status == MessageStatus.SENDING else None
    if status != MessageStatus.SENDING:
        return None
    claimed = await session.execute(
        update(CustomerMessage)
        .where(
            CustomerMessage.id == existing.id,
            CustomerMessage.attempts == existing.attempts,
            or_(
                CustomerMessage.status == MessageStatus.FAILED,
                and_(
                    CustomerMessage.status == MessageStatus.SENDING,
                    CustomerMessage.claimed_at < now() - STALE_SENDING,
                ),
            ),
        )
        .values(
            status=MessageStatus.SENDING,
            attempts=existing.attempts + 1,
            body=body,
            claimed_at=now(),
        )
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    if getattr(claimed, "rowcount", 0) == 1:
        return existing
    current = await session.get(CustomerMessage, existing.id, populate_existing=True)
    if current is not None and current.status == MessageStatus.SENDING:
        raise MessageBusy("another attempt is sending this message; retrying later")
    return None


async def deliver(
    sessionmaker: SessionMaker,
    vault: Vault,
    job: MessageJob,
    *,
    sms_transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Send the job's message once; returns what happened. Raises SendFailed (the queue
    retries the job) when the provider refused or could not be reached."""
    async with sessionmaker() as session:
        subscriber = await session.get(Subscriber, job.subscriber_id)
        if subscriber is None or subscriber.tenant_id != job.tenant_id:
            return "subscriber gone"
        stored = await message_settings.load(session, job.tenant_id)
        if not _still_due(job, subscriber):
            await _claim(session, job, None, "renewed meanwhile", MessageStatus.SKIPPED)
            return "skipped: renewed meanwhile"
        if job.channel == Channel.EMAIL:
            recipient = subscriber.email
            smtp = message_settings.smtp_config(stored, vault)
            ready = smtp is not None
        else:
            recipient = normalize_msisdn(subscriber.phone)
            sms = message_settings.sms_config(stored, vault)
            ready = sms is not None
        if not recipient or not ready:
            await _claim(session, job, recipient, None, MessageStatus.SKIPPED)
            return "skipped: no address or channel off"
        text = text_for(job.event, stored.templates or {}, await _values(session, job, subscriber))
        row = await _claim(session, job, recipient, text, MessageStatus.SENDING)
        if row is None:
            return "already sent"
        row_id = row.id
    try:
        if job.channel == Channel.EMAIL:
            assert smtp is not None
            await send_email(smtp, recipient, SUBJECTS[job.event], text)
        else:
            assert sms is not None
            await send_sms(sms, recipient, text, transport=sms_transport)
    except SendFailed as exc:
        await _mark(sessionmaker, row_id, MessageStatus.FAILED, str(exc))
        log.warning(
            "%s %s to subscriber %s failed: %s", job.event, job.channel, job.subscriber_id, exc
        )
        raise
    await _mark(sessionmaker, row_id, MessageStatus.SENT, None)
    return "sent"


async def _mark(sessionmaker: SessionMaker, row_id: int, status: str, error: str | None) -> None:
    async with sessionmaker() as session:
        values: dict[str, object] = {"status": status, "error": error}
        if status == MessageStatus.SENT:
            values["sent_at"] = now()
        await session.execute(
            update(CustomerMessage).where(CustomerMessage.id == row_id).values(**values)
        )
        await session.commit()
