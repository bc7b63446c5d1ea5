"""The payment pages in a real browser (headless Chromium) against a real `mikrosync serve`,
a real worker, the RouterOS simulator and the M-Pesa simulator calling the server over HTTP on
loopback: a cash payment reconnects an expired subscriber without a reload; an M-Pesa payment
for an unknown account is listed unmatched and assigned from the payments page."""

from __future__ import annotations

import os
import re

import pytest
from playwright.async_api import expect

from mikrosync.mpesa_sim import SimConfig
from mikrosync.mpesa_sim.server import running_mpesa
from tests.plugins.e2e import Site, WorkerProcess, expired_on_router
from tests.plugins.web import UI, ServerProcess

BACKENDS = os.environ.get("MIKROSYNC_BROWSER_BACKENDS", "sqlite").split(",")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("e2e_settings", BACKENDS, indirect=True, scope="module"),
]


async def test_cash_payment_reconnects_an_expired_subscriber(
    owner_ui: UI, site: Site, worker: WorkerProcess
) -> None:
    created = await expired_on_router(site, "cash-browser")
    page = owner_ui.page
    await page.goto(f"/subscribers/{created['id']}")
    await expect(page.locator("#suspended")).to_have_text("yes (expired)")
    await expect(page.locator("#balance")).to_have_text("0.00")
    await owner_ui.shot("expired")
    await page.fill("#pay-amount", site.packages["pppoe"]["price"])
    await page.fill("#pay-reference", "R-77")
    await page.get_by_role("button", name="Record payment").click()
    await expect(page.locator(".flash")).to_contain_text("Renewed 1 period(s)")
    await expect(page.locator("#wallet-card table.ledger tbody tr")).to_have_count(2)
    await expect(page.locator("#suspended")).to_have_text("no")
    await expect(page.locator("#live .sync .badge")).to_have_text("Synced")
    await owner_ui.shot("reconnected")
    assert site.rows("/ppp/secret", name="cash-browser")[0]["disabled"] == "false"

    await page.get_by_role("link", name="Payments").click()
    row = page.locator("table.payments tbody tr").filter(has_text="R-77")
    await expect(row).to_contain_text("cash-browser")
    await expect(row).to_contain_text("applied")


async def test_unmatched_mpesa_payment_assigned_from_the_list(
    owner_ui: UI, site: Site, worker: WorkerProcess, server: ServerProcess
) -> None:
    created = await expired_on_router(site, "late-payer")
    config = SimConfig()
    async with running_mpesa(config) as daraja:
        saved = await site.call(
            "PUT",
            "/mpesa/account",
            json={
                "shortcode": config.shortcode,
                "api_url": daraja.url,
                "callback_base_url": server.url,
                "consumer_key": config.consumer_key,
                "consumer_secret": config.consumer_secret,
                "passkey": config.passkey,
            },
        )
        urls = saved["callback_urls"] or {}
        if not urls:  # set up by an earlier test of this module: a new URL for this one
            urls = (await site.call("POST", "/mpesa/account/rotate-callback"))["callback_urls"]
        body = daraja.sim.c2b(
            amount=site.packages["pppoe"]["price"],
            account="LATE PAYER?",
            msisdn="254711000999",
            url=urls["confirmation"],
        )
        await daraja.sim.idle()
        assert daraja.sim.deliveries[-1].status == 200, daraja.sim.deliveries[-1]

    page = owner_ui.page
    await page.goto("/payments")
    await page.select_option("#f-matched", "false")
    # The filter submits itself on change: wait for that page, or the form filled below is
    # replaced by it (and the Assign click lost) when it lands.
    await expect(page).to_have_url(re.compile(r"matched=false"))
    row = page.locator(f"#payment-{body['TransID']}, table.payments tbody tr").filter(
        has_text=body["TransID"]
    )
    await expect(row).to_contain_text("unmatched")
    await owner_ui.shot("unmatched")
    await row.locator("input[name=subscriber]").fill("late-payer")
    await row.get_by_role("button", name="Assign").click()
    await expect(page.locator(".flash")).to_contain_text("applied to late-payer")
    await page.goto(f"/subscribers/{created['id']}")
    await expect(page.locator("#suspended")).to_have_text("no")
    await expect(page.locator("#live .sync .badge")).to_have_text("Synced")
    await owner_ui.shot("assigned")
    assert site.rows("/ppp/secret", name="late-payer")[0]["disabled"] == "false"
