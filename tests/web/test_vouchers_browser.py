"""Vouchers in a real browser (headless Chromium) against real `serve` and `worker` processes
and a simulated router over TCP: a batch created from the console reaches the router in full,
with its progress shown live, and survives the router going down halfway; live sessions show
on the router page and can be ended."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from playwright.async_api import expect

from tests.plugins.e2e import Site, eventually
from tests.plugins.web import UI

BACKENDS = os.environ.get("MIKROSYNC_BROWSER_BACKENDS", "sqlite").split(",")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("e2e_settings", BACKENDS, indirect=True, scope="module"),
]
USERS = "/ip/hotspot/user"


async def _create_from_console(ui: UI, site: Site, count: int) -> int:
    page = ui.page
    await page.goto("/vouchers/new")
    await page.select_option("#f-router_id", str(site.router["id"]))
    await page.select_option("#f-package_id", str(site.packages["hotspot"]["id"]))
    await page.fill("#f-count", str(count))
    await page.fill("#f-price", "0.50")
    await page.fill("#f-comment", "Cafe wifi")
    await ui.shot("form")
    await page.click("form[action='/vouchers/new'] button[type=submit]")
    await expect(page.locator("h1")).to_contain_text("Voucher batch #")
    batch_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    await page.evaluate("window.__noReload = true")
    return batch_id


def _batch_users(site: Site, batch_id: int) -> list[dict[str, str]]:
    marker = f":v={batch_id}-"
    return [row for row in site.sim.rows(USERS) if marker in row.get("comment", "")]


async def _batch(site: Site, batch_id: int) -> dict[str, Any]:
    result: dict[str, Any] = await site.call("GET", f"/voucher-batches/{batch_id}")
    return result


async def test_batch_created_in_the_console_reaches_the_router(owner_ui: UI, site: Site) -> None:
    batch_id = await _create_from_console(owner_ui, site, 120)
    page = owner_ui.page
    await expect(page.locator("#progress-text")).to_have_text("120 of 120 on the router")
    await expect(page.locator("#batch-status")).to_have_text("synced")
    assert await page.evaluate("window.__noReload === true"), "the page was reloaded"
    await owner_ui.shot("synced")
    users = _batch_users(site, batch_id)
    assert len(users) == 120 and len({u["name"] for u in users}) == 120
    await page.goto("/vouchers")
    await expect(page.locator(f"#batch-{batch_id} .progress")).to_have_text(
        "120 of 120 on the router"
    )
    pdf = await page.request.get(f"/vouchers/batches/{batch_id}/print.pdf")
    assert pdf.ok and (await pdf.body()).startswith(b"%PDF-")


async def test_batch_survives_the_router_going_down_halfway(owner_ui: UI, site: Site) -> None:
    # The router dies when the 401st add arrives: halfway, whatever the machine's speed (a
    # fixed latency let a fast run finish all 1,500 before the test stopped it).
    downed: list[asyncio.Task[None]] = []
    site.sim.on_command(
        lambda: downed.append(asyncio.get_running_loop().create_task(site.sim.go_down())),
        after=400,
        path="/ip/hotspot/user/add",
    )
    batch_id = await _create_from_console(owner_ui, site, 1500)

    async def went_down() -> bool:
        return bool(downed) and downed[0].done()

    await eventually(went_down, timeout=60, what="the router to go down halfway")
    page = owner_ui.page
    # The error shows once the job's in-flight commands fail and the page polls: allow a
    # loaded machine the same minute as the completion below.
    await expect(page.locator("#batch-error")).to_contain_text("waiting for router", timeout=60_000)
    await owner_ui.shot("waiting")
    partial = len(_batch_users(site, batch_id))
    assert 200 <= partial < 1500
    await site.sim.come_up()
    await expect(page.locator("#progress-text")).to_have_text(
        "1500 of 1500 on the router", timeout=60_000
    )
    await expect(page.locator("#batch-status")).to_have_text("synced")
    await owner_ui.shot("completed")
    users = _batch_users(site, batch_id)
    assert len(users) == 1500 and len({u["name"] for u in users}) == 1500
    assert len({u["comment"] for u in users}) == 1500


async def test_sessions_show_live_and_can_be_ended(owner_ui: UI, site: Site) -> None:
    """The router page lists who is online, refreshed without a reload; Disconnect ends one
    session on the router and the subscriber's timeline says who did it."""
    subscriber = await site.subscriber("hotspot")
    await site.synced(subscriber["id"])
    page = owner_ui.page
    await page.goto(f"/routers/{site.router['id']}")
    await page.evaluate("window.__noReload = true")
    await expect(page.locator("#online-count")).to_have_text("0")
    assert site.sim.dial_in("hotspot", subscriber["username"])
    row = page.locator(f"tr.session[data-name='{subscriber['username']}']")
    await expect(row).to_be_visible()  # appears by the 5 s poll
    assert await page.evaluate("window.__noReload === true"), "the page was reloaded"
    await expect(page.locator("#router-resource")).to_contain_text("CHR")
    await owner_ui.shot("online")
    await row.locator("button", has_text="Disconnect").click()
    await expect(page.locator(".flash")).to_contain_text("ended")
    assert site.sim.rows("/ip/hotspot/active") == []
    await page.goto(f"/subscribers/{subscriber['id']}")
    await expect(page.locator("table.timeline")).to_contain_text("disconnectSession")
    await owner_ui.shot("timeline")
