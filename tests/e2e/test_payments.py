"""Done-when of the money path, end to end: an expired subscriber pays through the simulated
M-Pesa (C2B with duplicated and late callbacks while its router is offline; STK push) or in
cash, and is back online on the router without anyone touching the console, exactly once.
The API runs in-process, the sync runs in real worker subprocesses, the router is the RouterOS
simulator over TCP and Daraja is the local M-Pesa simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mikrosync.app import create_app
from mikrosync.mpesa_sim import SimConfig, StkOutcome
from mikrosync.mpesa_sim.server import RunningSim, running_mpesa
from mikrosync.settings import Settings
from tests.plugins.e2e import Site, WorkerProcess, eventually, expired_on_router
from tests.plugins.mail import SmtpServer


@pytest.fixture(scope="module")
async def callback_transport(e2e_settings: Settings) -> AsyncIterator[httpx.ASGITransport]:
    app = create_app(e2e_settings)
    yield httpx.ASGITransport(app=app)
    await app.state.runtime.close()


@pytest.fixture
async def daraja(site: Site, callback_transport: httpx.ASGITransport) -> AsyncIterator[RunningSim]:
    config = SimConfig(stk_delay_s=0.3)
    async with running_mpesa(config, transport=callback_transport) as running:
        await site.call(
            "PUT",
            "/mpesa/account",
            json={
                "shortcode": config.shortcode,
                "api_url": running.url,
                "callback_base_url": "http://callbacks.test",
                "consumer_key": config.consumer_key,
                "consumer_secret": config.consumer_secret,
                "passkey": config.passkey,
            },
        )
        response = await site.client.post(
            "/api/v1/mpesa/account/register-urls", headers=site.owner.headers
        )
        assert response.status_code == 204, response.text
        yield running


async def _back_online(site: Site, subscriber_id: int, username: str) -> dict[str, Any]:
    row = await site.synced(subscriber_id, timeout=40)
    assert row["is_suspended"] is False
    assert site.rows("/ppp/secret", name=username)[0]["disabled"] == "false"
    return row


async def _payments(site: Site, subscriber_id: int) -> list[dict[str, Any]]:
    page = await site.call("GET", "/payments", params={"subscriber_id": subscriber_id})
    items: list[dict[str, Any]] = page["items"]
    return items


async def _ledger(site: Site, subscriber_id: int) -> dict[str, Any]:
    wallet: dict[str, Any] = await site.call("GET", f"/subscribers/{subscriber_id}/wallet")
    return wallet


async def test_c2b_payment_while_router_offline_reconnects_exactly_once(
    site: Site, worker: WorkerProcess, daraja: RunningSim
) -> None:
    created = await expired_on_router(site, "paybill-payer")
    price = site.packages["pppoe"]["price"]
    await site.sim.go_down()

    sim = daraja.sim
    body = sim.c2b(amount=price, account="paybill-payer", msisdn="254712000001", copies=6)
    # Daraja retries when it misses an answer: the same TransID again, later.
    sim.c2b(
        amount=price,
        account="paybill-payer",
        msisdn="254712000001",
        trans_id=body["TransID"],
        copies=2,
        delay_s=1.5,
    )
    await sim.idle()
    assert all(d.status == 200 for d in sim.deliveries if body["TransID"] in d.body)

    # Credited and renewed at once; the router change waits for the router.
    row = await site.status(created["id"])
    assert row["is_suspended"] is False and row["sync_status"] in ("pending", "syncing")
    assert site.rows("/ppp/secret", name="paybill-payer")[0]["disabled"] == "true"

    await site.sim.come_up()
    await _back_online(site, created["id"], "paybill-payer")
    payments = await _payments(site, created["id"])
    assert [p["provider_reference"] for p in payments] == [body["TransID"]]
    wallet = await _ledger(site, created["id"])
    assert [e["kind"] for e in wallet["entries"]] == ["debit", "credit"]
    assert wallet["balance"] == "0.00"


async def test_stk_push_payment_reconnects(
    site: Site, worker: WorkerProcess, daraja: RunningSim
) -> None:
    created = await expired_on_router(site, "stk-payer", phone="0712000002")
    daraja.sim.stk_outcomes.append(StkOutcome(copies=3))
    price = site.packages["pppoe"]["price"]
    await site.call(
        "POST",
        "/payments/stk-push",
        json={"subscriber_id": created["id"], "amount": str(int(float(price)))},
    )
    await daraja.sim.idle()
    await _back_online(site, created["id"], "stk-payer")
    assert len(await _payments(site, created["id"])) == 1


async def test_cash_payment_from_the_office_reconnects(site: Site, worker: WorkerProcess) -> None:
    created = await expired_on_router(site, "cash-payer")
    price = site.packages["pppoe"]["price"]
    for _ in range(2):  # a double-clicked form: the receipt number makes it one payment
        await site.call(
            "POST",
            "/payments",
            json={"subscriber_id": created["id"], "amount": price, "reference": "R-0001"},
        )
    await _back_online(site, created["id"], "cash-payer")
    assert len(await _payments(site, created["id"])) == 1


async def test_reminder_and_receipt_arrive_once_through_the_worker(
    site: Site,
    worker: WorkerProcess,
    smtp_server: SmtpServer,
) -> None:
    await site.call(
        "PATCH",
        "/message-settings",
        json={
            "email_enabled": True,
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_starttls": False,
            "smtp_from": "billing@isp.test",
            "reminder_days": [3],
        },
    )
    soon = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    created = await site.subscriber(username="reminded", email="dee@home.test", expires_at=soon)

    def mails(subject: str) -> list[Any]:
        return [
            m
            for m in smtp_server.mailbox.messages
            if m["To"] == "dee@home.test" and m["Subject"] == subject
        ]

    async def reminded() -> bool:
        return len(mails("Your internet expires soon")) == 1

    await eventually(reminded, timeout=30, what="the expiry reminder")
    price = site.packages["pppoe"]["price"]
    await site.call("POST", "/payments", json={"subscriber_id": created["id"], "amount": price})

    async def receipt() -> bool:
        return len(mails("You are back online")) == 1

    await eventually(receipt, timeout=30, what="the payment's receipt")
    # Scans run every second: several more have passed, and still one reminder. The renewal
    # moved the expiry, so the next reminder is for the new instant, weeks away.
    await site.synced(created["id"])
    await asyncio.sleep(3)
    assert len(mails("Your internet expires soon")) == 1
    assert len(mails("You are back online")) == 1
