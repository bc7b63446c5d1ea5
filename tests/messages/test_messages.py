"""Customer messages on both databases: a reminder arrives once in a local SMTP server (even
when its job runs twice at once), never after a renewal, a payment's receipt goes by SMS to a
local endpoint in the generic and Africa's Talking formats, a provider outage is retried,
and the settings keep their secrets."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mikrosync.jobs.message_push import payment_jobs, reminder_jobs
from mikrosync.messages.delivery import MessageBusy, deliver
from mikrosync.messages.jobs import MessageJob
from mikrosync.messages.models import Channel, CustomerMessage, Event, MessageSettings
from mikrosync.messages.senders import SendFailed
from mikrosync.payments import service
from mikrosync.payments.models import Method
from mikrosync.runtime import Runtime
from mikrosync.tenants.models import Role
from tests.helpers import make_package, make_subscriber
from tests.plugins.core import Staff, TenantFactory
from tests.plugins.mail import SmsEndpoint, SmtpServer


async def _settings(client: httpx.AsyncClient, owner: Staff, **fields: Any) -> dict[str, Any]:
    response = await client.patch("/api/v1/message-settings", json=fields, headers=owner.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _email_on(client: httpx.AsyncClient, owner: Staff, smtp: SmtpServer) -> None:
    await _settings(
        client,
        owner,
        email_enabled=True,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_starttls=False,
        smtp_from="billing@isp.test",
        reminder_days=[3, 1],
    )


async def _subscriber(client: httpx.AsyncClient, owner: Staff, **fields: Any) -> dict[str, Any]:
    package = await make_package(client, owner, price="25.00")
    return await make_subscriber(client, owner, package_id=package["id"], **fields)


def _mine(jobs: list[MessageJob], subscriber_id: int) -> list[MessageJob]:
    return [job for job in jobs if job.subscriber_id == subscriber_id]


async def test_expiry_reminder_arrives_once(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff, smtp_server: SmtpServer
) -> None:
    await _email_on(client, owner, smtp_server)
    expires = datetime.now(UTC) + timedelta(days=2)
    created = await _subscriber(
        client, owner, email="ann@home.test", full_name="Ann", expires_at=expires.isoformat()
    )
    jobs = _mine(await reminder_jobs(runtime.sessionmaker, datetime.now(UTC)), created["id"])
    assert [(j.event, j.channel) for j in jobs] == [(Event.EXPIRING, Channel.EMAIL)]
    assert jobs[0].occasion.endswith("-3d")

    outcomes = await asyncio.gather(
        *(deliver(runtime.sessionmaker, runtime.vault, jobs[0]) for _ in range(3)),
        return_exceptions=True,
    )
    again = await deliver(runtime.sessionmaker, runtime.vault, jobs[0])

    # One copy sends; the others see it sent, or see it being sent and ask to be retried.
    assert outcomes.count("sent") == 1, outcomes
    assert all(o in ("sent", "already sent") or isinstance(o, MessageBusy) for o in outcomes)
    assert again == "already sent"
    mails = [m for m in smtp_server.mailbox.messages if m["To"] == "ann@home.test"]
    assert len(mails) == 1
    assert mails[0]["Subject"] == "Your internet expires soon"
    body = mails[0].get_payload()
    assert isinstance(body, str) and "Hello Ann" in body and "Pay 25.00 KES" in body
    assert created["username"] in body
    # The next scans leave it out; a day later the 1-day reminder is a new occasion.
    assert _mine(await reminder_jobs(runtime.sessionmaker, datetime.now(UTC)), created["id"]) == []
    later = _mine(
        await reminder_jobs(runtime.sessionmaker, datetime.now(UTC) + timedelta(days=1, hours=12)),
        created["id"],
    )
    assert [j.occasion.endswith("-1d") for j in later] == [True]


async def test_no_reminder_after_a_renewal(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff, smtp_server: SmtpServer
) -> None:
    await _email_on(client, owner, smtp_server)
    expires = datetime.now(UTC) + timedelta(hours=20)
    created = await _subscriber(
        client, owner, email="ben@home.test", expires_at=expires.isoformat()
    )
    [job] = _mine(await reminder_jobs(runtime.sessionmaker, datetime.now(UTC)), created["id"])
    renewed = await client.post(f"/api/v1/subscribers/{created['id']}/renew", headers=owner.headers)
    assert renewed.status_code == 200
    outcome = await deliver(runtime.sessionmaker, runtime.vault, job)
    assert outcome == "skipped: renewed meanwhile"
    assert not [m for m in smtp_server.mailbox.messages if m["To"] == "ben@home.test"]


async def test_payment_receipt_by_sms_generic_and_africastalking(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff, sms_endpoint: SmsEndpoint
) -> None:
    assert owner.tenant_id is not None
    await _settings(
        client,
        owner,
        sms_enabled=True,
        sms_provider="generic",
        sms_url=sms_endpoint.url,
        sms_api_key="sms-secret-key",
        sms_body_template='{"recipient": "{phone}", "text": "{message}", "from": "{sender}"}',
        sms_sender="MYISP",
        templates={"reconnected": 'Hi {name}: "{amount}" paid, until {expiry}.'},
    )
    created = await _subscriber(client, owner, phone="0712 333 444", full_name="Cy")
    async with runtime.sessionmaker() as session:
        recorded = await service.record_payment(
            session,
            tenant_id=owner.tenant_id,
            data=service.NewPayment(
                amount="25", method=Method.CASH, provider="cash", subscriber_id=created["id"]
            ),
            actor="op",
        )
    async with runtime.sessionmaker() as session:
        [job] = await payment_jobs(session, recorded)
    assert job.event == Event.RECONNECTED and job.channel == Channel.SMS
    assert await deliver(runtime.sessionmaker, runtime.vault, job) == "sent"
    request = sms_endpoint.received[-1]
    sent = json.loads(request["body"])
    assert sent["recipient"] == "254712333444" and sent["from"] == "MYISP"
    assert sent["text"].startswith('Hi Cy: "25.00" paid, until ')
    assert request["headers"]["authorization"] == "Bearer sms-secret-key"

    await _settings(client, owner, sms_provider="africastalking", sms_username="sandbox")
    receipt = MessageJob(
        owner.tenant_id, created["id"], Event.PAYMENT_RECEIVED, "pay-0", Channel.SMS
    )
    assert await deliver(runtime.sessionmaker, runtime.vault, receipt) == "sent"
    request = sms_endpoint.received[-1]
    assert request["headers"]["apikey"] == "sms-secret-key"
    assert request["form"]["username"] == "sandbox" and request["form"]["to"] == "+254712333444"
    assert request["form"]["from"] == "MYISP" and "Hello Cy" in request["form"]["message"]


async def test_provider_outage_is_retried_then_sent_once(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff, sms_endpoint: SmsEndpoint
) -> None:
    assert owner.tenant_id is not None
    await _settings(client, owner, sms_enabled=True, sms_url=sms_endpoint.url)
    created = await _subscriber(client, owner, phone="0722000111")
    job = MessageJob(owner.tenant_id, created["id"], Event.PAYMENT_RECEIVED, "pay-1", Channel.SMS)
    sms_endpoint.fail_next = 1
    with pytest.raises(SendFailed, match="HTTP 503"):
        await deliver(runtime.sessionmaker, runtime.vault, job)
    assert await deliver(runtime.sessionmaker, runtime.vault, job) == "sent"
    assert await deliver(runtime.sessionmaker, runtime.vault, job) == "already sent"
    async with runtime.sessionmaker() as session:
        row = (
            await session.scalars(
                select(CustomerMessage).where(CustomerMessage.subscriber_id == created["id"])
            )
        ).one()
    assert row.status == "sent" and row.attempts == 2


async def test_settings_keep_secrets_encrypted_and_hidden(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff, factory: TenantFactory
) -> None:
    shown = await _settings(
        client, owner, smtp_password="smtp-Pass-9", sms_api_key="key-123", reminder_days=[1, 7, 3]
    )
    assert shown["smtp_password_set"] and shown["sms_api_key_set"]
    assert shown["reminder_days"] == [7, 3, 1]
    assert "smtp-Pass-9" not in json.dumps(shown) and "key-123" not in json.dumps(shown)
    async with runtime.sessionmaker() as session:
        stored = await session.get(MessageSettings, owner.tenant_id)
        assert stored is not None and stored.smtp_password_encrypted is not None
        assert "smtp-Pass-9" not in stored.smtp_password_encrypted
    bad = await client.patch(
        "/api/v1/message-settings", json={"reminder_days": [0]}, headers=owner.headers
    )
    assert bad.status_code == 422
    operator = await factory.staff(owner.tenant_id, Role.OPERATOR)
    refused = await client.get("/api/v1/message-settings", headers=operator.headers)
    assert refused.status_code == 403


async def test_a_sender_that_died_mid_send_is_taken_over_later(
    runtime: Runtime, client: httpx.AsyncClient, owner: Staff, sms_endpoint: SmsEndpoint
) -> None:
    assert owner.tenant_id is not None
    await _settings(client, owner, sms_enabled=True, sms_url=sms_endpoint.url)
    created = await _subscriber(client, owner, phone="0722000222")
    job = MessageJob(owner.tenant_id, created["id"], Event.PAYMENT_RECEIVED, "pay-7", Channel.SMS)
    async with runtime.sessionmaker() as session:
        session.add(
            CustomerMessage(
                tenant_id=owner.tenant_id,
                subscriber_id=created["id"],
                event=job.event,
                occasion=job.occasion,
                channel=job.channel,
                status="sending",
                attempts=1,
                claimed_at=datetime.now(UTC),
                created_at=datetime.now(UTC),
            )
        )
        await session.commit()
    # Still possibly sending: the retry waits rather than send a second copy.
    with pytest.raises(MessageBusy):
        await deliver(runtime.sessionmaker, runtime.vault, job)
    async with runtime.sessionmaker() as session:
        row = (
            await session.scalars(
                select(CustomerMessage).where(CustomerMessage.subscriber_id == created["id"])
            )
        ).one()
        row.claimed_at = datetime.now(UTC) - timedelta(minutes=10)
        await session.commit()
    # Its sender is long dead: the retry takes it over and sends.
    assert await deliver(runtime.sessionmaker, runtime.vault, job) == "sent"
    assert len(sms_endpoint.received) == 1
