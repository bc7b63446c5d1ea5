"""Settings > Payments and Customer messages in a real browser (headless Chromium) against a
real `mikrosync serve` and the local M-Pesa simulator (issue 15): an admin sets up the Daraja
account, registers the callback URLs with Daraja from the console, a paybill payment reaches
the URL the page showed, creates a webhook whose secret is shown once, and edits a message
template; afterwards no secret is in any page's HTML. An operator has no Settings link and
is refused the page."""

from __future__ import annotations

import os
import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from mikrosync.mpesa_sim import SimConfig
from mikrosync.mpesa_sim.server import running_mpesa
from tests.helpers import unique
from tests.plugins.core import Staff
from tests.plugins.web import UI, ServerProcess, _tab

BACKENDS = os.environ.get("MIKROSYNC_BROWSER_BACKENDS", "sqlite").split(",")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("e2e_settings", BACKENDS, indirect=True, scope="module"),
]
STAFF_PASSWORD = "Staff-pass-1"


async def _staff(server: ServerProcess, owner: Staff, role: str) -> str:
    email = f"{unique(role)}@isp.test"
    async with httpx.AsyncClient(base_url=server.url) as http:
        created = await http.post(
            "/api/v1/users",
            json={"email": email, "password": STAFF_PASSWORD, "role": role},
            headers=owner.headers,
        )
    assert created.status_code == 201, created.text
    return email


async def _secrets_absent(ui: UI, secrets: list[str]) -> None:
    for path in ("/settings/payments", "/settings/messages", "/payments", "/"):
        await ui.page.goto(path)
        html = await ui.page.content()
        for secret in secrets:
            assert secret not in html, (path, secret)


async def test_admin_configures_mpesa_and_a_webhook_and_secrets_stay_hidden(
    ui: UI, browser: Browser, server: ServerProcess, browser_owner: Staff
) -> None:
    admin = await _staff(server, browser_owner, "admin")
    operator = await _staff(server, browser_owner, "operator")
    config = SimConfig()
    page = ui.page
    await ui.login(admin, STAFF_PASSWORD)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    await expect(page).to_have_url(f"{server.url}/settings/payments")
    await expect(page.locator("#mpesa-state")).to_contain_text("Not set up")

    async with running_mpesa(config) as daraja:
        await page.fill("#f-shortcode", config.shortcode)
        await page.fill("#f-api_url", daraja.url)
        await page.fill("#f-callback_base_url", server.url)
        await page.fill("#f-consumer_key", config.consumer_key)
        await page.fill("#f-consumer_secret", config.consumer_secret)
        await page.fill("#f-passkey", config.passkey)
        await page.get_by_role("button", name="Set up M-Pesa").click()
        confirmation = page.locator("#url-confirmation")
        await expect(confirmation).to_have_value(
            re.compile(re.escape(f"{server.url}/api/v1/callbacks/daraja/") + r"[\w-]{40,}/")
        )
        shown_url = await confirmation.input_value()
        token = shown_url.split("/")[-2]
        await ui.shot("callback-urls")

        await page.goto("/settings/payments")
        await expect(page.locator("#mpesa-passkey")).to_have_text("set")
        await expect(page.locator("#callback-urls")).to_have_count(0)
        await page.get_by_role("button", name="Register with Daraja").click()
        await expect(page.locator(".flash")).to_contain_text("registered with Daraja")
        assert daraja.sim.registered[config.shortcode]["confirmation"] == shown_url

        # Daraja calls the registered URL: an unknown account's payment is recorded unmatched.
        body: dict[str, Any] = daraja.sim.c2b(amount="25", account="NOBODY", msisdn="254711000333")
        await daraja.sim.idle()
        assert daraja.sim.deliveries[-1].status == 200, daraja.sim.deliveries[-1]

    await page.goto("/payments?matched=false")
    await expect(page.locator("table.payments tbody")).to_contain_text(body["TransID"])

    await page.goto("/settings/payments")
    await page.fill("#f-provider", "equity-bank")
    await page.get_by_role("button", name="Create webhook").click()
    secret_box = page.locator("#hook-secret")
    await expect(secret_box).to_be_visible()
    secret = await secret_box.input_value()
    assert len(secret) >= 40
    await ui.shot("webhook-secret")
    await page.goto("/settings/payments")
    await expect(page.locator("#webhooks tbody tr")).to_contain_text("equity-bank")

    await page.get_by_role("link", name="Customer messages").click()
    await page.fill("#f-template_expiring", "Hi {name}: {price} {currency} by {expiry}.")
    await page.fill("#f-smtp_password", "smtp-pass-" + "Z" * 12)
    await page.get_by_role("button", name="Save message settings").click()
    await expect(page.locator(".flash")).to_contain_text("Message settings saved")
    await expect(page.locator("#f-template_expiring")).to_have_value(
        "Hi {name}: {price} {currency} by {expiry}."
    )
    await expect(page.locator("#smtp-password-state")).to_contain_text("set")
    await ui.shot("messages")

    secrets = [
        secret,
        token,
        config.consumer_key,
        config.consumer_secret,
        config.passkey,
        "smtp-pass-" + "Z" * 12,
    ]
    await _secrets_absent(ui, secrets)

    # An operator: no Settings link, and the pages are refused.
    async with _tab(browser, server, "operator-settings") as tab:
        await tab.login(operator, STAFF_PASSWORD)
        nav = tab.page.get_by_role("navigation", name="Main")
        await expect(nav.get_by_role("link", name="Payments")).to_be_visible()
        await expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
        for path in ("/settings/payments", "/settings/messages"):
            answer = await tab.page.goto(path)
            assert answer is not None and answer.status == 403
            html = await tab.page.content()
            assert all(s not in html for s in secrets)
