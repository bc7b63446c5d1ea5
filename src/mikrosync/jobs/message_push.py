"""Which messages to send, pushed as jobs after the commit that caused them: a payment's
receipt (or "reconnected" when it renewed), and the reminders found by the periodic scan."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.db.session import SessionMaker
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.jobs.producer import JobQueue
from mikrosync.messages.jobs import SEND_MESSAGE, MessageJob, expiry_occasion
from mikrosync.messages.models import Channel, CustomerMessage, Event, MessageSettings
from mikrosync.payments.service import Recorded
from mikrosync.subscribers.models import Subscriber, SuspendReason

log = logging.getLogger(__name__)

# Expired subscribers are told once, if they expired within this long (not months later,
# when messages start being switched on).
EXPIRED_NOTICE_WINDOW = timedelta(days=2)


def _channels(settings: MessageSettings | None, subscriber: Subscriber) -> list[Channel]:
    if settings is None:
        return []
    found = []
    if settings.email_enabled and subscriber.email:
        found.append(Channel.EMAIL)
    if settings.sms_enabled and subscriber.phone:
        found.append(Channel.SMS)
    return found


async def payment_jobs(session: AsyncSession, recorded: Recorded) -> list[MessageJob]:
    """The receipt of a newly recorded payment, per channel the subscriber can be reached on."""
    subscriber = recorded.subscriber
    if recorded.duplicate or subscriber is None:
        return []
    settings = await session.get(MessageSettings, subscriber.tenant_id)
    renewed = recorded.renewal is not None and recorded.renewal.periods > 0
    event = Event.RECONNECTED if renewed else Event.PAYMENT_RECEIVED
    return [
        MessageJob(subscriber.tenant_id, subscriber.id, event, f"pay-{recorded.payment.id}", c)
        for c in _channels(settings, subscriber)
    ]


async def push(queue: JobQueue, jobs: list[MessageJob]) -> int:
    """Push the jobs (a job id per message: pushing one twice is a no-op). Best effort like
    every hint: a lost push loses at most a receipt, and the scan re-finds reminders."""
    pushed = 0
    for job in jobs:
        try:
            await queue.push(SEND_MESSAGE, job.data(), job_id=job.job_id)
            pushed += 1
        except QueueUnavailable as exc:
            log.warning("message job push failed (%s): %s", exc, job.job_id)
    return pushed


async def reminder_jobs(sessionmaker: SessionMaker, moment: datetime) -> list[MessageJob]:
    """Reminders due now, over every tenant with messages on: "expiring" in the bucket of each
    reminder day (with days [3, 1]: expiring within (1, 3] days gets the 3-day one, within
    (0, 1] the 1-day one), and "expired" for subscribers cut for expiry lately. Messages
    already sent or skipped are left out."""
    jobs: list[MessageJob] = []
    async with sessionmaker() as session:
        tenants = (
            await session.scalars(
                select(MessageSettings).where(
                    MessageSettings.email_enabled.is_(True) | MessageSettings.sms_enabled.is_(True)
                )
            )
        ).all()
        for settings in tenants:
            jobs.extend(await _tenant_reminders(session, settings, moment))
    return jobs


async def _tenant_reminders(
    session: AsyncSession, settings: MessageSettings, moment: datetime
) -> list[MessageJob]:
    live = (
        Subscriber.tenant_id == settings.tenant_id,
        Subscriber.pending_removal.is_(False),
    )
    wanted: list[tuple[Subscriber, Event, str]] = []
    days = sorted({int(d) for d in settings.reminder_days or []}, reverse=True)
    for index, day in enumerate(days):
        lower = days[index + 1] if index + 1 < len(days) else 0
        rows = await session.scalars(
            select(Subscriber).where(
                *live,
                Subscriber.is_suspended.is_(False),
                Subscriber.expires_at > moment + timedelta(days=lower),
                Subscriber.expires_at <= moment + timedelta(days=day),
            )
        )
        for subscriber in rows:
            assert subscriber.expires_at is not None
            wanted.append((subscriber, Event.EXPIRING, expiry_occasion(subscriber.expires_at, day)))
    expired = await session.scalars(
        select(Subscriber).where(
            *live,
            Subscriber.is_suspended.is_(True),
            Subscriber.suspend_reason == SuspendReason.EXPIRED,
            Subscriber.expires_at > moment - EXPIRED_NOTICE_WINDOW,
            Subscriber.expires_at <= moment,
        )
    )
    for subscriber in expired:
        assert subscriber.expires_at is not None
        wanted.append((subscriber, Event.EXPIRED, expiry_occasion(subscriber.expires_at)))
    if not wanted:
        return []
    done = {
        tuple(row)
        for row in (
            await session.execute(
                select(
                    CustomerMessage.subscriber_id,
                    CustomerMessage.event,
                    CustomerMessage.occasion,
                    CustomerMessage.channel,
                ).where(
                    CustomerMessage.tenant_id == settings.tenant_id,
                    CustomerMessage.subscriber_id.in_({s.id for s, _, _ in wanted}),
                    CustomerMessage.status.in_(["sent", "skipped"]),
                )
            )
        ).all()
    }
    jobs = []
    for subscriber, event, occasion in wanted:
        for channel in _channels(settings, subscriber):
            if (subscriber.id, event.value, occasion, channel.value) not in done:
                jobs.append(MessageJob(settings.tenant_id, subscriber.id, event, occasion, channel))
    return jobs


async def after_payment(sessionmaker: SessionMaker, queue: JobQueue, recorded: Recorded) -> None:
    """After a payment's commit: push its receipt message(s), if the tenant sends any."""
    if recorded.duplicate or recorded.subscriber is None:
        return
    async with sessionmaker() as session:
        jobs = await payment_jobs(session, recorded)
    if jobs:
        await push(queue, jobs)
